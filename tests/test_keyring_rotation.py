"""No valid request is refused during a rotation: the reproduction of issue 8, item 3.

Many requests signed with the new secret arrive at the moment of rotation, from threads and
from asyncio tasks on several loops, while a slow ``on_event`` hook runs (a metrics exporter).
Before the fix the first mismatch claimed the cooldown, ran the hook, and only then opened the
fetch: every mismatch in that gap saw no fetch in the air and was refused.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hookseal import Keyring, Secret, SecretSet, SignatureMismatch, Verifier
from hookseal.sources import Fetched, SecretSource
from hookseal.testing import ManualClock, signed_request

ROUNDS = 8
CALLERS = 32
LOOPS = 4  # the asyncio case: CALLERS tasks spread over this many loops (one thread each)


class RotatingSource(SecretSource):
    """An in-memory source the test rotates; counts the fetches that reached it."""

    name = "rotating"

    def __init__(self, secrets: SecretSet) -> None:
        self.secrets = secrets
        self.calls = 0
        self._lock = threading.Lock()

    def fetch(self) -> Fetched:
        with self._lock:
            self.calls += 1
        return Fetched(self.secrets)


def slow_hook(event: str, **fields: Any) -> None:
    time.sleep(0.01)  # a metrics exporter doing I/O


def no_hook(event: str, **fields: Any) -> None:
    return None


HOOKS = [pytest.param(slow_hook, id="10ms-hook"), pytest.param(no_hook, id="no-hook")]


class Rotation:
    """A keyring on a manual monotonic clock (so the cooldown passes between rounds and never
    within one) over a source the test rotates."""

    def __init__(self, hook: Callable[..., None]) -> None:
        self.first = Secret("rotation-secret-0", id="k0")
        self.source = RotatingSource(SecretSet([self.first]))
        self.mono = ManualClock(1_000.0)
        self.keyring = Keyring(
            self.source, refresh_interval=3_600, cooldown=60, monotonic=self.mono, on_event=hook
        ).start()
        self.verifier = Verifier(self.keyring)
        self.previous = self.first

    def rotate(self, number: int) -> tuple[bytes, dict[str, str]]:
        """Rotate at the source; return a request signed with the new secret only."""
        new = Secret(f"rotation-secret-{number}", id=f"k{number}")
        self.source.secrets = SecretSet([new, self.previous])
        self.previous = new
        self.mono.advance(61)  # the last round's refresh is a cooldown ago
        return signed_request({"round": number}, new)


@pytest.fixture
def rotation_of() -> Iterator[Callable[[Callable[..., None]], Rotation]]:
    made: list[Rotation] = []

    def build(hook: Callable[..., None]) -> Rotation:
        made.append(Rotation(hook))
        return made[-1]

    yield build
    for rotation in made:
        rotation.keyring.close()


def run_threads(target: Callable[[], None], count: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)


def threads_deliver(verifier: Verifier, body: bytes, headers: dict[str, str]) -> list[bool]:
    """CALLERS threads deliver the request at the same moment; True for each accepted."""
    outcomes: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CALLERS)

    def deliver() -> None:
        barrier.wait()
        try:
            verifier.verify(body, headers)
            accepted = True
        except SignatureMismatch:
            accepted = False
        with lock:
            outcomes.append(accepted)

    run_threads(deliver, CALLERS)
    return outcomes


def tasks_deliver(verifier: Verifier, body: bytes, headers: dict[str, str]) -> list[bool]:
    """CALLERS asyncio tasks, on LOOPS loops started at the same moment, deliver the request."""
    outcomes: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(LOOPS)

    async def one() -> bool:
        try:
            await verifier.averify(body, headers)
        except SignatureMismatch:
            return False
        return True

    async def tasks() -> list[bool]:
        barrier.wait()
        return list(await asyncio.gather(*(one() for _ in range(CALLERS // LOOPS))))

    def loop_thread() -> None:
        results = asyncio.run(tasks())
        with lock:
            outcomes.extend(results)

    run_threads(loop_thread, LOOPS)
    return outcomes


@pytest.mark.parametrize("hook", HOOKS)
def test_threads_signed_with_the_new_secret_at_rotation_are_all_accepted(
    rotation_of: Callable[[Callable[..., None]], Rotation], hook: Callable[..., None]
) -> None:
    rotation = rotation_of(hook)
    outcomes: list[bool] = []
    for number in range(1, ROUNDS + 1):
        outcomes += threads_deliver(rotation.verifier, *rotation.rotate(number))
    refused = outcomes.count(False)
    print(f"\nthreads, {hook.__name__}: {refused} of {len(outcomes)} refused")
    assert len(outcomes) == ROUNDS * CALLERS
    assert refused == 0
    assert rotation.keyring.stats().mismatch_refreshes == ROUNDS  # one fetch per rotation
    assert rotation.source.calls == 1 + ROUNDS


@pytest.mark.parametrize("hook", HOOKS)
def test_tasks_signed_with_the_new_secret_at_rotation_are_all_accepted(
    rotation_of: Callable[[Callable[..., None]], Rotation], hook: Callable[..., None]
) -> None:
    rotation = rotation_of(hook)
    outcomes: list[bool] = []
    for number in range(1, ROUNDS + 1):
        outcomes += tasks_deliver(rotation.verifier, *rotation.rotate(number))
    refused = outcomes.count(False)
    print(f"\ntasks on {LOOPS} loops, {hook.__name__}: {refused} of {len(outcomes)} refused")
    assert len(outcomes) == ROUNDS * CALLERS
    assert refused == 0
    assert rotation.source.calls == 1 + ROUNDS
