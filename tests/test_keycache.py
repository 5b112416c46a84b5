"""The keyed cache of fetched public keys: its rules with fake clocks and a fetch that a test
holds, fails or counts (the schemes' own tests run it against real servers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from hookseal import ConfigurationError, SigningKeyUnavailable
from hookseal._keycache import KeyCache
from hookseal.testing import ManualClock


class Fetch:
    """Answers ``key-<name>``; can be made to fail, or to hold until released."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail = False
        self.hold = threading.Event()
        self.hold.set()

    def __call__(self, name: str) -> str:
        self.calls.append(name)
        self.hold.wait(10)
        if self.fail:
            raise OSError("down")
        return f"key-{name}"


def _cache(fetch: Callable[[str], str], clock: ManualClock, **options: object) -> KeyCache[str]:
    return KeyCache(fetch, name="test", monotonic=clock, random=lambda: 1.0, **options)  # type: ignore[arg-type]


def _settle(cache: KeyCache[str]) -> None:
    deadline = time.monotonic() + 10
    while cache._flights and time.monotonic() < deadline:
        time.sleep(0.005)


def test_a_fresh_key_is_served_without_a_fetch() -> None:
    fetch, clock = Fetch(), ManualClock(0)
    cache = _cache(fetch, clock, ttl=60.0)
    assert cache.get("a") == "key-a"
    clock.advance(59)
    assert cache.get("a") == "key-a"
    assert fetch.calls == ["a"]


def test_past_its_ttl_a_key_is_served_at_once_while_refetched() -> None:
    fetch, clock = Fetch(), ManualClock(0)
    cache = _cache(fetch, clock, ttl=60.0, fetch_timeout=30.0)
    cache.get("a")
    clock.advance(61)
    fetch.hold.clear()  # the refetch hangs: nobody may wait for it
    started = time.monotonic()
    assert cache.get("a") == "key-a"
    assert cache.get("a") == "key-a"  # one refetch in flight, not two
    assert time.monotonic() - started < 5
    fetch.hold.set()
    _settle(cache)
    assert fetch.calls == ["a", "a"]


def test_past_max_stale_with_a_failing_source_it_is_503() -> None:
    fetch, clock = Fetch(), ManualClock(0)
    cache = _cache(fetch, clock, ttl=60.0, max_stale=100.0, backoff_base=1.0)
    cache.get("a")
    fetch.fail = True
    clock.advance(120)
    assert cache.get("a") == "key-a"  # stale, refetch fails behind
    _settle(cache)
    clock.advance(50)  # 170 s: past ttl + max_stale
    with pytest.raises(SigningKeyUnavailable):
        cache.get("a")


def test_failures_back_off_per_key_and_success_resets() -> None:
    fetch, clock = Fetch(), ManualClock(0)
    fetch.fail = True
    cache = _cache(fetch, clock, backoff_base=10.0, backoff_max=1000.0)
    with pytest.raises(SigningKeyUnavailable):
        cache.get("a")
    with pytest.raises(SigningKeyUnavailable) as caught:
        cache.get("a")  # backing off: no fetch
    assert caught.value.retry_after == 10
    clock.advance(11)
    with pytest.raises(SigningKeyUnavailable):
        cache.get("a")  # the second failure: 20 s now
    clock.advance(11)
    with pytest.raises(SigningKeyUnavailable):
        cache.get("a")
    assert fetch.calls.count("a") == 2
    fetch.fail = False
    clock.advance(10)
    assert cache.get("a") == "key-a"


def test_the_number_of_keys_is_bounded() -> None:
    fetch, clock = Fetch(), ManualClock(0)
    cache = _cache(fetch, clock, max_entries=2)
    for name in ("a", "b", "c"):
        cache.get(name)
    assert len(cache._entries) == 2
    cache.get("a")  # dropped first (least recently used): fetched again
    assert fetch.calls == ["a", "b", "c", "a"]


def test_new_fetches_are_budgeted_per_window() -> None:
    fetch, clock = Fetch(), ManualClock(0)
    cache = _cache(fetch, clock, budget=2, budget_window=60.0)
    cache.get("a")
    cache.get("b")
    with pytest.raises(SigningKeyUnavailable) as caught:
        cache.get("c")
    assert caught.value.retry_after == 60
    assert cache.get("a") == "key-a"  # cached keys are not affected
    clock.advance(61)
    assert cache.get("c") == "key-c"
    assert fetch.calls == ["a", "b", "c"]


def test_fetch_threads_are_bounded() -> None:
    fetch, clock = Fetch(), ManualClock(0)
    fetch.hold.clear()
    cache = _cache(fetch, clock, max_in_flight=2, fetch_timeout=0.05)
    for name in ("a", "b"):
        with pytest.raises(SigningKeyUnavailable):
            cache.get(name)  # each hangs: given up on after 0.05 s, still in flight
    with pytest.raises(SigningKeyUnavailable) as caught:
        cache.get("c")
    assert "in flight" in caught.value.detail
    fetch.hold.set()
    _settle(cache)
    assert sorted(fetch.calls) == ["a", "b"]


@pytest.mark.parametrize(
    "options",
    [
        {"ttl": 0},
        {"fetch_timeout": float("nan")},
        {"max_stale": -1},
        {"max_entries": 0},
        {"budget": True},
        {"max_in_flight": 1.5},
    ],
)
def test_bad_settings_are_configuration_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        KeyCache(str, name="test", **options)  # type: ignore[arg-type]
