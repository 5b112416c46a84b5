"""The keyring's refresh policy: what to serve, when to fetch, and what a fetch's outcome changes.

No I/O, no threads, no clock of its own. Every call is given the time and leaves what must be
done once the caller's lock is released in an outbox (:meth:`RefreshPolicy.drain`): flights to
launch, flight results to hand to their waiters, events and log lines to report. So refresh
ahead, ``max_stale``, the mismatch cooldown, backoff with jitter, single flight and the counters
are all tested with fake clocks alone; the :class:`~hookseal.keyring.Keyring` calls the policy
under one lock and runs the flights (:mod:`hookseal._flight`).

Not thread-safe by itself: its one caller holds a lock around every call, and a step that
other requests depend on (claiming the cooldown and opening the fetch, landing a fetch and
opening the next) happens inside one call, so it is atomic.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ._futures import shared_future
from .errors import ConfigurationError
from .secrets import SecretSet
from .sources._base import Fetched, SourceError

__all__ = [
    "FetchCancelled",
    "Flight",
    "KeyringStats",
    "RefreshPolicy",
    "RefreshSettings",
    "Report",
    "Step",
]


@dataclass(frozen=True)
class KeyringStats:
    """A snapshot of the keyring's counters (for metrics and health checks).

    ``fetches`` counts fetches that reached the source, ``fetch_failures`` the failed ones
    (a fetch given up on after ``fetch_timeout`` counts as failed); ``stale_served`` the
    requests answered from a snapshot older than its interval; ``snapshot_age`` is the age in
    seconds of the set being served (None before the first success); ``matches_by_secret_id``
    shows when traffic on a retired secret stops; ``matches_by_fingerprint`` counts the same
    matches by the value's fingerprint (an id may name another value after a rotation's
    relabel, a value fingerprint never does).
    """

    fetches: int = 0
    fetch_failures: int = 0
    stale_served: int = 0
    snapshot_age: float | None = None
    mismatch_refreshes: int = 0
    matches_by_secret_id: dict[str, int] = field(default_factory=dict)
    matches_by_fingerprint: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RefreshSettings:
    """The keyring's tuning, checked once (see :class:`~hookseal.keyring.Keyring`)."""

    refresh_interval: float = 300.0
    cooldown: float = 60.0
    max_stale: float = 86_400.0
    fetch_timeout: float = 10.0
    allow_empty: bool = False
    refresh_ahead: float = 0.8
    min_interval: float = 10.0
    max_interval: float = 86_400.0
    backoff_base: float = 1.0
    backoff_max: float = 300.0

    @classmethod
    def checked(
        cls,
        refresh_interval: float,
        *,
        cooldown: float,
        max_stale: float,
        fetch_timeout: float,
        allow_empty: bool,
        refresh_ahead: float,
        min_interval: float | None,
        max_interval: float | None,
        backoff_base: float,
        backoff_max: float,
    ) -> RefreshSettings:
        """The settings, or a ConfigurationError naming the first bad one."""
        positive(refresh_interval=refresh_interval, max_stale=max_stale)
        positive(fetch_timeout=fetch_timeout, backoff_base=backoff_base, backoff_max=backoff_max)
        if bad_number(cooldown) or cooldown < 0:
            raise ConfigurationError("cooldown must be a non-negative number of seconds")
        if bad_number(refresh_ahead) or not 0 < refresh_ahead <= 1:
            raise ConfigurationError("refresh_ahead must be a fraction in (0, 1]")
        low = min(10.0, float(refresh_interval)) if min_interval is None else min_interval
        high = max(86_400.0, float(refresh_interval)) if max_interval is None else max_interval
        positive(min_interval=low, max_interval=high)
        if not low <= refresh_interval <= high:
            raise ConfigurationError("need min_interval <= refresh_interval <= max_interval")
        return cls(
            refresh_interval=float(refresh_interval),
            cooldown=float(cooldown),
            max_stale=float(max_stale),
            fetch_timeout=float(fetch_timeout),
            allow_empty=bool(allow_empty),
            refresh_ahead=float(refresh_ahead),
            min_interval=float(low),
            max_interval=float(high),
            backoff_base=float(backoff_base),
            backoff_max=float(backoff_max),
        )


class FetchCancelled(SourceError):
    """The fetch was cancelled (the keyring closed): not a failure, nothing backs off."""


class Flight:
    """One fetch the keyring opened: its number, when it opened (monotonic), and the result
    every waiter shares (the new set, or None when it failed or was given up on)."""

    __slots__ = ("abandoned", "done", "seq", "started")

    def __init__(self, seq: int, started: float) -> None:
        self.seq = seq
        self.started = started
        self.abandoned = False
        self.done = shared_future()

    def __repr__(self) -> str:
        return f"Flight(seq={self.seq}, abandoned={self.abandoned})"


class Report(NamedTuple):
    """Something to tell once the lock is released: an ``on_event`` event, a log line, or both."""

    event: str | None
    fields: dict[str, Any]
    level: int = 0  # a logging level; 0: no log line
    message: str = ""
    args: tuple[Any, ...] = ()


class Step(NamedTuple):
    """What the caller does after releasing the lock, in this order: launch the flights opened
    (so they run before anyone is woken), hand flights their results (wake the waiters), and
    only then report (a slow user hook never delays a request waiting for a fetch)."""

    launch: tuple[Flight, ...]
    resolve: tuple[tuple[Flight, SecretSet | None], ...]
    reports: tuple[Report, ...]


class _Snapshot(NamedTuple):
    secrets: SecretSet
    fetched_at: float  # monotonic
    interval: float


class RefreshPolicy:
    """The refresh engine's decisions and state; every method is called with the caller's lock
    held and ``now`` read from the monotonic clock. Flights: ``_flight`` is the one requests
    wait on; ``_running`` the one whose fetch has not come back yet (it outlives ``_flight``
    when a hung fetch is given up on). No flight opens while one is running: at most one
    thread is ever inside the source."""

    def __init__(
        self,
        settings: RefreshSettings,
        *,
        name: str,
        source_name: str,
        random: Callable[[], float],
    ) -> None:
        self.settings = settings
        self.name = name
        self.source_name = source_name
        self._random = random
        # (set, monotonic time until which it is served without asking the policy)
        self.hot: tuple[SecretSet, float] | None = None
        self.last_error = "no fetch yet"
        self.closed = False
        self._last_good: _Snapshot | None = None
        self._flight: Flight | None = None
        self._running: Flight | None = None
        self._seq = 0
        self._succeeded_seq = 0  # the number of the last flight that brought a set
        self._again = False  # fetch once more when the flight in the air lands
        self._mismatch_need: int | None = None  # the first flight the last claim waits for
        self._last_mismatch = -math.inf
        self._failures = 0  # consecutive
        self._next_attempt = -math.inf  # backoff ends here
        self._too_stale_reported = False
        self._stale_reported: _Snapshot | None = None
        self._fetches = 0
        self._fetch_failures = 0
        self._stale_served = 0
        self._mismatch_refreshes = 0
        self._matches: dict[str, int] = {}
        self._matches_by_fingerprint: dict[str, int] = {}
        self._launch: list[Flight] = []
        self._resolve: list[tuple[Flight, SecretSet | None]] = []
        self._reports: list[Report] = []

    def drain(self) -> Step:
        """Take what the calls so far left to do outside the lock."""
        step = Step(tuple(self._launch), tuple(self._resolve), tuple(self._reports))
        self._launch.clear()
        self._resolve.clear()
        self._reports.clear()
        return step

    # -- requests -----------------------------------------------------------------------------

    def serve(self, now: float) -> tuple[SecretSet | None, Flight | None]:
        """(the set to serve, None when cold or too stale; then the flight to wait for, if any).
        Past ``refresh_ahead`` of the interval a served set also opens a background flight."""
        self._give_up_if_hung(now)
        snap = self._last_good
        if snap is None or now - snap.fetched_at > self.settings.max_stale:
            if snap is not None:
                self._report_too_stale(now - snap.fetched_at)
            return None, self._join_or_open(now, force=False)
        age = now - snap.fetched_at
        stale = age >= snap.interval
        if stale:
            self._stale_served += 1
            if self._stale_reported is not snap:
                self._stale_reported = snap
                self._reports.append(Report("stale_served", {"age": age}))
        if stale or age >= self.settings.refresh_ahead * snap.interval:
            if self._may_open(now):
                self._open(now)
            elif self._running is not None and self._flight is None and self._not_backing_off(now):
                self._again = True  # a given-up fetch still holds the source: go once it is back
        return snap.secrets, None

    def claim_mismatch(self, now: float) -> tuple[int | None, bool, Flight | None]:
        """A signature matched no secret. Returns (the number of the first flight that can
        answer it, None for none; whether this call claimed the cooldown; the flight in the
        air). Claiming and opening the fetch are one step: no request can see the cooldown
        taken and no fetch in the air."""
        self._give_up_if_hung(now)
        if self.closed:
            return None, False, None
        if now - self._last_mismatch < self.settings.cooldown:
            return self._mismatch_need, False, self._flight
        if self._flight is None and not self._may_open(now):
            return None, False, None  # backing off or a hung fetch holds the source: add nothing
        self._last_mismatch = now
        self._mismatch_refreshes += 1
        if self._flight is not None:  # it began before the mismatch: it may predate a rotation
            need = self._seq + 1
            self._again = True
        else:
            need = self._open(now).seq
        self._mismatch_need = need
        self._reports.append(Report("mismatch_refresh", {}))
        return need, True, self._flight

    def flight_to_await(self, now: float) -> Flight | None:
        """The flight in the air (a hung one is given up on first)."""
        self._give_up_if_hung(now)
        return self._flight

    def mismatch_answer(self, need: int | None, claimed: bool, now: float) -> SecretSet | None:
        """What a mismatch refresh returns once its waiting is over: for the call that claimed
        the cooldown, the set of a fetch begun after the claim, or None if there is none; for
        the others, the newest set there is."""
        if claimed and (need is None or self._succeeded_seq < need):
            return None
        return self.newest(now)

    def start(self, now: float) -> tuple[bool, Flight | None]:
        """(already servable; else the flight to wait for, opened even while backing off)."""
        snap = self._last_good
        if snap is not None and now - snap.fetched_at <= self.settings.max_stale:
            return True, None
        self._give_up_if_hung(now)
        return False, self._join_or_open(now, force=True)

    def changed(self, now: float) -> None:
        """The source announced a change: fetch now, or again once the flight in the air lands
        (it may have read the old value)."""
        if self.closed:
            return
        if self._flight is not None or self._running is not None:
            self._again = True
            return
        self._reports.append(Report("source_changed", {}))
        self._open(now)

    def record_match(self, secret_id: str, value_fingerprint: str | None = None) -> None:
        self._matches[secret_id] = self._matches.get(secret_id, 0) + 1
        if value_fingerprint is not None:
            by_value = self._matches_by_fingerprint
            by_value[value_fingerprint] = by_value.get(value_fingerprint, 0) + 1

    # -- flights ------------------------------------------------------------------------------

    def fetching(self, flight: Flight) -> bool:
        """The flight's fetch is about to call the source: count it. False when the keyring
        closed before it began (then it must not call the source)."""
        if self.closed:
            return False
        self._fetches += 1
        return True

    def land(
        self, flight: Flight, outcome: Fetched | BaseException, now: float, wall: float
    ) -> None:
        """A fetch came back with ``outcome``: keep the set or record the failure, then open the
        next flight if one was asked for meanwhile (in the same step: no gap)."""
        if self._running is flight:
            self._running = None
        result: SecretSet | None = None
        if flight.abandoned or self._flight is not flight:
            self._reports.append(Report("fetch_ignored", {"reason": "abandoned after timeout"}))
        else:
            self._flight = None
            problem = outcome if isinstance(outcome, BaseException) else self._reject(outcome, wall)
            if problem is None:
                assert isinstance(outcome, Fetched)
                result = outcome.secrets
                self._succeeded_seq = flight.seq
                self._succeed(outcome, now, now - flight.started)
            elif self.closed or isinstance(problem, FetchCancelled):
                self._reports.append(Report("fetch_cancelled", {}))
            else:
                self._fail(problem, now)
        again, self._again = self._again, False
        if again and self._may_open(now):
            self._open(now)
        self._resolve.append((flight, result))

    def give_up(self, flight: Flight, now: float, waited: float) -> None:
        """A waiter waited ``waited`` seconds for ``flight`` in vain: fail it for everyone."""
        if self._flight is flight:
            self._abandon(flight, now, waited)

    def close(self) -> bool:
        """Stop opening flights; True if it was already closed."""
        already, self.closed = self.closed, True
        return already

    # -- reading ------------------------------------------------------------------------------

    def newest(self, now: float) -> SecretSet | None:
        """The last good set, unless it is older than max_stale (then nothing is served)."""
        snap = self._last_good
        if snap is None or now - snap.fetched_at > self.settings.max_stale:
            return None
        return snap.secrets

    def retry_after(self, now: float) -> int:
        """Seconds a sender should wait before retrying a 503: until the backoff ends."""
        wait = self._next_attempt - now
        return max(1, math.ceil(wait)) if wait > 0 else 1

    def stats(self, now: float) -> KeyringStats:
        snap = self._last_good
        return KeyringStats(
            fetches=self._fetches,
            fetch_failures=self._fetch_failures,
            stale_served=self._stale_served,
            snapshot_age=None if snap is None else max(0.0, now - snap.fetched_at),
            mismatch_refreshes=self._mismatch_refreshes,
            matches_by_secret_id=dict(self._matches),
            matches_by_fingerprint=dict(self._matches_by_fingerprint),
        )

    # -- inside -------------------------------------------------------------------------------

    def _not_backing_off(self, now: float) -> bool:
        return now >= self._next_attempt

    def _may_open(self, now: float, *, force: bool = False) -> bool:
        return (
            not self.closed
            and self._flight is None
            and self._running is None
            and (force or self._not_backing_off(now))
        )

    def _join_or_open(self, now: float, *, force: bool) -> Flight | None:
        if self._flight is not None:
            return self._flight
        return self._open(now) if self._may_open(now, force=force) else None

    def _open(self, now: float) -> Flight:
        self._seq += 1
        flight = self._flight = self._running = Flight(self._seq, now)
        self._launch.append(flight)
        return flight

    def _give_up_if_hung(self, now: float) -> None:
        """A fetch not back well past fetch_timeout is given up on, so one hung source call
        cannot hold every request that waits for it. Its thread cannot be stopped: no new
        flight opens until it returns."""
        flight = self._flight
        if flight is not None and now - flight.started > self.settings.fetch_timeout:
            self._abandon(flight, now, self.settings.fetch_timeout)

    def _abandon(self, flight: Flight, now: float, waited: float) -> None:
        flight.abandoned = True
        self._flight = None
        self._fail(SourceError(f"no answer within {waited:g} s"), now)
        self._resolve.append((flight, None))

    def _reject(self, fetched: object, wall: float) -> SourceError | None:
        if not isinstance(fetched, Fetched) or not isinstance(fetched.secrets, SecretSet):
            return SourceError(f"{self.source_name}: fetch() must return a Fetched")
        if self.settings.allow_empty:
            return None
        if not fetched.secrets:
            return SourceError(f"{self.source_name}: the source returned no secrets")
        if all(s.expires_at is not None and s.expires_at <= wall for s in fetched.secrets):
            return SourceError(f"{self.source_name}: every secret the source returned is expired")
        return None

    def _succeed(self, fetched: Fetched, now: float, took: float) -> None:
        s = self.settings
        interval = s.refresh_interval
        ttl = fetched.ttl
        if ttl is not None and not bad_number(ttl) and ttl >= 0:
            interval = min(s.max_interval, max(s.min_interval, float(ttl)))
        self._last_good = _Snapshot(fetched.secrets, now, interval)
        self.hot = (fetched.secrets, now + min(s.refresh_ahead * interval, s.max_stale))
        if self._failures:
            self._reports.append(
                Report(
                    None,
                    {},
                    logging.INFO,
                    "hookseal: keyring %s: fetch succeeded again",
                    (self.name,),
                )
            )
        self._failures = 0
        self._next_attempt = -math.inf
        self._too_stale_reported = False
        self.last_error = "ok"
        ids = fetched.secrets.ids
        self._reports.append(
            Report(
                "fetched",
                {"secret_ids": ids, "interval": interval, "took": took},
                logging.DEBUG,
                "hookseal: keyring %s: fetched %d secret(s) %s; next refresh in %.0f s",
                (self.name, len(ids), list(ids), interval),
            )
        )

    def _fail(self, problem: BaseException, now: float) -> None:
        """Record a failure and back off (exponential, jittered)."""
        s = self.settings
        self._fetch_failures += 1
        self._failures += 1
        delay = min(s.backoff_max, s.backoff_base * 2.0 ** (self._failures - 1))
        delay *= 0.5 + 0.5 * self._random()  # jitter: replicas do not retry in lockstep
        self._next_attempt = now + delay
        # A SourceError's message is written to be safe; any other exception may carry
        # anything (a user callable's message), so only its type is kept.
        self.last_error = (
            f"{problem}" if isinstance(problem, SourceError) else type(problem).__name__
        )
        snap = self._last_good
        serving = (
            "no secret set yet"
            if snap is None
            else f"serving the last good set ({now - snap.fetched_at:.0f} s old)"
        )
        self._reports.append(
            Report(
                "fetch_failed",
                {"error": self.last_error, "failures": self._failures, "retry_in": delay},
                logging.WARNING,
                "hookseal: keyring %s: fetch failed (%s), attempt %d; retry in %.1f s; %s",
                (self.name, self.last_error, self._failures, delay, serving),
            )
        )

    def _report_too_stale(self, age: float) -> None:
        if self._too_stale_reported:
            return
        self._too_stale_reported = True
        self._reports.append(
            Report(
                "max_stale_exceeded",
                {"age": age},
                logging.ERROR,
                "hookseal: keyring %s: the last good secret set is %.0f s old (more than "
                "max_stale=%.0f s) and the source keeps failing (%s); failing closed with 503 "
                "until a fetch succeeds",
                (self.name, age, self.settings.max_stale, self.last_error),
            )
        )


def bad_number(value: object) -> bool:
    """True unless ``value`` is a finite int or float (bool excluded)."""
    return (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or value != value
        or value in (math.inf, -math.inf)
    )


def positive(**values: float) -> None:
    """Raise a ConfigurationError naming the first value that is not positive seconds."""
    for what, value in values.items():
        if bad_number(value) or value <= 0:
            raise ConfigurationError(f"{what} must be a positive number of seconds")
