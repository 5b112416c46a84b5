"""The WSGI middleware, driven through the WSGI callable with crafted environs."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import validator

import pytest

from hookseal import ConfigurationError, InMemoryReplayGuard, Secret, SecretSet, Verifier
from hookseal.testing import forged_request, signed_request
from hookseal.wsgi import (
    ENVIRON_KEY,
    READ_SIZE,
    WebhookVerificationMiddleware,
    environ_headers,
)

SECRET = "s3cr3t-for-wsgi-tests"

Environ = dict[str, Any]


def echo_app(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answers with what it received: the body's SHA-256 and length, and the match."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    verified = environ.get(ENVIRON_KEY)
    payload = json.dumps(
        {
            "sha256": hashlib.sha256(body).hexdigest(),
            "length": len(body),
            "secret_id": verified.secret_id if verified else None,
            "transfer_encoding": environ.get("HTTP_TRANSFER_ENCODING"),
        }
    ).encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
    )
    return [payload]


class ExplodingInput(io.RawIOBase):
    """A wsgi.input that fails the test if anything reads it."""

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read")

    def readline(self, size: int | None = -1) -> bytes:
        raise AssertionError("the body was read")


class RecordingInput:
    """A wsgi.input that records each read size and holds bytes past the body."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)
        self.sizes: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.sizes.append(size)
        return self._stream.read(size)

    def tell(self) -> int:
        return self._stream.tell()


class BrokenInput:
    """A wsgi.input whose connection resets after some bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if self._done:
            raise ConnectionResetError("peer reset")
        self._done = True
        return self._data[:size]


def make_environ(
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    path: str = "/webhooks/billing",
    method: str = "POST",
    content_length: str | None = "auto",
    stream: Any = None,
    **extra: Any,
) -> Environ:
    environ: Environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(body) if stream is None else stream,
    }
    if content_length == "auto":
        environ["CONTENT_LENGTH"] = str(len(body))
    elif content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    environ.update(extra)
    setup_testing_defaults(environ)
    return environ


class Response:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = int(status.split()[0])
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def call(app: Any, environ: Environ) -> Response:
    captured: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured.append((status, headers))
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return Response(captured[0][0], captured[0][1], body)


@pytest.fixture
def app() -> WebhookVerificationMiddleware:
    return WebhookVerificationMiddleware(echo_app, secrets=SECRET, paths=["/webhooks"])


def test_signed_request_reaches_the_app_with_the_same_body(
    app: WebhookVerificationMiddleware,
) -> None:
    body, headers = signed_request({"event": "paid", "amount": 42}, SECRET)
    response = call(validator(app), make_environ(body, headers))
    assert response.status == 200
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert response.json()["length"] == len(body)
    assert response.json()["secret_id"] == Secret(SECRET).id


def test_environ_holds_the_result_and_a_fresh_input(app: WebhookVerificationMiddleware) -> None:
    body, headers = signed_request({"n": 1}, SECRET)
    environ = make_environ(body, headers)
    call(app, environ)
    assert environ[ENVIRON_KEY].scheme == "signature"
    assert isinstance(environ["wsgi.input"], io.BytesIO)
    assert environ["wsgi.input"].getvalue() == body
    assert environ["CONTENT_LENGTH"] == str(len(body))


def test_forged_request_is_refused_with_problem_json(app: WebhookVerificationMiddleware) -> None:
    body, headers = forged_request({"event": "paid"})
    response = call(validator(app), make_environ(body, headers))
    assert response.status == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "www-authenticate" in response.headers
    problem = response.json()
    assert problem["code"] == "signature_mismatch"
    assert problem["status"] == 401
    assert SECRET not in response.body.decode()


def test_tampered_body_is_refused(app: WebhookVerificationMiddleware) -> None:
    body, headers = signed_request({"event": "paid"}, SECRET)
    response = call(app, make_environ(body.replace(b"paid", b"void"), headers))
    assert response.status == 401


def test_missing_signature_is_answered_before_reading(app: WebhookVerificationMiddleware) -> None:
    environ = make_environ(
        b"", {"Content-Type": "application/json"}, content_length="10", stream=ExplodingInput()
    )
    response = call(app, environ)
    assert response.status == 401
    assert response.json()["code"] == "missing_signature"


def test_reads_exactly_content_length_in_bounded_reads(app: WebhookVerificationMiddleware) -> None:
    body, headers = signed_request(b"x" * (3 * READ_SIZE + 123), SECRET)
    stream = RecordingInput(body + b"NEXT REQUEST ON THE SAME CONNECTION")
    response = call(app, make_environ(body, headers, stream=stream))
    assert response.status == 200
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert stream.tell() == len(body)  # not one byte past the declared length
    assert all(0 < size <= READ_SIZE for size in stream.sizes)


def test_input_terminated_is_read_to_the_end(app: WebhookVerificationMiddleware) -> None:
    body, headers = signed_request(b"y" * (2 * READ_SIZE + 7), SECRET)
    environ = make_environ(body, {**headers, "Transfer-Encoding": "chunked"}, content_length=None)
    environ["wsgi.input_terminated"] = True
    response = call(app, environ)
    assert response.status == 200
    assert response.json()["length"] == len(body)
    assert response.json()["transfer_encoding"] is None  # dropped: the body now has a length


def test_input_terminated_over_the_limit_is_413() -> None:
    app = WebhookVerificationMiddleware(echo_app, secrets=SECRET, max_body_size=1000)
    body, headers = signed_request(b"z" * 5000, SECRET)
    environ = make_environ(body, headers, content_length=None)
    environ["wsgi.input_terminated"] = True
    response = call(app, environ)
    assert response.status == 413
    assert response.json()["code"] == "payload_too_large"


def test_chunked_without_terminated_input_is_411(app: WebhookVerificationMiddleware) -> None:
    body, headers = signed_request({"a": 1}, SECRET)
    environ = make_environ(
        body,
        {**headers, "Transfer-Encoding": "chunked"},
        content_length=None,
        stream=ExplodingInput(),
    )
    response = call(app, environ)
    assert response.status == 411
    assert response.json()["code"] == "length_required"


def test_chunked_with_a_length_but_no_terminated_input_is_411(
    app: WebhookVerificationMiddleware,
) -> None:
    body, headers = signed_request({"a": 1}, SECRET)
    environ = make_environ(
        body, {**headers, "Transfer-Encoding": "chunked"}, stream=ExplodingInput()
    )
    assert call(app, environ).status == 411


def test_oversized_content_length_is_413_without_reading() -> None:
    app = WebhookVerificationMiddleware(echo_app, secrets=SECRET, max_body_size=1024)
    body, headers = signed_request(b"a" * 10, SECRET)
    environ = make_environ(body, headers, content_length="1025", stream=ExplodingInput())
    response = call(validator(app), environ)
    assert response.status == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_body_at_the_limit_passes() -> None:
    app = WebhookVerificationMiddleware(echo_app, secrets=SECRET, max_body_size=1024)
    body, headers = signed_request(b"a" * 1024, SECRET)
    assert call(app, make_environ(body, headers)).status == 200


@pytest.mark.parametrize("value", ["abc", "-1", "1e3", "12, 12", "0x10", "9" * 30, "\uff11\uff12"])
def test_malformed_content_length_is_400_without_reading(
    app: WebhookVerificationMiddleware, value: str
) -> None:
    body, headers = signed_request({"a": 1}, SECRET)
    environ = make_environ(body, headers, content_length=value, stream=ExplodingInput())
    response = call(app, environ)
    assert response.status == 400
    assert response.json()["code"] == "body_invalid"


def test_short_body_is_incomplete(app: WebhookVerificationMiddleware) -> None:
    body, headers = signed_request({"event": "paid"}, SECRET)
    environ = make_environ(body[:-5], headers, content_length=str(len(body)))
    response = call(app, environ)
    assert response.status == 400
    assert response.json()["code"] == "incomplete_body"


def test_reset_connection_is_incomplete(app: WebhookVerificationMiddleware) -> None:
    body, headers = signed_request(b"q" * (READ_SIZE * 2), SECRET)
    environ = make_environ(body, headers, stream=BrokenInput(body))
    response = call(app, environ)
    assert response.status == 400
    assert response.json()["code"] == "incomplete_body"


def test_empty_body_without_content_length(app: WebhookVerificationMiddleware) -> None:
    body, headers = signed_request(b"", SECRET)
    response = call(app, make_environ(body, headers, content_length=None))
    assert response.status == 200
    assert response.json()["length"] == 0


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks",
        "//webhooks",
        "/webhooks/",
        "/Webhooks",
        "/WEBHOOKS/billing",
        "/%77ebhooks",
        "/%2577ebhooks",
        "/x/../webhooks",
        "/./webhooks//billing",
        "\\webhooks",
    ],
)
def test_path_spellings_cannot_bypass(app: WebhookVerificationMiddleware, path: str) -> None:
    body, _ = forged_request({"a": 1})
    response = call(app, make_environ(body, {}, path=path))
    assert response.status == 401


@pytest.mark.parametrize("path", ["/other", "/webhooksx", "/", "/api/webhooks"])
def test_other_paths_pass_untouched(app: WebhookVerificationMiddleware, path: str) -> None:
    environ = make_environ(b"", {}, path=path, content_length="10", stream=ExplodingInput())
    captured: list[Environ] = []

    def inner(environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        captured.append(environ)
        start_response("204 No Content", [])
        return []

    middleware = WebhookVerificationMiddleware(inner, secrets=SECRET, paths=["/webhooks"])
    assert call(middleware, environ).status == 204
    assert isinstance(captured[0]["wsgi.input"], ExplodingInput)
    assert ENVIRON_KEY not in captured[0]


def test_script_name_mount_is_guarded() -> None:
    app = WebhookVerificationMiddleware(echo_app, secrets=SECRET, paths=["/webhooks"])
    body, _ = forged_request({"a": 1})
    environ = make_environ(body, {}, path="/github", SCRIPT_NAME="/webhooks")
    assert call(app, environ).status == 401


def test_path_inside_a_mount_is_guarded() -> None:
    app = WebhookVerificationMiddleware(echo_app, secrets=SECRET, paths=["/github"])
    body, _ = forged_request({"a": 1})
    environ = make_environ(body, {}, path="/github", SCRIPT_NAME="/app")
    assert call(app, environ).status == 401


def test_non_ascii_path_is_matched_as_utf8() -> None:
    app = WebhookVerificationMiddleware(echo_app, secrets=SECRET, paths=["/wébhooks"])
    wsgi_path = "/wébhooks/x".encode().decode("latin-1")  # how a WSGI server hands it over
    body, _ = forged_request({"a": 1})
    assert call(app, make_environ(body, {}, path=wsgi_path)).status == 401


def test_every_path_is_guarded_by_default() -> None:
    app = WebhookVerificationMiddleware(echo_app, secrets=SECRET)
    assert call(app, make_environ(b"{}", {}, path="/anything")).status == 401


def test_ready_verifier_with_another_scheme() -> None:
    verifier = Verifier(SECRET, scheme="github")
    app = WebhookVerificationMiddleware(echo_app, verifier=verifier, paths="/webhooks")
    body, headers = signed_request({"zen": "ok"}, SECRET, scheme="github")
    response = call(app, make_environ(body, headers))
    assert response.status == 200
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_replayed_delivery_is_409() -> None:
    app = WebhookVerificationMiddleware(
        echo_app, secrets=SECRET, replay_guard=InMemoryReplayGuard()
    )
    body, headers = signed_request({"once": True}, SECRET)
    assert call(app, make_environ(body, headers)).status == 200
    response = call(app, make_environ(body, headers))
    assert response.status == 409
    assert response.json()["code"] == "replayed"


def test_no_active_secret_is_503_with_retry_after() -> None:
    expired = SecretSet([Secret(SECRET, id="old", expires_at=1_000_000)])
    app = WebhookVerificationMiddleware(echo_app, secrets=expired)
    body, headers = signed_request({"a": 1}, SECRET)
    response = call(validator(app), make_environ(body, headers))
    assert response.status == 503
    assert response.headers["retry-after"].isdigit()


def test_non_ascii_header_is_400(app: WebhookVerificationMiddleware) -> None:
    body, headers = signed_request({"a": 1}, SECRET)
    headers = {**headers, "Signature": "v1=caf\xe9"}
    response = call(app, make_environ(body, headers))
    assert response.status == 400


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"secrets": SECRET, "verifier": Verifier(SECRET)},
        {"verifier": Verifier(SECRET), "scheme": "github"},
        {"secrets": SECRET, "max_body_size": 0},
        {"secrets": SECRET, "max_body_size": True},
        {"secrets": SECRET, "paths": []},
        {"secrets": SECRET, "paths": ["webhooks"]},
        {"secrets": SECRET, "scheme": "nope"},
        {"verifier": "not a verifier"},
    ],
)
def test_bad_configuration_is_refused_at_start(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        WebhookVerificationMiddleware(echo_app, **kwargs)


def test_repr_hides_the_secret(app: WebhookVerificationMiddleware) -> None:
    assert SECRET not in repr(app)


def test_environ_headers_view() -> None:
    environ = make_environ(b"{}", {"Content-Type": "application/json", "X-Hub-Signature-256": "a"})
    headers = environ_headers(environ)
    assert headers.get("x-hub-signature-256") == "a"
    assert headers["X-Hub-Signature-256"] == "a"
    assert headers.get("content-type") == "application/json"
    assert headers.get("content-length") == "2"
    assert headers.get("signature") is None
    with pytest.raises(KeyError):
        headers["signature"]
    assert {"x-hub-signature-256", "content-type", "content-length"} <= set(headers)
    assert len(headers) == len(list(headers))
