"""InMemoryReplayGuard never forgets a live key to make room: at maxsize it drops the expired
keys first, and if it is still full it fails closed (503 with Retry-After), logs once per
episode and tells its ``on_event`` hook."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from hookseal import ConfigurationError, InMemoryReplayGuard, ReplayGuardUnavailable, Verifier
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.testing import ManualClock, signed_request


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event: str, **fields: Any) -> None:
        self.seen.append((event, fields))


def test_full_of_live_keys_it_fails_closed_with_the_time_to_the_next_expiry() -> None:
    clock = ManualClock(0.0)
    guard = InMemoryReplayGuard(maxsize=3, ttl=100, timer=clock)
    assert guard.remember("a", 600)
    clock.advance(10)
    assert guard.remember("b", 60)  # expires at 70: the soonest
    assert guard.remember("c", 600)
    with pytest.raises(ReplayGuardUnavailable) as caught:
        guard.remember("d", 600)
    assert caught.value.status == 503
    assert caught.value.response_headers() == {"Retry-After": "60"}
    assert len(guard) == 3
    for key in ("a", "b", "c"):
        assert not guard.remember(key, 600)  # every live key is still refused as a replay


def test_expired_keys_make_room_first() -> None:
    clock = ManualClock(0.0)
    guard = InMemoryReplayGuard(maxsize=2, timer=clock)
    assert guard.remember("short", 5)
    assert guard.remember("long", 500)
    clock.advance(5)
    assert guard.remember("new", 500)  # "short" expired: its place is free, nothing live lost
    assert not guard.remember("long", 500)
    assert len(guard) == 2


def test_one_log_line_and_one_event_per_full_episode(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(0.0)
    events = Events()
    guard = InMemoryReplayGuard(maxsize=10, timer=clock, on_event=events)
    for index in range(10):
        assert guard.remember(f"key-{index}", 100 + index)
    with caplog.at_level(logging.ERROR, logger="hookseal"):
        for attempt in range(50):
            with pytest.raises(ReplayGuardUnavailable):
                guard.remember(f"refused-{attempt}", 100)
    full_lines = [r for r in caplog.records if "InMemoryReplayGuard is full" in r.getMessage()]
    assert len(full_lines) == 1
    assert "key-" not in full_lines[0].getMessage()  # bounded: no key in the line
    assert events.seen == [
        ("replay_guard_full", {"guard": "memory", "maxsize": 10, "retry_after": 100})
    ]
    clock.advance(101.5)  # two keys expire: 8 of 10 left, under the 90 % mark
    assert guard.remember("after", 100)
    assert events.seen[-1] == ("replay_guard_recovered", {"guard": "memory", "refused": 50})
    while len(guard) < 10:  # full again: a new episode, a new line and event
        guard.remember(f"again-{len(guard)}", 1000)
    with caplog.at_level(logging.ERROR, logger="hookseal"), pytest.raises(ReplayGuardUnavailable):
        guard.remember("over", 100)
    full_lines = [r for r in caplog.records if "InMemoryReplayGuard is full" in r.getMessage()]
    assert len(full_lines) == 2
    assert [name for name, _ in events.seen].count("replay_guard_full") == 2


def test_a_hook_that_raises_never_breaks_the_guard(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: str, **fields: Any) -> None:
        raise RuntimeError("metrics are down")

    guard = InMemoryReplayGuard(maxsize=1, timer=ManualClock(0.0), on_event=broken)
    assert guard.remember("a", 10)
    with pytest.raises(ReplayGuardUnavailable):  # the refusal, not the hook's error
        guard.remember("b", 10)
    assert "on_event hook raised" in caplog.text


def test_the_middleware_answers_503_problem_json_when_the_guard_is_full() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def ok(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    guard = InMemoryReplayGuard(maxsize=2)
    app = Starlette(routes=[Route("/hooks", ok, methods=["POST"])])
    app.add_middleware(WebhookVerificationMiddleware, secrets="s3cr3t", replay_guard=guard)
    client = TestClient(app)
    for number in range(2):
        body, headers = signed_request({"n": number}, "s3cr3t")
        assert client.post("/hooks", content=body, headers=headers).status_code == 200
    body, headers = signed_request({"n": 2}, "s3cr3t")
    response = client.post("/hooks", content=body, headers=headers)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert json.loads(response.content)["code"] == "replay_guard_unavailable"


def test_schemes_without_a_timestamp_keep_keys_for_the_guards_ttl() -> None:
    """Their signature never expires: the guard's ttl is the whole protection (documented)."""
    clock = ManualClock(0.0)
    guard = InMemoryReplayGuard(ttl=3600, timer=clock)
    verifier = Verifier("s3cr3t", scheme="github", replay_guard=guard)
    body, headers = signed_request(b"{}", "s3cr3t", scheme="github")
    assert verifier.verify(body, headers)
    clock.advance(3599)
    with pytest.raises(Exception, match="already"):
        verifier.verify(body, headers)
    clock.advance(2)
    assert verifier.verify(body, headers)  # past the ttl a replay passes: size ttl for it


@pytest.mark.parametrize(
    "kwargs",
    [{"maxsize": True}, {"maxsize": 2.5}, {"ttl": float("inf")}, {"ttl": float("nan")}],
)
def test_bad_capacity_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        InMemoryReplayGuard(**kwargs)
