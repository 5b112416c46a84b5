"""A bounded chaos test of the keyring (issue 8, "Done when").

Threads, asyncio tasks on a long-lived loop and short-lived loops (``asyncio.run`` per request)
verify together through one keyring while its source rotates, fails, hangs and returns garbage.
A conductor moves through phases each round and publishes which requests are valid; workers
check every answer against it:

* no valid request is refused: one signed with the current secret, or with the previous one
  before its ``rotate_at`` + leeway, whatever the source is doing, and one signed with a secret
  just added at the source (the conductor lets a cooldown pass first, as the mismatch refresh
  promises nothing sooner);
* no request is accepted outside its secret's window: the previous secret after ``rotate_at`` +
  leeway on the injected wall clock (a request whose verification straddles that moment may go
  either way), or a forged one;
* at most one thread is ever inside the source, every fetch counted reached it, and after close
  no thread of the keyring's is left and no loop complained.

Bounded in count (``MAX_REQUESTS`` per worker) and time (each wait has a generous bound; the
whole test a deadline). Nothing asserts a timing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from hookseal import Keyring, NoActiveSecret, Secret, SecretSet, SignatureMismatch, Verifier
from hookseal.sources import Fetched, SecretSource, SourceError
from hookseal.testing import ManualClock, forged_request, signed_request

LEEWAY = 5.0
ROTATE_IN = 30.0  # the previous secret expires this long after a rotation (wall clock)
COOLDOWN = 0.2
FETCH_TIMEOUT = 2.0
BOUND = 20.0  # a failure bound for any one wait
DEADLINE = 50.0  # the whole test, as a failure bound
MAX_REQUESTS = 4_000  # per worker
PAUSE = 0.004  # between a worker's requests: room for the others on a small machine
CHAOS = ("fail", "garbage", "hang", "garbage")  # one per round
THREAD_WORKERS = 4
TASK_WORKERS = 4
SHORT_LOOP_WORKERS = 2


class ChaosSource(SecretSource):
    """A source the conductor steers: ok, fail, hang (until released) or garbage."""

    name = "chaos"

    def __init__(self, secrets: SecretSet, wall: ManualClock) -> None:
        self.secrets = secrets
        self.mode = "ok"
        self.release = threading.Event()
        self.calls = 0
        self.inside = 0
        self.most_inside = 0
        self._wall = wall
        self._garbage = itertools.cycle(("object", "empty", "expired", "raise"))
        self._lock = threading.Lock()

    def enter(self) -> str:
        with self._lock:
            self.calls += 1
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            return self.mode

    def leave(self) -> None:
        with self._lock:
            self.inside -= 1

    def answer(self, mode: str) -> Fetched:
        if mode == "fail":
            raise SourceError("chaos: down")
        if mode != "garbage":
            return Fetched(self.secrets)
        kind = next(self._garbage)
        if kind == "empty":
            return Fetched(SecretSet())
        if kind == "expired":
            return Fetched(SecretSet([Secret("chaos-gone", id="g", expires_at=self._wall() - 1)]))
        if kind == "raise":
            raise ValueError("chaos: garbage")
        return object()  # type: ignore[return-value]  # a source breaking its contract

    def fetch(self) -> Fetched:
        mode = self.enter()
        try:
            if mode == "hang":
                self.release.wait(BOUND)
            return self.answer(mode)
        finally:
            self.leave()


class AsyncOnlyChaosSource(ChaosSource):
    """The same, fetched only with asyncio (on the keyring's own loop)."""

    @property
    def async_only(self) -> bool:
        return True

    def fetch(self) -> Fetched:
        raise AssertionError("an async-only source is never fetched synchronously")

    async def afetch(self) -> Fetched:
        mode = self.enter()
        try:
            if mode == "hang":
                for _ in range(int(BOUND / 0.01)):
                    if self.release.is_set():
                        break
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0)
            return self.answer(mode)
        finally:
            self.leave()


@dataclass(frozen=True)
class Plan:
    """What the conductor says is valid now (workers read it whole, once per request)."""

    number: int
    current: Secret  # always valid
    previous: Secret | None  # the sender still signs with it; valid until expires + LEEWAY
    expires: float  # rotate_at of ``previous``
    forged: bool  # also send forged requests (only when mismatches are allowed)


class Board:
    """The shared record: the plan, each worker's acknowledgement, the verdicts."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.stop = threading.Event()
        self.acks: dict[str, int] = {}
        self.violations: list[str] = []
        self.crashed = False
        self.counts = {"accepted": 0, "refused": 0, "either": 0, "unavailable": 0}
        self._lock = threading.Lock()

    def publish(self, **changes: Any) -> Plan:
        fields = dict(self.plan.__dict__, **changes, number=self.plan.number + 1)
        self.plan = Plan(**fields)
        return self.plan

    def crash(self, what: str) -> None:
        with self._lock:
            self.violations.append(what)
            self.crashed = True

    def ack(self, worker: str, number: int) -> None:
        with self._lock:
            self.acks[worker] = number

    def everyone_on(self, number: int, workers: int) -> bool:
        with self._lock:
            return len(self.acks) == workers and min(self.acks.values()) >= number

    def verdict(self, expected: str, got: str, what: str) -> None:
        with self._lock:
            self.counts[got] += 1
            if expected not in (got, "either"):
                self.violations.append(f"{what}: expected {expected}, got {got}")


def choose(plan: Plan, turn: int) -> tuple[str, Secret | None]:
    kinds: list[tuple[str, Secret | None]] = [("current", plan.current)]
    if plan.previous is not None:
        kinds.append(("previous", plan.previous))
    if plan.forged:
        kinds.append(("forged", None))
    return kinds[turn % len(kinds)]


def expectation(kind: str, plan: Plan, before: float, after: float) -> str:
    if kind == "current":
        return "accepted"
    if kind == "forged":
        return "refused"
    end = plan.expires + LEEWAY  # the verification moment lies between before and after
    if after < end - 0.5:
        return "accepted"
    if before > end + 0.5:
        return "refused"
    return "either"


def request_for(kind: str, secret: Secret | None, now: float) -> tuple[bytes, dict[str, str]]:
    if secret is None:
        return forged_request({"chaos": kind}, now=now)
    return signed_request({"chaos": kind, "id": secret.id}, secret, now=now)


class Workers:
    """Starts every kind of worker; each loops until stopped or MAX_REQUESTS."""

    def __init__(self, board: Board, verifier: Verifier, wall: ManualClock) -> None:
        self.board = board
        self.verifier = verifier
        self.wall = wall
        self.threads: list[threading.Thread] = []
        self.task_loop: asyncio.AbstractEventLoop | None = None
        self.count = THREAD_WORKERS + TASK_WORKERS + SHORT_LOOP_WORKERS

    def start(self) -> None:
        for index in range(THREAD_WORKERS):
            self._thread(self._sync_worker, f"thread-{index}")
        self._thread(self._task_workers, "tasks")
        for index in range(SHORT_LOOP_WORKERS):
            self._thread(self._short_loop_worker, f"short-{index}")

    def _thread(self, target: Callable[[str], None], name: str) -> None:
        def run(worker: str) -> None:
            try:
                target(worker)
            except BaseException as exc:  # recorded: the conductor stops waiting at once
                self.board.crash(f"{worker} crashed: {exc!r}")

        thread = threading.Thread(target=run, args=(name,), name=f"chaos-{name}")
        self.threads.append(thread)
        thread.start()

    def _one(self, name: str, turn: int) -> tuple[Plan, str, float, bytes, dict[str, str]]:
        plan = self.board.plan
        kind, secret = choose(plan, turn)
        before = self.wall()
        body, headers = request_for(kind, secret, before)
        return plan, kind, before, body, headers

    def _judge(self, name: str, plan: Plan, kind: str, before: float, got: str) -> None:
        expected = expectation(kind, plan, before, self.wall())
        self.board.verdict(expected, got, f"{name} plan {plan.number} {kind}")
        self.board.ack(name, plan.number)

    def _sync_worker(self, name: str) -> None:
        pause = threading.Event()
        for turn in range(MAX_REQUESTS):
            if self.board.stop.is_set():
                return
            plan, kind, before, body, headers = self._one(name, turn)
            self._judge(name, plan, kind, before, _outcome(self.verifier.verify, body, headers))
            pause.wait(PAUSE)

    def _short_loop_worker(self, name: str) -> None:
        pause = threading.Event()
        for turn in range(MAX_REQUESTS):
            if self.board.stop.is_set():
                return
            plan, kind, before, body, headers = self._one(name, turn)
            got = asyncio.run(_aoutcome(self.verifier, body, headers))
            self._judge(name, plan, kind, before, got)
            pause.wait(PAUSE)

    def _task_workers(self, name: str) -> None:
        async def worker(task_name: str) -> None:
            for turn in range(MAX_REQUESTS):
                if self.board.stop.is_set():
                    return
                plan, kind, before, body, headers = self._one(task_name, turn)
                got = await _aoutcome(self.verifier, body, headers)
                self._judge(task_name, plan, kind, before, got)
                await asyncio.sleep(PAUSE)

        async def main() -> None:
            self.task_loop = asyncio.get_running_loop()
            await asyncio.gather(*(worker(f"{name}-{i}") for i in range(TASK_WORKERS)))
            others = asyncio.all_tasks() - {asyncio.current_task()}
            assert not others, f"tasks left on the long-lived loop: {others}"

        asyncio.run(main())

    def join(self) -> None:
        self.board.stop.set()
        for thread in self.threads:
            thread.join(BOUND)
        assert not [t.name for t in self.threads if t.is_alive()]


def _outcome(verify: Callable[[bytes, dict[str, str]], object], *args: Any) -> str:
    try:
        verify(*args)
    except SignatureMismatch:
        return "refused"
    except NoActiveSecret:
        return "unavailable"
    return "accepted"


async def _aoutcome(verifier: Verifier, body: bytes, headers: dict[str, str]) -> str:
    try:
        await verifier.averify(body, headers)
    except SignatureMismatch:
        return "refused"
    except NoActiveSecret:
        return "unavailable"
    return "accepted"


class Conductor:
    """Moves the source and the wall clock through each round's phases."""

    def __init__(self, source: ChaosSource, keyring: Keyring, board: Board, wall: ManualClock):
        self.source = source
        self.keyring = keyring
        self.board = board
        self.wall = wall
        self.fetched = 0
        self._cond = threading.Lock()
        self.started = time.monotonic()

    def on_event(self, event: str, **fields: Any) -> None:
        if event == "fetched":
            with self._cond:
                self.fetched += 1

    def until(self, what: str, condition: Callable[[], bool]) -> None:
        pause = threading.Event()
        for _ in range(int(BOUND / 0.01)):
            assert not self.board.crashed, self.board.violations
            if condition():
                return
            pause.wait(0.01)
        assert condition(), f"gave up waiting for {what}"

    def healthy(self) -> None:
        """The source answers again and a fetch has landed since (no backoff, no hung fetch)."""
        with self._cond:
            seen = self.fetched
        self.source.mode = "ok"
        self.source.release.set()
        self.until("a healthy fetch", lambda: self.fetched > seen)

    def quiet(self) -> None:
        """Only valid, known requests from now on; then let a cooldown pass, so the next
        mismatch claims a fresh refresh."""
        plan = self.board.publish(forged=False)
        self.until("every worker on the quiet plan", lambda: self._on(plan))
        threading.Event().wait(2 * COOLDOWN)

    def _on(self, plan: Plan) -> bool:
        return self.board.everyone_on(plan.number, self._workers)

    def run(self, workers: int) -> None:
        self._workers = workers
        for number, chaos in enumerate(CHAOS, start=1):
            assert time.monotonic() - self.started < DEADLINE, "the chaos test ran too long"
            self.healthy()
            self.quiet()
            previous = self.board.plan.current
            new = Secret(f"chaos-secret-{number}", id=f"k{number}")
            expires = self.wall() + ROTATE_IN
            retiring = Secret(previous.reveal(), id=previous.id, expires_at=expires)
            self.source.secrets = SecretSet([new, retiring])  # the rotation
            self.board.publish(current=new, previous=previous, expires=expires)
            self.until("the keyring to learn the new secret", partial(self._knows, new.id))
            threading.Event().wait(0.3)
            self.source.release = threading.Event()
            self.source.mode = chaos
            threading.Event().wait(FETCH_TIMEOUT + 0.5 if chaos == "hang" else 0.6)
            self.healthy()
            self.wall.advance(ROTATE_IN + LEEWAY + 1)  # the previous secret has expired
            self.board.publish(forged=True)
            threading.Event().wait(0.4)
            self.board.publish(previous=None, forged=False)

    def _knows(self, secret_id: str) -> bool:
        try:
            return secret_id in self.keyring.secret_set().ids
        except NoActiveSecret:
            return False


def hookseal_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("hookseal")]


@pytest.fixture
def loop_complaints(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    caplog.set_level(logging.WARNING, logger="asyncio")
    caplog.set_level(logging.WARNING, logger="concurrent.futures")

    def complaints() -> list[str]:
        return [
            r.getMessage()
            for r in caplog.records
            if r.name in ("asyncio", "concurrent.futures") and r.levelno >= logging.WARNING
        ]

    return complaints


@pytest.mark.parametrize("kind", [ChaosSource, AsyncOnlyChaosSource], ids=["sync", "async-only"])
def test_chaos(kind: type[ChaosSource], loop_complaints: Callable[[], list[str]]) -> None:
    wall = ManualClock(1_700_000_000.0)
    first = Secret("chaos-secret-0", id="k0")
    source = kind(SecretSet([first]), wall)
    board = Board(Plan(0, current=first, previous=None, expires=0.0, forged=False))
    conductor_events: list[Callable[..., None]] = []

    def on_event(event: str, **fields: Any) -> None:
        for hook in conductor_events:
            hook(event, **fields)

    keyring = Keyring(
        source,
        refresh_interval=0.3,
        min_interval=0.05,
        cooldown=COOLDOWN,
        fetch_timeout=FETCH_TIMEOUT,
        backoff_base=0.02,
        backoff_max=0.2,
        clock=wall,
        on_event=on_event,
    ).start()
    conductor = Conductor(source, keyring, board, wall)
    conductor_events.append(conductor.on_event)
    workers = Workers(board, Verifier(keyring, clock=wall, leeway=LEEWAY), wall)
    workers.start()
    try:
        conductor.run(workers.count)
    finally:
        source.release.set()
        workers.join()
        keyring.close()
    stats = keyring.stats()
    print(f"\nchaos ({kind.__name__}): {board.counts}, {stats}")
    assert board.violations == []
    assert board.counts["unavailable"] == 0  # never cold, never past max_stale
    assert board.counts["accepted"] > 0
    assert board.counts["refused"] > 0  # expired and forged requests were tried and refused
    assert stats.mismatch_refreshes >= len(CHAOS)
    assert stats.fetch_failures > 0
    assert source.most_inside == 1
    assert stats.fetches == source.calls  # every fetch counted reached the source
    conductor.until("the keyring's threads to end", lambda: not hookseal_threads())
    assert loop_complaints() == []
