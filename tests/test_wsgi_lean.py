"""``verify_environ``'s one-pass path for the default scheme (``_verify_lean``, used by the WSGI
middleware and the Flask extension): it decides the usual requests without the streaming
verifier, and every request gets exactly the answer the careful path gives."""

from __future__ import annotations

import hmac
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hookseal import Secret, Verifier, _accel
from hookseal.wsgi import WebhookVerificationMiddleware
from test_wsgi import ExplodingInput, call, echo_app, make_environ

SECRET = "s3cr3t-for-wsgi-tests"
OTHER = "another-wsgi-secret"
BODY = b'{"event":"paid","amount":1200}'
GOOD = hmac.digest(SECRET.encode(), BODY, "sha256").hex()


@pytest.fixture(params=["c", "python"])
def accelerator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Middlewares made in a test get the C check (when built) or the pure-Python one."""
    if request.param == "python":
        monkeypatch.setattr(_accel, "_speedups", None)
        monkeypatch.setattr("hookseal._material.hmac_key", lambda key: None)
    elif not _accel.speedups_enabled():
        pytest.skip("the C accelerator is not in use")
    return str(request.param)


def middleware(*, lean: bool, secrets: list[str] | None = None) -> WebhookVerificationMiddleware:
    app = WebhookVerificationMiddleware(
        echo_app, secrets=secrets or [OTHER, SECRET], paths=["/webhooks"], max_body_size=500
    )
    if not lean:
        app.verifier._lean = None
    return app


def outcome(app: WebhookVerificationMiddleware, make: Any) -> tuple[int, bytes]:
    response = call(app, make())
    return response.status, response.body


def test_usual_requests_skip_the_streaming_verifier(
    accelerator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = middleware(lean=True)
    assert app.verifier._lean is not None

    def streaming(*args: object, **kwargs: object) -> None:
        raise AssertionError("the streaming verifier ran")

    monkeypatch.setattr(Verifier, "begin", streaming)
    for value in [GOOD, "sha256=" + GOOD.upper(), " " + GOOD + "\t"]:
        response = call(app, make_environ(BODY, {"Signature": value}))
        assert response.status == 200
        assert response.json()["secret_id"] == Secret(SECRET).id
    assert call(app, make_environ(BODY + b"!", {"Signature": GOOD})).status == 401
    terminated = make_environ(BODY, {"Signature": GOOD}, content_length=None)
    terminated["wsgi.input_terminated"] = True
    assert call(app, terminated).status == 200


def test_a_header_error_is_answered_before_reading(accelerator: str) -> None:
    app = middleware(lean=True)
    for value in ["", "g" * 64, GOOD + "," + "zz"]:
        environ = make_environ(BODY, {"Signature": value}, stream=ExplodingInput())
        assert call(app, environ).status in (400, 401)


CASES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"Signature": GOOD}, {}),
    ({"Signature": GOOD}, {"body": BODY + b"x"}),
    ({"Signature": GOOD + "," + GOOD}, {}),  # several signatures: the careful path
    ({}, {}),
    ({"Signature": ""}, {}),
    ({"Signature": "é" * 64}, {}),
    ({"Signature": GOOD}, {"content_length": "31"}),
    ({"Signature": GOOD}, {"content_length": "x"}),
    ({"Signature": GOOD}, {"content_length": "999"}),
    ({"Signature": GOOD}, {"content_length": None}),
    ({"Signature": GOOD}, {"content_length": None, "wsgi.input_terminated": True}),
    ({"Signature": GOOD, "Transfer-Encoding": "chunked"}, {"wsgi.input_terminated": True}),
    ({"Signature": GOOD, "Transfer-Encoding": "chunked"}, {}),
    (
        {"Signature": GOOD},
        {"body": BODY * 20, "content_length": None, "wsgi.input_terminated": True},
    ),
]


@pytest.mark.parametrize(("headers", "options"), CASES)
def test_every_case_is_answered_as_the_careful_path_answers(
    accelerator: str, headers: dict[str, Any], options: dict[str, Any]
) -> None:
    options = dict(options)
    body = options.pop("body", BODY)

    def make() -> dict[str, Any]:
        return make_environ(body, headers, **options)

    assert outcome(middleware(lean=True), make) == outcome(middleware(lean=False), make)


def test_a_signature_that_is_not_text_is_the_careful_paths(accelerator: str) -> None:
    def make() -> dict[str, Any]:
        environ = make_environ(BODY)
        environ["HTTP_SIGNATURE"] = GOOD.encode()  # not a str: EnvironHeaders does not see it
        return environ

    assert outcome(middleware(lean=True), make) == outcome(middleware(lean=False), make)
    assert outcome(middleware(lean=True), make)[0] == 401


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    value=st.one_of(
        st.sampled_from([GOOD, GOOD.upper(), "sha256=" + GOOD, " " + GOOD]),
        st.text(st.sampled_from("0123456789abcdefABCDEF =,\t"), max_size=80),
        st.text(max_size=70),
    ),
    tampered=st.booleans(),
    reads=st.integers(1, 40),
)
def test_arbitrary_values_are_answered_alike(value: str, tampered: bool, reads: int) -> None:
    body = BODY + b"!" if tampered else BODY

    class Trickle(io.RawIOBase):
        """Hands out at most ``reads`` bytes per read."""

        def __init__(self) -> None:
            self._data = io.BytesIO(body)

        def read(self, size: int = -1) -> bytes:
            return self._data.read(min(size, reads) if size >= 0 else reads)

    def make() -> dict[str, Any]:
        return make_environ(body, {"Signature": value}, stream=Trickle())

    for secrets in ([SECRET], [OTHER, SECRET]):
        lean = outcome(middleware(lean=True, secrets=secrets), make)
        assert lean == outcome(middleware(lean=False, secrets=secrets), make)
