"""The ASGI middleware's body deadline: a body slower than ``body_timeout`` is answered 408 and
the app never runs. A ManualClock (the injectable monotonic clock) drives the dripping sender;
a real event-loop timer cuts the sender that stops sending (its wait is a failure bound)."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from collections.abc import MutableMapping
from typing import Any

import pytest

from hookseal._deadline import Watchdog
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.errors import ConfigurationError
from hookseal.testing import ManualClock, signed_request

SECRET = "asgi-deadline-secret"
BOUND = 30.0  # seconds a test waits before it calls the deadline missed
Message = MutableMapping[str, Any]


class App:
    """Records whether it ran; answers 200."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        self.calls += 1
        while (await receive()).get("more_body", False):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


class Sender:
    """Plays a slow sender: one chunk per receive(), moving ``clock`` by ``step`` before each;
    with ``stall_after`` it stops sending (receive() waits forever) after that many chunks."""

    def __init__(
        self,
        body: bytes,
        *,
        pieces: int,
        clock: ManualClock | None = None,
        step: float = 0.0,
        stall_after: int | None = None,
    ) -> None:
        size = math.ceil(len(body) / pieces)
        self.chunks = [body[i : i + size] for i in range(0, len(body), size)]
        self.clock = clock
        self.step = step
        self.stall_after = stall_after
        self.reads = 0
        self.sent: list[Message] = []
        self.never = asyncio.Event()
        self.stalled = asyncio.Event()  # set once receive() has started waiting forever

    async def receive(self) -> Message:
        if self.stall_after is not None and self.reads >= self.stall_after:
            self.stalled.set()
            await self.never.wait()
        if self.clock is not None:
            self.clock.advance(self.step)
        index = self.reads
        self.reads += 1
        if index >= len(self.chunks):
            return {"type": "http.disconnect"}
        more = index < len(self.chunks) - 1
        return {"type": "http.request", "body": self.chunks[index], "more_body": more}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    def document(self) -> dict[str, Any]:
        return dict(json.loads(b"".join(m.get("body", b"") for m in self.sent[1:])))

    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])


def scope_for(headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/webhooks",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


async def test_a_dripping_sender_is_cut_at_the_deadline_with_408() -> None:
    clock = ManualClock(0.0)
    app = App()
    middleware = WebhookVerificationMiddleware(
        app, secrets=SECRET, body_timeout=30, monotonic=clock
    )
    body, headers = signed_request(b"x" * 100, SECRET)
    sender = Sender(body, pieces=10, clock=clock, step=7.0)  # 70 s for the whole body
    await middleware(scope_for(headers), sender.receive, sender.send)
    assert sender.status == 408
    assert sender.document()["code"] == "body_timeout"
    assert sender.headers()[b"content-type"] == b"application/problem+json"
    assert sender.headers()[b"connection"] == b"close"  # the rest of the body is not wanted
    assert sender.reads == 5  # cut at the first chunk past 30 s (the fifth, at 35 s)
    assert app.calls == 0


async def test_a_body_within_the_deadline_passes() -> None:
    clock = ManualClock(0.0)
    app = App()
    middleware = WebhookVerificationMiddleware(
        app, secrets=SECRET, body_timeout=30, monotonic=clock
    )
    body, headers = signed_request(b"x" * 100, SECRET)
    sender = Sender(body, pieces=10, clock=clock, step=2.9)  # 29 s for the whole body
    await middleware(scope_for(headers), sender.receive, sender.send)
    assert sender.status == 200
    assert app.calls == 1


async def test_no_deadline_with_body_timeout_none() -> None:
    clock = ManualClock(0.0)
    app = App()
    middleware = WebhookVerificationMiddleware(
        app, secrets=SECRET, body_timeout=None, monotonic=clock
    )
    body, headers = signed_request(b"x" * 100, SECRET)
    sender = Sender(body, pieces=10, clock=clock, step=3600.0)
    await middleware(scope_for(headers), sender.receive, sender.send)
    assert sender.status == 200


async def test_a_sender_that_stops_sending_is_cut_by_the_timer() -> None:
    app = App()
    middleware = WebhookVerificationMiddleware(app, secrets=SECRET, body_timeout=0.2)
    body, headers = signed_request(b"x" * 100, SECRET)
    sender = Sender(body, pieces=4, stall_after=2)
    await asyncio.wait_for(middleware(scope_for(headers), sender.receive, sender.send), BOUND)
    assert sender.status == 408
    assert sender.document()["code"] == "body_timeout"
    assert app.calls == 0
    task = asyncio.current_task()
    assert task is not None
    if sys.version_info >= (3, 11):
        assert task.cancelling() == 0  # the watchdog took its cancel back


async def test_the_timer_cuts_only_the_stalled_requests() -> None:
    app = App()
    middleware = WebhookVerificationMiddleware(app, secrets=SECRET, body_timeout=0.3)
    body, headers = signed_request(b"x" * 64, SECRET)
    senders = [Sender(body, pieces=4, stall_after=1 if i % 3 == 0 else None) for i in range(12)]
    await asyncio.wait_for(
        asyncio.gather(*(middleware(scope_for(headers), s.receive, s.send) for s in senders)),
        BOUND,
    )
    assert [s.status for s in senders] == [408 if i % 3 == 0 else 200 for i in range(12)]
    assert app.calls == 8


async def test_a_cancellation_from_elsewhere_is_not_turned_into_408() -> None:
    app = App()
    middleware = WebhookVerificationMiddleware(app, secrets=SECRET, body_timeout=60)
    body, headers = signed_request(b"x" * 64, SECRET)
    sender = Sender(body, pieces=2, stall_after=1)
    task = asyncio.ensure_future(middleware(scope_for(headers), sender.receive, sender.send))
    await asyncio.wait_for(sender.stalled.wait(), BOUND)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sender.sent == []  # nothing answered: the server is shutting the request down
    assert app.calls == 0


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, "30", True])
def test_a_bad_body_timeout_is_a_configuration_error(value: object) -> None:
    with pytest.raises(ConfigurationError, match="body_timeout"):
        WebhookVerificationMiddleware(App(), secrets=SECRET, body_timeout=value)  # type: ignore[arg-type]


def test_the_default_is_thirty_seconds_and_shows_in_repr() -> None:
    middleware = WebhookVerificationMiddleware(App(), secrets=SECRET)
    assert middleware.body_timeout == 30.0
    assert "body_timeout=30.0" in repr(middleware)


def test_the_watchdog_does_nothing_outside_asyncio() -> None:
    assert Watchdog(1.0).enter(0.0) is None  # no running loop (as under trio): no timer


async def test_one_timer_serves_every_request_in_a_slice() -> None:
    """The per-request cost is a set add and discard; timers are per slice of deadlines."""
    watchdog = Watchdog(30.0)
    first = watchdog.enter(100.1)
    second = watchdog.enter(100.6)
    third = watchdog.enter(101.5)
    assert first is not None
    assert second is not None
    assert third is not None
    assert first[0] is second[0]  # both deadlines fall in (130, 131]: one slice, one timer
    assert third[0] is not first[0]
    assert first[0].pending == {asyncio.current_task()}


async def test_a_stall_is_cut_even_when_the_injected_clock_stands_still() -> None:
    """The timer is relative: a frozen ManualClock still gets each stalled request cut."""
    app = App()
    middleware = WebhookVerificationMiddleware(
        app, secrets=SECRET, body_timeout=0.2, monotonic=ManualClock(0.0)
    )
    body, headers = signed_request(b"x" * 64, SECRET)
    for _ in range(2):  # the second joins no slice whose timer already fired
        sender = Sender(body, pieces=2, stall_after=1)
        await asyncio.wait_for(middleware(scope_for(headers), sender.receive, sender.send), BOUND)
        assert sender.status == 408
    assert app.calls == 0
