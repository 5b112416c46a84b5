"""The WSGI middleware releases a delivery the application failed, through Werkzeug's test
client: the provider's retry (same webhook-id, new timestamp) is accepted; a delivery that
succeeded is refused as a replay (409)."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from hookseal import InMemoryReplayGuard
from hookseal.testing import signed_request
from hookseal.wsgi import WebhookVerificationMiddleware

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"type": "invoice.paid"}'
StartResponse = Callable[..., Any]


def attempt(number: int, message_id: str = "msg_wsgi_1") -> tuple[bytes, dict[str, str]]:
    """Delivery attempt ``number`` of one event: the same id, a new timestamp each time."""
    return signed_request(
        BODY,
        WHSEC,
        scheme="standard",
        message_id=message_id,
        timestamp=int(time.time()) - 60 + number,
    )


class Flaky:
    """A WSGI app failing its first call in a chosen way, then answering 200."""

    def __init__(self, failure: str) -> None:
        self.failure = failure
        self.calls = 0

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self.calls += 1
        environ["wsgi.input"].read()
        if self.calls > 1:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"processed"]
        if self.failure == "raises":
            raise RuntimeError("the database is down")
        if self.failure == "500":
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [b"failed"]
        if self.failure == "503":
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"later"]
        if self.failure == "raises while streaming":
            return self._stream(start_response)
        if self.failure == "replaced by an error":
            start_response("200 OK", [("Content-Type", "text/plain")])
            try:
                raise RuntimeError("failed before the body")
            except RuntimeError:
                start_response(
                    "500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info()
                )
            return [b"failed"]
        raise AssertionError(self.failure)

    def _stream(self, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"part"
        raise RuntimeError("failed half-way")


FAILURES = ["raises", "500", "503", "raises while streaming"]


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_delivery_is_released_and_the_retry_accepted(failure: str) -> None:
    guard = InMemoryReplayGuard()
    app = Flaky(failure)
    client = Client(
        WebhookVerificationMiddleware(app, secrets=WHSEC, scheme="standard", replay_guard=guard)
    )
    body, headers = attempt(1)
    if failure.startswith("raises"):
        with pytest.raises(RuntimeError):
            client.post("/hooks", data=body, headers=headers, buffered=True)
    else:
        assert client.post("/hooks", data=body, headers=headers, buffered=True).status_code >= 500
    assert len(guard) == 0
    body, headers = attempt(2)
    response = client.post("/hooks", data=body, headers=headers, buffered=True)
    assert response.status_code == 200
    assert response.get_data() == b"processed"
    assert app.calls == 2


def test_a_processed_delivery_is_kept_and_its_retry_is_409() -> None:
    guard = InMemoryReplayGuard()
    app = Flaky("never")
    app.calls = 1  # answers 200 from the first call
    client = Client(
        WebhookVerificationMiddleware(app, secrets=WHSEC, scheme="standard", replay_guard=guard)
    )
    body, headers = attempt(1)
    assert client.post("/hooks", data=body, headers=headers, buffered=True).status_code == 200
    body, headers = attempt(2)
    response = client.post("/hooks", data=body, headers=headers, buffered=True)
    assert response.status_code == 409
    assert response.json is not None
    assert response.json["code"] == "replayed"
    assert app.calls == 2  # the app ran once for this event
    assert len(guard) == 1


def test_a_4xx_answer_keeps_the_key() -> None:
    """Only a failure (raise, 5xx, no answer) releases: a 4xx is the app's own decision."""
    guard = InMemoryReplayGuard()

    def refuses(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        start_response("422 Unprocessable Entity", [("Content-Type", "text/plain")])
        return [b"no"]

    client = Client(
        WebhookVerificationMiddleware(refuses, secrets=WHSEC, scheme="standard", replay_guard=guard)
    )
    body, headers = attempt(1)
    assert client.post("/hooks", data=body, headers=headers, buffered=True).status_code == 422
    assert len(guard) == 1


def test_a_status_replaced_by_an_error_before_the_body_is_released() -> None:
    """PEP 3333: an app may call start_response again with exc_info before its body starts;
    the status the server sends is the last one (Werkzeug's test client re-raises instead, so
    this one plays the server itself)."""
    guard = InMemoryReplayGuard()
    app = Flaky("replaced by an error")
    middleware = WebhookVerificationMiddleware(
        app, secrets=WHSEC, scheme="standard", replay_guard=guard
    )
    body, headers = attempt(1)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/hooks",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    result = middleware(environ, start_response)
    assert b"".join(result) == b"failed"
    assert len(guard) == 1  # decided when the server closes the response, as PEP 3333 has it
    result.close()  # type: ignore[attr-defined]
    assert statuses == ["200 OK", "500 Internal Server Error"]
    assert len(guard) == 0
