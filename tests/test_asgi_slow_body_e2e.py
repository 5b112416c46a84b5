"""Slow bodies against a real uvicorn on 127.0.0.1, sent from a raw socket: headers first, the
body later or drop by drop. uvicorn itself has no body timeout, so only hookseal bounds them.

No test here measures time: the server's clock is a ManualClock the test moves once the
middleware has read the headers (it signals its first clock read), and the deadline tests only
wait for an answer that must come, with a generous bound for a busy machine.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from _uvicorn_server import uvicorn_server
from hookseal import Secret, Verified
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.integrations.fastapi import VerifiedWebhook
from hookseal.testing import ManualClock, signed_request

SECRET = "slow-body-secret"
T = 1_700_000_000.0
BOUND = 20.0  # seconds to wait for an answer that must come


class SignallingClock(ManualClock):
    """A ManualClock that tells the test when the server first read it (at begin())."""

    def __init__(self, start: float) -> None:
        super().__init__(start)
        self.read = threading.Event()

    def __call__(self) -> float:
        self.read.set()
        return super().__call__()


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    return JSONResponse({"length": len(body)})


def starlette_app(**options: Any) -> Starlette:
    app = Starlette(routes=[Route("/webhooks", echo, methods=["POST"])])
    app.add_middleware(WebhookVerificationMiddleware, paths=["/webhooks"], **options)
    return app


@contextmanager
def connection(port: int) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port), timeout=BOUND) as sock:
        yield sock


def request_head(path: str, headers: dict[str, str], length: int) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_status(sock: socket.socket) -> tuple[int, bytes]:
    """The response's status code and what was read of it (until the headers' end at least)."""
    data = b""
    deadline = time.monotonic() + BOUND
    while b"\r\n\r\n" not in data:
        assert time.monotonic() < deadline, "no answer from the server"
        piece = sock.recv(65536)
        assert piece, f"connection closed without an answer: {data!r}"
        data += piece
    return int(data.split(b" ", 2)[1]), data


def drip(sock: socket.socket, body: bytes, stop: threading.Event, pause: float) -> None:
    """Send ``body`` a byte at a time until ``stop`` (the answer came) or the socket fails."""
    for byte in body:
        if stop.wait(pause):
            return
        try:
            sock.sendall(bytes([byte]))
        except OSError:  # the server answered and closed: the point of the test
            return


def test_a_secret_expiring_while_the_body_is_sent_does_not_verify() -> None:
    """Headers while the old secret is valid, the body after its expires_at + leeway."""
    clock = SignallingClock(T)
    secrets = [Secret("new-secret"), Secret(SECRET, expires_at=T + 1)]
    app = starlette_app(secrets=secrets, leeway=0, clock=clock)
    body, headers = signed_request({"event": "late"}, SECRET, now=T)
    with uvicorn_server(app) as port, connection(port) as sock:
        sock.sendall(request_head("/webhooks", headers, len(body)))
        assert clock.read.wait(BOUND), "the middleware never read the headers"
        clock.advance(3600)  # the old secret expired while the sender waited
        sock.sendall(body)
        status, data = read_status(sock)
    assert status == 401, data  # signature_mismatch: only the new secret is valid now


def test_the_same_slow_body_verifies_while_the_secret_is_valid() -> None:
    clock = SignallingClock(T)
    app = starlette_app(secrets=[Secret(SECRET, expires_at=T + 3600)], leeway=0, clock=clock)
    body, headers = signed_request({"event": "on time"}, SECRET, now=T)
    with uvicorn_server(app) as port, connection(port) as sock:
        sock.sendall(request_head("/webhooks", headers, len(body)))
        assert clock.read.wait(BOUND)
        clock.advance(60)
        sock.sendall(body)
        status, data = read_status(sock)
    assert status == 200, data


def test_a_dripping_sender_gets_408_from_the_middleware() -> None:
    app = starlette_app(secrets=SECRET, body_timeout=1.0)
    body, headers = signed_request(b"x" * 10_000, SECRET)  # 10,000 drops: far past 1 s
    stop = threading.Event()
    with uvicorn_server(app) as port, connection(port) as sock:
        sock.sendall(request_head("/webhooks", headers, len(body)))
        sender = threading.Thread(target=drip, args=(sock, body, stop, 0.01), daemon=True)
        sender.start()
        try:
            status, data = read_status(sock)
        finally:
            stop.set()
            sender.join(BOUND)
    assert status == 408, data
    assert b"application/problem+json" in data


def test_a_sender_that_stops_sending_gets_408() -> None:
    app = starlette_app(secrets=SECRET, body_timeout=1.0)
    body, headers = signed_request(b"x" * 1000, SECRET)
    with uvicorn_server(app) as port, connection(port) as sock:
        sock.sendall(request_head("/webhooks", headers, len(body)) + body[:10])
        status, data = read_status(sock)  # nothing more is sent
    assert status == 408, data


def test_the_fastapi_dependency_answers_a_dripping_sender_408() -> None:
    verified = VerifiedWebhook(SECRET, body_timeout=1.0)
    app = FastAPI()

    @app.post("/hooks")
    async def hook(event: Verified = Depends(verified)) -> dict[str, str]:  # noqa: B008
        return {"secret_id": event.secret_id}

    body, headers = signed_request(b"y" * 10_000, SECRET)
    stop = threading.Event()
    with uvicorn_server(app) as port, connection(port) as sock:
        sock.sendall(request_head("/hooks", headers, len(body)))
        sender = threading.Thread(target=drip, args=(sock, body, stop, 0.01), daemon=True)
        sender.start()
        try:
            status, data = read_status(sock)
        finally:
            stop.set()
            sender.join(BOUND)
    assert status == 408, data
