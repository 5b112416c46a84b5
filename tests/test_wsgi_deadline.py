"""The WSGI middleware's body deadline, checked between bounded reads: 408 for a body slower
than ``body_timeout``. A ManualClock drives the crafted inputs; real servers (wsgiref and
Werkzeug's) on 127.0.0.1 get a sender that drips, and answer 408 once it is past the deadline.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from werkzeug.serving import make_server as werkzeug_make_server

from hookseal.errors import ConfigurationError
from hookseal.testing import ManualClock, signed_request
from hookseal.wsgi import WebhookVerificationMiddleware

SECRET = "wsgi-deadline-secret"
BOUND = 20.0  # seconds to wait for an answer that must come


def ok_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(len(body)).encode()]


class DrippingInput:
    """A wsgi.input with read1: a few bytes per call, the clock moving ``step`` each time."""

    def __init__(self, data: bytes, clock: ManualClock, step: float, piece: int = 10) -> None:
        self._stream = io.BytesIO(data)
        self._clock = clock
        self._step = step
        self._piece = piece
        self.read1_calls = 0

    def read1(self, size: int = -1) -> bytes:
        self.read1_calls += 1
        self._clock.advance(self._step)
        return self._stream.read(min(size, self._piece))

    def read(self, size: int = -1) -> bytes:
        raise AssertionError("read() while read1() is there: a drip would block the check")


class FillingInput:
    """A wsgi.input without read1 whose read(n) returns only once n bytes came (gunicorn's)."""

    def __init__(self, data: bytes, clock: ManualClock, step: float) -> None:
        self._stream = io.BytesIO(data)
        self._clock = clock
        self._step = step

    def read(self, size: int = -1) -> bytes:
        self._clock.advance(self._step)
        return self._stream.read(size)


def environ_for(body: bytes, headers: dict[str, str], stream: Any) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/webhooks",
        "SCRIPT_NAME": "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": stream,
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    return environ


def call(app: Any, environ: dict[str, Any]) -> tuple[str, bytes]:
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return statuses[0], body


def test_a_dripping_input_is_cut_at_the_deadline() -> None:
    clock = ManualClock(0.0)
    app = WebhookVerificationMiddleware(ok_app, secrets=SECRET, monotonic=clock)
    body, headers = signed_request(b"x" * 1000, SECRET)
    stream = DrippingInput(body, clock, step=1.0)  # 10 bytes a second: 100 s for the body
    status, answer = call(app, environ_for(body, headers, stream))
    assert status.startswith("408 ")
    assert json.loads(answer)["code"] == "body_timeout"
    assert stream.read1_calls == 31  # cut at the first read past 30 s


def test_a_read_that_fills_its_size_is_checked_when_it_returns() -> None:
    """The documented limit: without read1 the check runs after each bounded read."""
    clock = ManualClock(0.0)
    app = WebhookVerificationMiddleware(ok_app, secrets=SECRET, monotonic=clock, body_timeout=5)
    body, headers = signed_request(b"x" * 100, SECRET)
    status, _ = call(app, environ_for(body, headers, FillingInput(body, clock, step=6.0)))
    assert status.startswith("408 ")


def test_a_body_within_the_deadline_passes() -> None:
    clock = ManualClock(0.0)
    app = WebhookVerificationMiddleware(ok_app, secrets=SECRET, monotonic=clock)
    body, headers = signed_request(b"x" * 100, SECRET)
    status, answer = call(app, environ_for(body, headers, DrippingInput(body, clock, step=2.0)))
    assert status.startswith("200 ")
    assert answer == b"100"


def test_no_deadline_with_body_timeout_none() -> None:
    clock = ManualClock(0.0)
    app = WebhookVerificationMiddleware(ok_app, secrets=SECRET, monotonic=clock, body_timeout=None)
    body, headers = signed_request(b"x" * 100, SECRET)
    stream = DrippingInput(body, clock, step=3600.0)
    assert call(app, environ_for(body, headers, stream))[0].startswith("200 ")


@pytest.mark.parametrize("value", [0, -2.5, float("nan"), "30"])
def test_a_bad_body_timeout_is_a_configuration_error(value: object) -> None:
    with pytest.raises(ConfigurationError, match="body_timeout"):
        WebhookVerificationMiddleware(ok_app, secrets=SECRET, body_timeout=value)  # type: ignore[arg-type]


# -- real servers ------------------------------------------------------------------------------


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(params=["wsgiref", "werkzeug"])
def port(request: pytest.FixtureRequest) -> Iterator[int]:
    app = WebhookVerificationMiddleware(ok_app, secrets=SECRET, body_timeout=1.0)
    if request.param == "werkzeug":
        httpd: Any = werkzeug_make_server("127.0.0.1", 0, app, threaded=True)
    else:
        httpd = make_server(
            "127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler
        )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_a_real_server_answers_a_dripping_sender_408(port: int) -> None:
    body, headers = signed_request(b"z" * 10_000, SECRET)  # 10,000 drops: far past 1 s
    head = ["POST /webhooks HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    stop = threading.Event()

    def drip(sock: socket.socket) -> None:
        for byte in body:
            if stop.wait(0.01):
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return

    with socket.create_connection(("127.0.0.1", port), timeout=BOUND) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        sender = threading.Thread(target=drip, args=(sock,), daemon=True)
        sender.start()
        data = b""
        deadline = time.monotonic() + BOUND
        try:
            while b"\r\n\r\n" not in data:
                assert time.monotonic() < deadline, "no answer"
                piece = sock.recv(65536)
                assert piece, f"closed without an answer: {data!r}"
                data += piece
        finally:
            stop.set()
            sender.join(BOUND)
    assert data.split(b" ", 2)[1] == b"408", data
