"""A slow body and a real Keyring, through uvicorn: validity is judged when the body is complete.

The keyring refreshes from a real HTTP secrets endpoint (tests/_http_secrets_server.py). The
headers of a delivery signed with the old secret arrive while it is valid; then the endpoint
revokes it (or sets an expiry that has passed by the time the body ends) and the keyring learns
that; then the body arrives. The delivery must be refused: the set the keyring holds at
completion decides, not the one it held when the headers came.

No timing is measured: the keyring's monotonic clock and the verifier's wall clock are manual,
the test waits for the keyring's fetch to have happened (a counted event), and every wait is a
generous failure bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from _http_secrets_server import Server, secrets_http_server
from _uvicorn_server import uvicorn_server
from hookseal import Keyring
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.sources.http import HttpSource
from hookseal.testing import ManualClock, signed_request
from test_asgi_slow_body_e2e import (
    BOUND,
    SignallingClock,
    connection,
    read_status,
    request_head,
)

OLD = "keyring-slow-body-old-secret"
NEW = "keyring-slow-body-new-secret"
REFRESH = 60.0


def document(*secrets: dict[str, Any]) -> dict[str, Any]:
    return {"secrets": list(secrets)}


async def echo(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"secret_id": request.state.hookseal.secret_id})


class Fetches:
    """Counts the keyring's completed fetches (its ``fetched`` events)."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def __call__(self, event: str, **fields: Any) -> None:
        if event == "fetched":
            with self.changed:
                self.count += 1
                self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.count >= count, BOUND), "no refresh"


class Guarded(NamedTuple):
    keyring: Keyring
    monotonic: ManualClock
    fetches: Fetches
    port: int

    def learn(self) -> None:
        """Move the keyring's clock past its refresh interval; wait for the fetch it starts."""
        done = self.fetches.count
        self.monotonic.advance(REFRESH + 1)
        self.keyring.secret_set()  # warm: served at once, and a background refresh starts
        self.fetches.wait_for(done + 1)


@contextmanager
def guarded(server: Server, clock: ManualClock) -> Iterator[Guarded]:
    """uvicorn serving an app guarded with a real keyring over ``server``."""
    monotonic = ManualClock(0)
    fetches = Fetches()
    keyring = Keyring(
        HttpSource(server.url, timeout=5.0),
        refresh_interval=REFRESH,
        monotonic=monotonic,
        on_event=fetches,
    ).start(timeout=BOUND)
    app = Starlette(routes=[Route("/hooks", echo, methods=["POST"])])
    app.add_middleware(WebhookVerificationMiddleware, secrets=keyring, leeway=0, clock=clock)
    try:
        with uvicorn_server(app) as port:
            yield Guarded(keyring, monotonic, fetches, port)
    finally:
        keyring.close()


def slow_delivery(port: int, clock: SignallingClock, meanwhile: Any) -> tuple[int, bytes]:
    """Headers first; ``meanwhile()`` once the middleware has read them; then the body."""
    body, headers = signed_request({"event": "slow"}, OLD)
    with connection(port) as sock:
        sock.sendall(request_head("/hooks", headers, len(body)))
        assert clock.read.wait(BOUND), "the middleware never read the headers"
        meanwhile()
        sock.sendall(body)
        return read_status(sock)


def test_a_secret_revoked_while_the_body_is_sent_does_not_verify() -> None:
    clock = SignallingClock(time.time())
    both = document({"id": "k-old", "value": OLD}, {"id": "k-new", "value": NEW})
    with secrets_http_server(both) as server, guarded(server, clock) as running:

        def revoke() -> None:
            server.behaviour.document = document({"id": "k-new", "value": NEW})
            running.learn()
            assert running.keyring.secret_set().ids == ("k-new",)

        status, data = slow_delivery(running.port, clock, revoke)
    assert status == 401, data
    assert b"signature_mismatch" in data


def test_an_expiry_learned_while_the_body_is_sent_applies_at_completion() -> None:
    clock = SignallingClock(time.time())
    with (
        secrets_http_server(document({"id": "k-old", "value": OLD})) as server,
        guarded(server, clock) as running,
    ):

        def rotate() -> None:
            # The operator rotates: the old secret now expires in 30 s (the rotation's
            # rotate_at); the body takes longer than that.
            server.behaviour.document = document(
                {"id": "k-new", "value": NEW},
                {"id": "k-old", "value": OLD, "expires_at": clock.now + 30},
            )
            running.learn()
            assert "k-new" in running.keyring.secret_set().ids
            clock.advance(60)

        status, data = slow_delivery(running.port, clock, rotate)
    assert status == 401, data


def test_the_same_slow_body_verifies_when_nothing_changed() -> None:
    """The control: a refresh meanwhile that keeps the secret changes nothing."""
    clock = SignallingClock(time.time())
    with (
        secrets_http_server(document({"id": "k-old", "value": OLD})) as server,
        guarded(server, clock) as running,
    ):
        status, data = slow_delivery(running.port, clock, running.learn)
    assert status == 200, data
    assert running.fetches.count == 2
