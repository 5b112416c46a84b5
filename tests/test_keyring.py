"""The keyring against every pitfall in DESIGN.md "Secrets and refresh", with injected clocks."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hookseal import Keyring, NoActiveSecret, Secret, SecretSet, SignatureMismatch, Verifier
from hookseal import verify as verify_once
from hookseal.keyring import KeyringStats
from hookseal.secrets import fingerprint
from hookseal.sources import Fetched, SecretSource, SourceError, StaticSource
from hookseal.testing import ManualClock, forged_request, signed_request

WALL0 = 1_700_000_000.0


Clock = ManualClock


class CountingSource(SecretSource):
    """A source whose answer, failure and speed the test controls; counts fetches. The keyring
    fetches it with ``fetch`` on a thread of its own, for sync and asyncio callers alike."""

    name = "counting"

    def __init__(self, *secrets: Secret, ttl: float | None = None) -> None:
        self.secrets = SecretSet(secrets)
        self.ttl = ttl
        self.fail = False
        self.calls = 0
        self.gate: threading.Event | None = None  # fetch waits for it
        self.closed = False
        self._lock = threading.Lock()

    def _answer(self) -> Fetched:
        if self.fail:
            raise SourceError("counting: down")
        return Fetched(self.secrets, self.ttl)

    def fetch(self) -> Fetched:
        with self._lock:
            self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        return self._answer()

    def close(self) -> None:
        self.closed = True


class Events:
    """An on_event hook that lets a test wait (bounded) for a background fetch to land."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self._cond = threading.Condition()

    def __call__(self, name: str, **fields: Any) -> None:
        with self._cond:
            self.seen.append((name, fields))
            self._cond.notify_all()

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.seen if n == name)

    def last(self, name: str) -> dict[str, Any]:
        return [fields for n, fields in self.seen if n == name][-1]

    def wait_for(self, name: str, count: int = 1) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.count(name) >= count, timeout=10)


K1 = Secret("old-secret-value", id="k1")
K2 = Secret("new-secret-value", id="k2")


@pytest.fixture
def wall() -> Clock:
    return Clock(WALL0)


@pytest.fixture
def mono() -> Clock:
    return Clock(1_000.0)


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def make(wall: Clock, mono: Clock, events: Events) -> Iterator[Callable[..., Keyring]]:
    """Build keyrings on the fake clocks (no jitter) and close them all afterwards."""
    made: list[tuple[Keyring, CountingSource | SecretSource]] = []

    def build(source: SecretSource, **options: Any) -> Keyring:
        options.setdefault("clock", wall)
        options.setdefault("monotonic", mono)
        options.setdefault("random", lambda: 1.0)
        options.setdefault("on_event", events)
        keyring = Keyring(source, **options)
        made.append((keyring, source))
        return keyring

    yield build
    for keyring, source in made:
        if isinstance(source, CountingSource) and source.gate is not None:
            source.gate.set()
        keyring.close()
    for thread in keyring_threads():  # an abandoned (timed-out) fetch ends once released
        thread.join(10)
    assert not keyring_threads()


def keyring_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("hookseal-keyring")]


def settle() -> None:
    """Wait (bounded) until the fetch threads that already landed have ended."""
    for thread in keyring_threads():
        thread.join(10)
    assert not keyring_threads()


# -- the provider protocol ---------------------------------------------------------------------


def test_keyring_is_accepted_wherever_secrets_are(make: Callable[..., Keyring]) -> None:
    keyring = make(CountingSource(K1)).start()
    body, headers = signed_request({"a": 1}, K1)
    assert verify_once(body, headers, keyring).secret_id == "k1"
    assert Verifier(keyring).verify(body, headers).secret_id == "k1"


async def test_keyring_works_with_averify(make: Callable[..., Keyring]) -> None:
    keyring = await make(CountingSource(K1)).astart()
    body, headers = signed_request({"a": 1}, K1)
    assert (await Verifier(keyring).averify(body, headers)).secret_id == "k1"
    await keyring.aclose()


# -- a warm keyring never blocks ---------------------------------------------------------------


def test_warm_keyring_serves_fresh_set_without_fetching(
    make: Callable[..., Keyring], mono: Clock
) -> None:
    source = CountingSource(K1)
    keyring = make(source, refresh_interval=100).start()
    settle()  # the start-up fetch's thread
    mono.advance(79)  # below refresh_ahead (0.8) of the interval
    for _ in range(50):
        assert keyring.secret_set().ids == ("k1",)
    assert source.calls == 1
    assert not keyring_threads()


def test_past_refresh_ahead_serves_current_set_and_refreshes_in_a_thread(
    make: Callable[..., Keyring], mono: Clock, events: Events
) -> None:
    source = CountingSource(K1)
    keyring = make(source, refresh_interval=100).start()
    settle()
    source.secrets = SecretSet([K2])
    source.gate = threading.Event()  # the background fetch hangs until released
    mono.advance(81)
    assert keyring.secret_set().ids == ("k1",)  # returned while the fetch is still blocked
    assert keyring.secret_set().ids == ("k1",)
    assert len(keyring_threads()) == 1  # one in flight, not one per request
    source.gate.set()
    events.wait_for("fetched", 2)
    assert keyring.secret_set().ids == ("k2",)
    assert source.calls == 2


async def test_async_refresh_ahead_uses_one_keyring_thread_and_aclose_leaves_none(
    make: Callable[..., Keyring], mono: Clock
) -> None:
    """Not a task on the caller's loop (it would die with a short-lived loop): a thread of the
    keyring's own, and nothing of it is left after aclose."""
    source = CountingSource(K1)
    keyring = await make(source, refresh_interval=100).astart()
    await asyncio.to_thread(settle)
    source.gate = threading.Event()
    mono.advance(90)
    before = asyncio.all_tasks()
    assert (await keyring.asecret_set()).ids == ("k1",)
    assert (await keyring.asecret_set()).ids == ("k1",)
    assert asyncio.all_tasks() == before  # no task on this loop
    assert [t.name for t in keyring_threads()] == ["hookseal-keyring-counting"]
    source.gate.set()
    await keyring.aclose()
    assert source.calls == 2
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert source.closed
    assert keyring.stats().fetch_failures == 0  # closing is not a failure
    await asyncio.to_thread(settle)


def test_close_stops_background_refresh_and_closes_source(
    make: Callable[..., Keyring], mono: Clock
) -> None:
    source = CountingSource(K1)
    keyring = make(source, refresh_interval=100).start()
    mono.advance(200)
    keyring.close()
    assert keyring.secret_set().ids == ("k1",)  # the last set stays readable
    assert source.calls == 1  # but nothing refreshes after close
    assert not keyring_threads()
    assert source.closed


def test_context_manager_starts_and_closes(make: Callable[..., Keyring]) -> None:
    source = CountingSource(K1)
    with make(source) as keyring:
        assert source.calls == 1
        assert keyring.secret_set().ids == ("k1",)
    assert source.closed


async def test_async_context_manager(make: Callable[..., Keyring]) -> None:
    source = CountingSource(K1)
    async with make(source) as keyring:
        assert (await keyring.asecret_set()).ids == ("k1",)
    assert source.closed
    assert asyncio.all_tasks() == {asyncio.current_task()}


# -- cold start ------------------------------------------------------------------------------


def test_cold_start_fetches_on_first_request(make: Callable[..., Keyring]) -> None:
    source = CountingSource(K1)
    keyring = make(source)
    assert keyring.secret_set().ids == ("k1",)
    assert source.calls == 1


def test_cold_start_failure_is_503_with_retry_after_from_backoff(
    make: Callable[..., Keyring], mono: Clock
) -> None:
    source = CountingSource(K1)
    source.fail = True
    keyring = make(source, backoff_base=8)
    body, headers = signed_request({"a": 1}, K1)
    with pytest.raises(NoActiveSecret) as caught:
        Verifier(keyring).verify(body, headers)
    assert caught.value.status == 503
    assert caught.value.response_headers() == {"Retry-After": "8"}
    with pytest.raises(NoActiveSecret):  # inside the backoff: no new fetch
        keyring.secret_set()
    assert source.calls == 1
    mono.advance(8)
    with pytest.raises(NoActiveSecret) as caught:
        keyring.secret_set()
    assert source.calls == 2
    assert caught.value.retry_after == 16  # exponential
    mono.advance(16)
    source.fail = False
    assert keyring.secret_set().ids == ("k1",)


async def test_async_cold_start_failure_is_503(make: Callable[..., Keyring]) -> None:
    source = CountingSource(K1)
    source.fail = True
    keyring = make(source, backoff_base=4)
    with pytest.raises(NoActiveSecret) as caught:
        await keyring.asecret_set()
    assert caught.value.retry_after == 4


def test_start_raises_clear_error_when_first_fetch_fails(make: Callable[..., Keyring]) -> None:
    source = CountingSource(K1)
    source.fail = True
    with pytest.raises(NoActiveSecret, match="counting: down"):
        make(source).start(timeout=1)


async def test_astart_raises_when_first_fetch_fails(make: Callable[..., Keyring]) -> None:
    source = CountingSource(K1)
    source.fail = True
    with pytest.raises(NoActiveSecret, match="counting: down"):
        await make(source).astart(timeout=1)


# -- single flight ---------------------------------------------------------------------------


def test_hundred_threads_missing_at_once_cause_one_fetch(make: Callable[..., Keyring]) -> None:
    source = CountingSource(K1)
    source.gate = threading.Event()
    keyring = make(source)
    barrier = threading.Barrier(101)
    results: list[tuple[str, ...]] = []

    def request() -> None:
        barrier.wait()
        results.append(keyring.secret_set().ids)

    threads = [threading.Thread(target=request) for _ in range(100)]
    for thread in threads:
        thread.start()
    barrier.wait()
    threading.Event().wait(0.05)  # let the threads reach the shared wait (not asserted on)
    source.gate.set()
    for thread in threads:
        thread.join(10)
    assert results == [("k1",)] * 100
    assert source.calls == 1


async def test_hundred_tasks_missing_at_once_cause_one_fetch(
    make: Callable[..., Keyring],
) -> None:
    source = CountingSource(K1)
    source.gate = threading.Event()
    keyring = make(source)
    tasks = [asyncio.create_task(keyring.asecret_set()) for _ in range(100)]
    for _ in range(3):
        await asyncio.sleep(0)  # every task is now waiting on the one fetch
    source.gate.set()
    results = await asyncio.gather(*tasks)
    assert [r.ids for r in results] == [("k1",)] * 100
    assert source.calls == 1


async def test_cancelling_the_first_waiter_does_not_cancel_the_fetch(
    make: Callable[..., Keyring],
) -> None:
    source = CountingSource(K1)
    source.gate = threading.Event()
    keyring = make(source)
    first = asyncio.create_task(keyring.asecret_set())
    await asyncio.sleep(0)
    second = asyncio.create_task(keyring.asecret_set())
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    source.gate.set()
    assert (await second).ids == ("k1",)
    assert first.cancelled()
    assert source.calls == 1
    assert keyring.stats().fetch_failures == 0


def test_a_hanging_sync_fetch_is_bounded_by_fetch_timeout(make: Callable[..., Keyring]) -> None:
    source = CountingSource(K1)
    source.gate = threading.Event()  # never set during the request
    keyring = make(source, fetch_timeout=0.05)
    with pytest.raises(NoActiveSecret):
        keyring.secret_set()
    assert keyring.stats().fetch_failures == 1
    source.gate.set()


async def test_a_hanging_async_fetch_is_bounded_by_fetch_timeout(
    make: Callable[..., Keyring],
) -> None:
    source = CountingSource(K1)
    source.gate = threading.Event()  # never set during the request
    keyring = make(source, fetch_timeout=0.05)
    with pytest.raises(NoActiveSecret):
        await keyring.asecret_set()
    assert keyring.stats().fetch_failures == 1
    source.gate.set()


def test_a_hung_background_fetch_is_given_up_after_fetch_timeout(
    make: Callable[..., Keyring], mono: Clock, events: Events
) -> None:
    source = CountingSource(K1)
    keyring = make(source, refresh_interval=100, fetch_timeout=5)
    keyring.start()
    source.gate = threading.Event()
    mono.advance(90)
    keyring.secret_set()  # starts a background fetch that hangs
    mono.advance(6)  # past fetch_timeout: the next request gives up on it
    assert keyring.secret_set().ids == ("k1",)
    assert keyring.stats().fetch_failures == 1
    mono.advance(2)  # past the backoff: a new fetch may start, the hung one is ignored
    source.secrets = SecretSet([K2])
    source.gate.set()
    keyring.secret_set()
    events.wait_for("fetched", 2)
    assert keyring.secret_set().ids == ("k2",)


# -- refresh on mismatch ---------------------------------------------------------------------


def test_a_storm_of_forged_requests_causes_one_fetch_per_cooldown(
    make: Callable[..., Keyring], mono: Clock, wall: Clock
) -> None:
    source = CountingSource(K1)
    keyring = make(source, cooldown=60).start()
    verifier = Verifier(keyring, clock=wall)
    body, headers = forged_request({"a": 1}, now=wall.now)
    for _ in range(10_000):
        with pytest.raises(SignatureMismatch):
            verifier.verify(body, headers)
    assert source.calls == 2  # the warm-up and one mismatch refresh
    mono.advance(30)
    for _ in range(1_000):
        with pytest.raises(SignatureMismatch):
            verifier.verify(body, headers)
    assert source.calls == 2
    mono.advance(30)  # a cooldown after the last refresh
    with pytest.raises(SignatureMismatch):
        verifier.verify(body, headers)
    assert source.calls == 3
    assert keyring.stats().mismatch_refreshes == 2
    assert keyring.secret_set().ids == ("k1",)  # never cleared


async def test_async_storm_of_forged_requests_causes_one_fetch(
    make: Callable[..., Keyring], wall: Clock
) -> None:
    source = CountingSource(K1)
    keyring = await make(source, cooldown=60).astart()
    verifier = Verifier(keyring, clock=wall)
    body, headers = forged_request({"a": 1}, now=wall.now)
    for _ in range(2_000):
        with pytest.raises(SignatureMismatch):
            await verifier.averify(body, headers)
    assert source.calls == 2
    await keyring.aclose()


def test_a_newly_rotated_secret_is_accepted_on_its_first_request(
    make: Callable[..., Keyring], mono: Clock, wall: Clock
) -> None:
    source = CountingSource(K1)
    keyring = make(source, refresh_interval=300, cooldown=60).start()
    verifier = Verifier(keyring, clock=wall)
    source.secrets = SecretSet([K2, K1])  # rotated at the source, not yet refreshed
    mono.advance(61)
    body, headers = signed_request({"a": 1}, K2, now=wall.now)
    assert verifier.verify(body, headers).secret_id == "k2"
    assert source.calls == 2
    assert keyring.stats().matches_by_secret_id == {"k2": 1}


class FirstReadSource(CountingSource):
    """Reads its answer when the fetch starts, then waits: a fetch that predates a rotation."""

    def fetch(self) -> Fetched:
        with self._lock:
            self.calls += 1
        answer = self._answer()
        if self.gate is not None:
            self.gate.wait(10)
        return answer


def test_a_mismatch_within_the_cooldown_joins_the_fetch_in_the_air(
    make: Callable[..., Keyring],
) -> None:
    """Two deliveries on the new secret at once: the second one's mismatch comes while the
    first one's refresh is still fetching; it must wait for that fetch, not be refused."""
    source = CountingSource(K1)
    keyring = make(source, cooldown=60).start()
    source.secrets = SecretSet([K2, K1])
    source.gate = threading.Event()
    results: dict[str, SecretSet | None] = {}

    def refresh(name: str) -> None:
        results[name] = keyring.refresh_after_mismatch()

    first = threading.Thread(target=refresh, args=("first",))
    first.start()
    pause = threading.Event()  # never set: a bounded sleep
    for _ in range(1000):  # at most ~10 s, until the first refresh's fetch has started
        if source.calls == 2:
            break
        pause.wait(0.01)
    assert source.calls == 2
    second = threading.Thread(target=refresh, args=("second",))
    second.start()
    source.gate.set()
    first.join(10)
    second.join(10)
    for name in ("first", "second"):
        found = results[name]
        assert found is not None, name
        assert found.ids == ("k2", "k1"), name
    assert source.calls == 2  # no extra fetch for the second mismatch
    assert keyring.stats().mismatch_refreshes == 1


def test_a_delivery_that_straddled_a_refresh_is_rechecked_against_it(
    make: Callable[..., Keyring], wall: Clock
) -> None:
    """A streamed delivery began on the old set; another delivery's refresh landed the new
    set before it finished: it is checked again against the new set, within the cooldown."""
    source = CountingSource(K1)
    keyring = make(source, cooldown=60).start()
    verifier = Verifier(keyring, clock=wall)
    body, headers = signed_request({"a": 1}, K2, now=wall.now)
    pending = verifier.begin(headers)  # snapshot: k1 only
    pending.update(body)
    source.secrets = SecretSet([K2, K1])
    landed = keyring.refresh_after_mismatch()  # another delivery's refresh
    assert landed is not None
    assert landed.ids == ("k2", "k1")
    assert pending.finish().secret_id == "k2"
    assert source.calls == 2


async def test_async_delivery_that_straddled_a_refresh_is_rechecked(
    make: Callable[..., Keyring], wall: Clock
) -> None:
    source = CountingSource(K1)
    keyring = await make(source, cooldown=60).astart()
    verifier = Verifier(keyring, clock=wall)
    body, headers = signed_request({"a": 1}, K2, now=wall.now)
    pending = await verifier.abegin(headers)
    pending.update(body)
    source.secrets = SecretSet([K2, K1])
    assert await keyring.arefresh_after_mismatch() is not None
    assert (await pending.afinish()).secret_id == "k2"
    assert source.calls == 2
    await keyring.aclose()


def test_a_mismatch_refresh_does_not_settle_for_a_fetch_that_began_before_it(
    make: Callable[..., Keyring], mono: Clock
) -> None:
    """A background refresh read the source before the rotation and is still in the air when
    a delivery on the new secret misses: the mismatch refresh waits for it, then fetches anew."""
    source = FirstReadSource(K1)
    keyring = make(source, refresh_interval=100, cooldown=60).start()
    source.gate = threading.Event()
    mono.advance(90)  # past refresh_ahead: serve, and refresh in a thread
    keyring.secret_set()
    assert source.calls == 2  # the background fetch has read k1 only and waits
    source.secrets = SecretSet([K2, K1])  # the operator rotates now
    results: list[SecretSet | None] = []
    waiter = threading.Thread(target=lambda: results.append(keyring.refresh_after_mismatch()))
    waiter.start()
    source.gate.set()
    waiter.join(10)
    (found,) = results
    assert found is not None
    assert found.ids == ("k2", "k1")
    assert source.calls == 3


def test_mismatch_refresh_fetches_once_per_cooldown_none_on_failure(
    make: Callable[..., Keyring], mono: Clock
) -> None:
    source = CountingSource(K1)
    keyring = make(source, cooldown=60).start()
    assert keyring.refresh_after_mismatch() == SecretSet([K1])
    # within the cooldown: no fetch, just the very set already served (nothing newer)
    assert keyring.refresh_after_mismatch() is keyring.secret_set()
    mono.advance(60)
    source.fail = True
    assert keyring.refresh_after_mismatch() is None  # the fetch failed
    assert keyring.secret_set().ids == ("k1",)  # and the cache is untouched
    assert source.calls == 3


async def test_async_mismatch_refresh_respects_cooldown(
    make: Callable[..., Keyring], mono: Clock
) -> None:
    source = CountingSource(K1)
    keyring = await make(source, cooldown=60).astart()
    source.secrets = SecretSet([K2])
    assert await keyring.arefresh_after_mismatch() == SecretSet([K2])
    assert await keyring.arefresh_after_mismatch() is await keyring.asecret_set()
    assert source.calls == 2
    await keyring.aclose()


def test_mismatch_refresh_is_skipped_while_backing_off(
    make: Callable[..., Keyring], mono: Clock
) -> None:
    source = CountingSource(K1)
    keyring = make(source, refresh_interval=10, cooldown=1, backoff_base=30).start()
    source.fail = True
    mono.advance(20)
    keyring.refresh_after_mismatch()  # fails: backoff of 30 s starts
    mono.advance(5)
    assert keyring.refresh_after_mismatch() is keyring.secret_set()  # nothing newer, no fetch
    assert source.calls == 2


# -- failures, staleness and backoff ---------------------------------------------------------


def test_failed_refresh_keeps_last_good_until_max_stale_then_fails_closed(
    make: Callable[..., Keyring], mono: Clock, events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    source = CountingSource(K1)
    keyring = make(source, refresh_interval=100, max_stale=1_000, backoff_max=50).start()
    source.fail = True
    mono.advance(150)  # stale: the TTL entry is gone, last good is not
    caplog.set_level(logging.DEBUG, logger="hookseal")
    assert keyring.secret_set().ids == ("k1",)
    events.wait_for("fetch_failed")
    assert keyring.stats().stale_served == 1
    mono.advance(800)
    assert keyring.secret_set().ids == ("k1",)  # 950 s old: still served
    events.wait_for("fetch_failed", 2)
    mono.advance(100)  # 1050 s old: past max_stale
    with pytest.raises(NoActiveSecret):
        keyring.secret_set()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "hookseal"]
    assert len(errors) == 1
    assert "max_stale" in errors[0].getMessage()
    assert "secret-value" not in caplog.text
    source.fail = False
    mono.advance(100)  # past the backoff: a request fetches again and recovers
    assert keyring.secret_set().ids == ("k1",)


def test_backoff_grows_with_jitter_and_resets_on_success(
    make: Callable[..., Keyring], mono: Clock, events: Events
) -> None:
    source = CountingSource(K1)
    draws = iter([0.0, 1.0, 0.0])
    keyring = make(source, backoff_base=10, random=lambda: next(draws)).start()
    source.fail = True
    keyring.start()  # warm: no fetch
    keyring.refresh_after_mismatch()  # failure 1: 10 s * (0.5 + 0.5 * 0.0) = 5 s
    events.wait_for("fetch_failed", 1)  # (reported after the waiters were woken)
    assert events.last("fetch_failed")["retry_in"] == 5
    mono.advance(60)
    keyring.refresh_after_mismatch()  # failure 2: 20 s * 1.0
    events.wait_for("fetch_failed", 2)
    assert events.last("fetch_failed")["retry_in"] == 20
    mono.advance(60)
    source.fail = False
    keyring.refresh_after_mismatch()  # success resets
    mono.advance(60)
    source.fail = True
    keyring.refresh_after_mismatch()  # failure 1 again: 10 s * 0.5
    events.wait_for("fetch_failed", 3)
    assert events.last("fetch_failed")["retry_in"] == 5


@pytest.mark.parametrize(
    "secrets",
    [
        pytest.param((), id="empty"),
        pytest.param((Secret("gone-value", id="k0", expires_at=WALL0 - 1),), id="all-expired"),
    ],
)
def test_empty_or_all_expired_fetch_is_a_failure(
    make: Callable[..., Keyring], secrets: tuple[Secret, ...]
) -> None:
    source = CountingSource(*secrets)
    with pytest.raises(NoActiveSecret):
        make(source).start()
    assert make(CountingSource(*secrets), allow_empty=True).start().secret_set() == SecretSet(
        secrets
    )


def test_empty_fetch_keeps_the_last_good_set(make: Callable[..., Keyring], mono: Clock) -> None:
    source = CountingSource(K1)
    keyring = make(source).start()
    source.secrets = SecretSet()
    mono.advance(61)
    assert keyring.refresh_after_mismatch() is None
    assert keyring.secret_set().ids == ("k1",)


@pytest.mark.parametrize(("ttl", "expected"), [(None, 300), (1, 10), (120, 120), (10**7, 3600)])
def test_source_ttl_is_the_interval_within_bounds(
    make: Callable[..., Keyring], mono: Clock, events: Events, ttl: float | None, expected: float
) -> None:
    source = CountingSource(K1, ttl=ttl)
    keyring = make(source, refresh_interval=300, min_interval=10, max_interval=3600).start()
    mono.advance(expected * 0.8 - 0.5)
    keyring.secret_set()
    assert source.calls == 1  # not yet refresh_ahead of the clamped interval
    mono.advance(1)
    keyring.secret_set()
    events.wait_for("fetched", 2)
    assert source.calls == 2


def test_expiry_is_enforced_per_request_even_from_a_stale_snapshot(
    make: Callable[..., Keyring], mono: Clock, wall: Clock
) -> None:
    rotate_at = WALL0 + 3_600
    old = Secret("old-secret-value", id="k1", expires_at=rotate_at)
    source = CountingSource(K2, old)
    keyring = make(source, refresh_interval=300).start()
    verifier = Verifier(keyring, clock=wall, leeway=60)
    source.fail = True  # the source goes down and stays down
    wall.advance(3_600 + 59)
    mono.advance(3_659)
    body, headers = signed_request({"a": 1}, Secret("old-secret-value", id="k1"), now=wall.now)
    assert verifier.verify(body, headers).secret_id == "k1"  # inside rotate_at + leeway
    wall.advance(2)
    mono.advance(2)
    body, headers = signed_request({"a": 1}, Secret("old-secret-value", id="k1"), now=wall.now)
    with pytest.raises(SignatureMismatch):
        verifier.verify(body, headers)
    body, headers = signed_request({"a": 1}, K2, now=wall.now)
    assert verifier.verify(body, headers).secret_id == "k2"
    assert keyring.stats().stale_served >= 2  # all of this came from the old snapshot


# -- observability ---------------------------------------------------------------------------


def test_stats_count_fetches_failures_and_matches(
    make: Callable[..., Keyring], mono: Clock, wall: Clock
) -> None:
    source = CountingSource(K2, K1)
    keyring = make(source).start()
    verifier = Verifier(keyring, clock=wall)
    for secret, times in ((K1, 3), (K2, 2)):
        for _ in range(times):
            body, headers = signed_request({"a": 1}, secret, now=wall.now)
            verifier.verify(body, headers)
    mono.advance(7)
    source.fail = True
    keyring.refresh_after_mismatch()
    stats = keyring.stats()
    assert stats == KeyringStats(
        fetches=2,
        fetch_failures=1,
        stale_served=0,
        snapshot_age=7.0,
        mismatch_refreshes=1,
        matches_by_secret_id={"k1": 3, "k2": 2},
        matches_by_fingerprint={
            fingerprint(K1.reveal()): 3,
            fingerprint(K2.reveal()): 2,
        },
    )


def test_events_and_logs_never_carry_secret_values(
    make: Callable[..., Keyring],
    mono: Clock,
    events: Events,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="hookseal")
    source = CountingSource(K1, K2)
    keyring = make(source, refresh_interval=100).start()
    source.fail = True
    mono.advance(150)
    keyring.secret_set()
    events.wait_for("fetch_failed")
    names = [name for name, _ in events.seen]
    # the background fetch is launched before the request reports what it served
    assert names[0] == "fetched"
    assert sorted(names[1:3]) == ["fetch_failed", "stale_served"]
    assert events.seen[0][1]["secret_ids"] == ("k1", "k2")
    text = caplog.text + repr(events.seen) + repr(keyring) + repr(keyring.stats())
    assert "secret-value" not in text
    assert "fetch failed (counting: down)" in caplog.text


def test_a_failing_event_hook_does_not_break_requests(make: Callable[..., Keyring]) -> None:
    def broken(name: str, **fields: Any) -> None:
        raise RuntimeError("observer bug")

    keyring = make(CountingSource(K1), on_event=broken).start()
    assert keyring.secret_set().ids == ("k1",)


def test_a_user_exception_message_is_not_logged(
    make: Callable[..., Keyring], events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    class Leaky(SecretSource):
        def fetch(self) -> Fetched:
            raise ValueError("the value was old-secret-value")

    caplog.set_level(logging.DEBUG, logger="hookseal")
    with pytest.raises(NoActiveSecret) as caught:
        make(Leaky()).start()
    events.wait_for("fetch_failed")  # logged just before this event
    assert "old-secret-value" not in caplog.text + str(caught.value)
    assert "ValueError" in caplog.text


# -- notifications from the source -----------------------------------------------------------


class NotifyingSource(CountingSource):
    """A source that can tell its subscribers the secrets changed."""

    def __init__(self, *secrets: Secret) -> None:
        super().__init__(*secrets)
        self.callbacks: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        self.callbacks.append(callback)
        return lambda: self.callbacks.remove(callback)

    def notify(self) -> None:
        for callback in list(self.callbacks):
            callback()


def test_a_change_notice_refreshes_at_once(make: Callable[..., Keyring], events: Events) -> None:
    source = NotifyingSource(K1)
    keyring = make(source, refresh_interval=3600, cooldown=3600).start()
    source.secrets = SecretSet([K2])
    source.notify()
    events.wait_for("fetched", 2)
    assert keyring.secret_set().ids == ("k2",)
    keyring.close()
    assert source.callbacks == []  # close unsubscribes


def test_a_notice_during_a_fetch_fetches_again_once_it_lands(
    make: Callable[..., Keyring], mono: Clock, events: Events
) -> None:
    source = NotifyingSource(K1)
    keyring = make(source, refresh_interval=100).start()
    source.gate = threading.Event()
    mono.advance(90)
    keyring.secret_set()  # background fetch, blocked: it read (will read) K1
    source.notify()
    source.notify()
    source.secrets = SecretSet([K2])
    source.gate.set()
    events.wait_for("fetched", 3)
    assert keyring.secret_set().ids == ("k2",)
    assert source.calls == 3  # the start, the blocked one, one more for both notices


def test_static_source_keyring(make: Callable[..., Keyring]) -> None:
    keyring = make(StaticSource([K1])).start()
    assert keyring.secret_set().ids == ("k1",)


def test_a_refresh_begun_from_a_loop_that_then_closed_still_lands(
    make: Callable[..., Keyring], mono: Clock, events: Events
) -> None:
    """asyncio.run() per call: the loop that asked for the refresh is gone before the fetch
    ends; the fetch is the keyring's, so it lands all the same."""
    source = CountingSource(K1)
    keyring = make(source, refresh_interval=100).start()
    source.gate = threading.Event()
    source.secrets = SecretSet([K2])
    mono.advance(90)
    assert asyncio.run(keyring.asecret_set()).ids == ("k1",)  # that loop is closed now
    source.gate.set()
    events.wait_for("fetched", 2)
    assert keyring.secret_set().ids == ("k2",)
    assert keyring.stats().fetches == source.calls == 2


def test_start_times_out_on_a_hanging_source(make: Callable[..., Keyring]) -> None:
    source = CountingSource(K1)
    source.gate = threading.Event()
    with pytest.raises(NoActiveSecret, match=r"within 0\.05 s"):
        make(source).start(timeout=0.05)


def test_a_closed_cold_keyring_answers_503(make: Callable[..., Keyring]) -> None:
    source = CountingSource(K1)
    keyring = make(source)
    keyring.close()
    with pytest.raises(NoActiveSecret):
        keyring.secret_set()
    assert source.calls == 0
