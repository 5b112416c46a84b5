"""Where the keyring's fetches run (hookseal._flight): on threads and a loop of its own.

Issue 8, item 7: a hung sync source used to run in the event loop's default executor; each
attempt after a timeout took another of its threads until ``asyncio.to_thread`` and
``getaddrinfo`` (every outgoing connection of the app) waited behind them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from hookseal import Keyring, NoActiveSecret, Secret, SecretSet
from hookseal._futures import await_done, in_own_thread, shared_future
from hookseal.sources import Fetched, SecretSource, SourceError

K1 = Secret("flight-secret-value-1", id="k1")
BOUND = 15.0  # a failure bound for waiting, never the thing measured
HANG = 60.0  # a hung source is released by the test (or gives up) long after BOUND


def hookseal_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("hookseal")]


def until(condition: Callable[[], bool]) -> bool:
    pause = threading.Event()
    for _ in range(int(BOUND / 0.02)):
        if condition():
            return True
        pause.wait(0.02)
    return condition()


class HungSource(SecretSource):
    """A sync source whose fetch blocks until released; counts who is inside at once."""

    name = "hung"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0
        self.inside = 0
        self.most_inside = 0
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def fetch(self) -> Fetched:
        with self._lock:
            self.calls += 1
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            self.threads.add(threading.current_thread().name)
        try:
            self.release.wait(HANG)
            return Fetched(SecretSet([K1]))
        finally:
            with self._lock:
                self.inside -= 1


@pytest.fixture
def hung() -> Iterator[HungSource]:
    source = HungSource()
    yield source
    source.release.set()


async def test_a_hung_sync_source_never_starves_the_default_executor(hung: HungSource) -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=2))  # a small pool fills fast
    keyring = Keyring(hung, fetch_timeout=0.1, backoff_base=0.01, backoff_max=0.02)
    try:
        for _ in range(10):  # each cold request waits fetch_timeout, then 503
            with pytest.raises(NoActiveSecret):
                await keyring.asecret_set()
            assert await asyncio.wait_for(asyncio.to_thread(lambda: 42), BOUND) == 42
            assert await asyncio.wait_for(loop.getaddrinfo("127.0.0.1", 80), BOUND)
            await asyncio.sleep(0.03)  # past the backoff
        assert hung.calls == 1  # given up on, but still inside: no second fetch
        assert hung.most_inside == 1
        assert all(name.startswith("hookseal-keyring-hung") for name in hung.threads)
        assert keyring.stats().fetch_failures >= 1
    finally:
        hung.release.set()
        await keyring.aclose()
    assert await asyncio.to_thread(until, lambda: not hookseal_threads())


def test_sync_callers_never_have_two_threads_in_a_hung_source(hung: HungSource) -> None:
    keyring = Keyring(hung, fetch_timeout=0.1, backoff_base=0.01, backoff_max=0.02)
    pause = threading.Event()
    try:
        for _ in range(10):
            with pytest.raises(NoActiveSecret):
                keyring.secret_set()
            pause.wait(0.03)
        assert hung.most_inside == 1
        hung.release.set()  # the source answers at last: the next request may fetch again
        assert until(lambda: hung.inside == 0)
        assert until(lambda: _served(keyring))
        assert hung.most_inside == 1
    finally:
        keyring.close()
    assert until(lambda: not hookseal_threads())


def _served(keyring: Keyring) -> bool:
    try:
        return keyring.secret_set().ids == ("k1",)
    except NoActiveSecret:
        return False


def test_a_warm_keyring_keeps_no_thread(hung: HungSource) -> None:
    hung.release.set()
    with Keyring(hung) as keyring:
        assert until(lambda: not hookseal_threads())  # the start-up fetch's thread ended
        for _ in range(100):
            assert keyring.secret_set().ids == ("k1",)
        assert not hookseal_threads()


# -- async-only sources: afetch on the keyring's own loop -----------------------------------


class AsyncOnlySource(SecretSource):
    """Fetches only with asyncio, on whatever loop runs it; records which loops those were."""

    name = "aonly"

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.closed_on: asyncio.AbstractEventLoop | None = None
        self.hang = False
        self.cancelled = 0

    @property
    def async_only(self) -> bool:
        return True

    def fetch(self) -> Fetched:
        raise AssertionError("an async-only source is never fetched synchronously")

    async def afetch(self) -> Fetched:
        self.loops.append(asyncio.get_running_loop())
        if self.hang:
            try:
                await asyncio.sleep(BOUND)
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        await asyncio.to_thread(lambda: None)  # its own to_thread runs in the keyring's pool
        return Fetched(SecretSet([K1]))

    async def aclose(self) -> None:
        self.closed_on = asyncio.get_running_loop()


def test_an_async_only_source_runs_on_one_loop_of_the_keyring() -> None:
    source = AsyncOnlySource()
    keyring = Keyring(source, refresh_interval=10, min_interval=0.01, cooldown=0)

    async def caller() -> None:
        await keyring.astart()
        await keyring.arefresh_after_mismatch()

    asyncio.run(caller())  # a loop that ends at once
    keyring.refresh_after_mismatch()  # a thread, no loop at all
    assert len(source.loops) == 3
    assert len(set(source.loops)) == 1  # one loop of the keyring's, kept across fetches
    keyring.close()
    assert source.closed_on is source.loops[0]  # closed on the loop it fetched on
    assert source.loops[0].is_closed()
    assert until(lambda: not hookseal_threads())


async def test_a_hung_async_only_source_is_bounded_and_cancelled_by_aclose() -> None:
    source = AsyncOnlySource()
    source.hang = True
    keyring = Keyring(source, fetch_timeout=0.2)
    with pytest.raises(NoActiveSecret):
        await keyring.asecret_set()
    assert await asyncio.to_thread(until, lambda: source.cancelled == 1)  # by fetch_timeout
    assert keyring.stats().fetch_failures == 1
    await keyring.aclose()
    assert source.closed_on is not None
    assert await asyncio.to_thread(until, lambda: not hookseal_threads())


# -- waiting on a flight from any loop ---------------------------------------------------------


def test_a_waiter_whose_loop_closed_is_dropped_quietly(caplog: pytest.LogCaptureFixture) -> None:
    future: concurrent.futures.Future[None] = shared_future()

    async def wait_briefly() -> bool:
        return await await_done(future, 0.01)

    assert asyncio.run(wait_briefly()) is False  # that loop is closed now
    with caplog.at_level(logging.DEBUG):
        future.set_result(None)  # the wake-up for the closed loop is dropped
    assert not caplog.records


async def test_a_cancelled_waiter_does_not_cancel_the_shared_future() -> None:
    future: concurrent.futures.Future[int] = shared_future()
    waiter = asyncio.create_task(await_done(future, None))
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert not future.cancel()  # "running": nobody can cancel it
    future.set_result(7)
    assert await await_done(future, 0) is True


async def test_the_default_afetch_runs_in_its_own_thread(hung: HungSource) -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
    for _ in range(3):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(hung.afetch(), 0.05)
    assert await asyncio.wait_for(asyncio.to_thread(lambda: 1), BOUND) == 1  # not starved
    assert hung.threads == {"hookseal-hung-fetch"}
    hung.release.set()
    assert await asyncio.to_thread(until, lambda: hung.inside == 0)


async def test_in_own_thread_passes_results_and_errors() -> None:
    assert await in_own_thread(lambda: 5, name="hookseal-test") == 5

    def broken() -> int:
        raise SourceError("down")

    with pytest.raises(SourceError, match="down"):
        await in_own_thread(broken, name="hookseal-test")
