"""The keyring: a refreshing, fail-safe cache of the secret set a source provides.

What it promises, and why (the JWKS libraries learned each of these the hard way):

* A warm keyring never blocks a request. Past ``refresh_ahead`` of the interval it serves the
  current set and refreshes in the background: a thread for sync callers, a task on the running
  loop for asyncio callers. One fetch is in flight at a time for the whole keyring.
* A failed refresh never empties it. The last good set is kept apart from the TTL cache entry
  (an expired entry is gone) and served for up to ``max_stale`` seconds; after that the keyring
  fails closed with :class:`~hookseal.errors.NoActiveSecret` (503 with Retry-After).
* Refresh on mismatch (a signature matched no secret: maybe the sender rotated) happens at most
  once per ``cooldown`` for the whole keyring, so a flood of forged requests cannot turn into a
  flood of fetches, and never clears the cache.
* Failures back off exponentially with jitter; success resets the backoff.
* Expiry (``rotate_at``) is not the keyring's job: the verifier asks the snapshot for the
  secrets valid at the request's moment, so a stale snapshot cannot keep an old secret alive.

Two clocks are injectable: ``clock`` (wall, epoch seconds) judges whether a fetched set is all
expired; ``monotonic`` drives every age, interval, cooldown and backoff. Waiting for a fetch is
bounded by ``fetch_timeout`` real seconds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import random as _random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from cachetools import TTLCache

from .errors import ConfigurationError, NoActiveSecret
from .secrets import Secret, SecretSet
from .sources._base import Fetched, SecretSource, SourceError

__all__ = ["Keyring", "KeyringStats"]

logger = logging.getLogger("hookseal")

_CURRENT = "current"
EventHook = Callable[..., None]


@dataclass(frozen=True)
class KeyringStats:
    """A snapshot of the keyring's counters (for metrics and health checks).

    ``fetches`` counts fetch attempts, ``fetch_failures`` the failed ones; ``stale_served``
    the requests answered from a snapshot older than its interval; ``snapshot_age`` is the age
    in seconds of the set being served (None before the first success);
    ``matches_by_secret_id`` shows when traffic on a retired secret stops.
    """

    fetches: int = 0
    fetch_failures: int = 0
    stale_served: int = 0
    snapshot_age: float | None = None
    mismatch_refreshes: int = 0
    matches_by_secret_id: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Snapshot:
    secrets: SecretSet
    fetched_at: float  # monotonic
    interval: float


class _Flight:
    """One fetch in flight: a thread (sync callers) or a task (asyncio callers).

    ``done`` resolves to the new set, or None when the fetch failed, whichever kind it is, so
    either kind of caller can wait for either kind of flight.
    """

    __slots__ = ("abandoned", "done", "loop", "started", "task", "thread")

    def __init__(self, started: float) -> None:
        self.started = started
        self.done: concurrent.futures.Future[SecretSet | None] = concurrent.futures.Future()
        self.done.set_running_or_notify_cancel()  # nobody may cancel the shared result
        self.abandoned = False
        self.thread: threading.Thread | None = None
        self.task: asyncio.Task[SecretSet | None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None


class Keyring:
    """A :class:`~hookseal.secrets.SecretProvider` that keeps a source's secrets fresh.

    Pass it wherever secrets are accepted: ``verify(body, headers, keyring)``,
    ``Verifier(keyring)``, every middleware. Call :meth:`start` (or ``await`` :meth:`astart`)
    at start-up to warm it, and :meth:`close` / :meth:`aclose` at shutdown.
    """

    def __init__(
        self,
        source: SecretSource,
        refresh_interval: float = 300.0,
        *,
        cooldown: float = 60.0,
        max_stale: float = 86_400.0,
        fetch_timeout: float = 10.0,
        allow_empty: bool = False,
        refresh_ahead: float = 0.8,
        min_interval: float | None = None,
        max_interval: float | None = None,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
        on_event: EventHook | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(source, SecretSource):
            raise ConfigurationError("source must be a hookseal.sources.SecretSource")
        _positive(refresh_interval=refresh_interval, max_stale=max_stale)
        _positive(fetch_timeout=fetch_timeout, backoff_base=backoff_base, backoff_max=backoff_max)
        if _bad_number(cooldown) or cooldown < 0:
            raise ConfigurationError("cooldown must be a non-negative number of seconds")
        if _bad_number(refresh_ahead) or not 0 < refresh_ahead <= 1:
            raise ConfigurationError("refresh_ahead must be a fraction in (0, 1]")
        low = min(10.0, float(refresh_interval)) if min_interval is None else min_interval
        high = max(86_400.0, float(refresh_interval)) if max_interval is None else max_interval
        _positive(min_interval=low, max_interval=high)
        if not low <= refresh_interval <= high:
            raise ConfigurationError("need min_interval <= refresh_interval <= max_interval")
        self.source = source
        self.name = name if name is not None else source.name
        self.refresh_interval = float(refresh_interval)
        self.cooldown = float(cooldown)
        self.max_stale = float(max_stale)
        self.fetch_timeout = float(fetch_timeout)
        self.allow_empty = allow_empty
        self.refresh_ahead = float(refresh_ahead)
        self.min_interval = float(low)
        self.max_interval = float(high)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self._clock = clock
        self._monotonic = monotonic
        self._random = random
        self._on_event = on_event

        self._lock = threading.Lock()
        self._fresh: TTLCache[str, SecretSet] = self._new_cache(self.refresh_interval)
        self._last_good: _Snapshot | None = None
        # (set, monotonic time until which it is served without looking further): published
        # whole on each success so the hot path reads it without the lock.
        self._hot: tuple[SecretSet, float] | None = None
        self._flight: _Flight | None = None
        self._closed = False
        self._notified = False  # a change notice arrived while a fetch was in flight
        self._failures = 0  # consecutive
        self._next_attempt = -math.inf  # monotonic; backoff ends here
        self._last_mismatch = -math.inf
        self._last_error = "no fetch yet"
        self._too_stale_logged = False
        self._stale_reported: _Snapshot | None = None
        self._fetches = 0
        self._fetch_failures = 0
        self._stale_served = 0
        self._mismatch_refreshes = 0
        self._matches: dict[str, int] = {}
        self._unsubscribe = source.subscribe(self._source_changed)

    def __repr__(self) -> str:
        return f"Keyring(name={self.name!r}, source={self.source!r})"

    # -- SecretProvider -----------------------------------------------------------------------

    def secret_set(self) -> SecretSet:
        """The set to verify with now; never blocks when warm (refreshes in a thread)."""
        hot = self._hot  # one atomic read: no lock while the snapshot is young
        if hot is not None and self._monotonic() < hot[1]:
            return hot[0]
        served, refresh = self._serve()
        if refresh:
            self._begin_thread_flight()
        if served is not None:
            return served
        return self._cold_sync()

    async def asecret_set(self) -> SecretSet:
        """:meth:`secret_set` for asyncio code: refreshes in a task on the running loop."""
        hot = self._hot
        if hot is not None and self._monotonic() < hot[1]:
            return hot[0]
        served, refresh = self._serve()
        if refresh:
            self._begin_task_flight()
        if served is not None:
            return served
        return await self._cold_async()

    def refresh_after_mismatch(self) -> SecretSet | None:
        """A signature matched no secret: maybe the sender rotated. Once per cooldown (for the
        whole keyring) fetch anew, with a fetch that starts after the mismatch was seen, and
        return its set (None if it failed). Within the cooldown, fetch nothing: return the
        newest set there is, after waiting for a fetch already in the air, so a delivery that
        straddled a refresh is checked against it. The verifier does not check again when it
        gets back the very set it tried, so a forged flood costs no more than before."""
        if not self._claim_mismatch():
            flight = self._flight_in_air()
            if flight is not None:
                self._wait_sync(flight, self.fetch_timeout)
            return self._newest()
        flight, launch = self._join_or_open(force=False)
        if flight is not None and launch:
            self._launch_thread(flight)
        elif flight is not None:  # began before the mismatch: it may predate the rotation
            self._wait_sync(flight, self.fetch_timeout)
            flight = self._flight_for_sync()
        return None if flight is None else self._wait_sync(flight, self.fetch_timeout)

    async def arefresh_after_mismatch(self) -> SecretSet | None:
        """:meth:`refresh_after_mismatch` for asyncio code."""
        if not self._claim_mismatch():
            flight = self._flight_in_air()
            if flight is not None:
                await self._wait_async(flight, self.fetch_timeout)
            return self._newest()
        flight, launch = self._join_or_open(force=False)
        if flight is not None and launch:
            self._launch_task(flight)
        elif flight is not None:  # began before the mismatch: it may predate the rotation
            await self._wait_async(flight, self.fetch_timeout)
            flight = self._flight_for_async()
        return None if flight is None else await self._wait_async(flight, self.fetch_timeout)

    def record_match(self, secret: Secret) -> None:
        """Count which secret verified, so an operator sees when the old one goes quiet."""
        with self._lock:
            self._matches[secret.id] = self._matches.get(secret.id, 0) + 1

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> Keyring:
        """Warm the keyring at start-up; raise NoActiveSecret if no set arrives in ``timeout``."""
        _positive(timeout=timeout)
        if self._warm():
            return self
        flight = self._flight_for_sync(force=True)
        if flight is None or self._wait_sync(flight, timeout) is None:
            raise self._start_failed(timeout)
        return self

    async def astart(self, timeout: float = 5.0) -> Keyring:
        """:meth:`start` for asyncio code."""
        _positive(timeout=timeout)
        if self._warm():
            return self
        flight = self._flight_for_async(force=True)
        if flight is None or await self._wait_async(flight, timeout) is None:
            raise self._start_failed(timeout)
        return self

    def close(self) -> None:
        """Stop background refresh, wait for a running fetch (up to fetch_timeout), close the
        source. Idempotent. The last set stays readable; no new fetch starts."""
        flight = self._shut()
        if flight is not None:
            if flight.task is not None and flight.loop is not None:
                _cancel_threadsafe(flight.loop, flight.task)
            if flight.thread is not None and flight.thread is not threading.current_thread():
                flight.thread.join(self.fetch_timeout)
        self.source.close()

    async def aclose(self) -> None:
        """:meth:`close` for asyncio code."""
        flight = self._shut()
        if flight is not None:
            task = flight.task
            if task is not None and flight.loop is asyncio.get_running_loop():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            elif task is not None and flight.loop is not None:
                _cancel_threadsafe(flight.loop, task)
            if flight.thread is not None:
                await asyncio.to_thread(flight.thread.join, self.fetch_timeout)
        await self.source.aclose()

    def __enter__(self) -> Keyring:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> Keyring:
        return await self.astart()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- observability ------------------------------------------------------------------------

    def stats(self) -> KeyringStats:
        """The counters so far (a copy)."""
        now = self._monotonic()
        with self._lock:
            snap = self._last_good
            return KeyringStats(
                fetches=self._fetches,
                fetch_failures=self._fetch_failures,
                stale_served=self._stale_served,
                snapshot_age=None if snap is None else max(0.0, now - snap.fetched_at),
                mismatch_refreshes=self._mismatch_refreshes,
                matches_by_secret_id=dict(self._matches),
            )

    # -- serving ------------------------------------------------------------------------------

    def _serve(self) -> tuple[SecretSet | None, bool]:
        """(the set to serve or None when cold/too stale, whether to refresh in background)."""
        now = self._monotonic()
        report: tuple[str, dict[str, Any]] | None = None
        with self._lock:
            self._abandon_if_hung(now)
            snap = self._last_good
            if snap is None:
                return None, False
            age = now - snap.fetched_at
            if age > self.max_stale:
                if not self._too_stale_logged:
                    self._too_stale_logged = True
                    report = ("max_stale_exceeded", {"age": age})
                    logger.error(
                        "hookseal: keyring %s: the last good secret set is %.0f s old (more than "
                        "max_stale=%.0f s) and the source keeps failing (%s); failing closed "
                        "with 503 until a fetch succeeds",
                        self.name,
                        age,
                        self.max_stale,
                        self._last_error,
                    )
                served: SecretSet | None = None
                refresh = False
            else:
                served = snap.secrets
                stale = self._fresh.get(_CURRENT) is None
                if stale:
                    self._stale_served += 1
                    if self._stale_reported is not snap:
                        self._stale_reported = snap
                        report = ("stale_served", {"age": age})
                refresh = (stale or age >= self.refresh_ahead * snap.interval) and self._may_start(
                    now
                )
        if report is not None:
            self._emit(report[0], **report[1])
        return served, refresh

    def _warm(self) -> bool:
        served, _ = self._serve()
        return served is not None

    def _may_start(self, now: float) -> bool:
        return not self._closed and self._flight is None and now >= self._next_attempt

    def _retry_after(self) -> int:
        wait = self._next_attempt - self._monotonic()
        return max(1, math.ceil(wait)) if wait > 0 else 1

    def _unavailable(self) -> NoActiveSecret:
        return NoActiveSecret(retry_after=self._retry_after())

    def _cold_sync(self) -> SecretSet:
        flight = self._flight_for_sync()
        if flight is None:
            raise self._unavailable()
        result = self._wait_sync(flight, self.fetch_timeout)
        if result is None:
            raise self._unavailable()
        return result

    async def _cold_async(self) -> SecretSet:
        flight = self._flight_for_async()
        if flight is None:
            raise self._unavailable()
        result = await self._wait_async(flight, self.fetch_timeout)
        if result is None:
            raise self._unavailable()
        return result

    def _claim_mismatch(self) -> bool:
        now = self._monotonic()
        with self._lock:
            if self._closed or now - self._last_mismatch < self.cooldown:
                return False
            if self._flight is None and now < self._next_attempt:
                return False  # backing off after failures: a forged flood must not add fetches
            self._last_mismatch = now
            self._mismatch_refreshes += 1
        self._emit("mismatch_refresh")
        return True

    def _flight_in_air(self) -> _Flight | None:
        with self._lock:
            self._abandon_if_hung(self._monotonic())
            return self._flight

    def _newest(self) -> SecretSet | None:
        """The last good set, unless it is older than max_stale (then nothing is served)."""
        now = self._monotonic()
        with self._lock:
            snap = self._last_good
        if snap is None or now - snap.fetched_at > self.max_stale:
            return None
        return snap.secrets

    def _start_failed(self, timeout: float) -> NoActiveSecret:
        with self._lock:
            reason = self._last_error
        return NoActiveSecret(
            f"keyring {self.name!r} got no secret set within {timeout:g} s ({reason})",
            retry_after=self._retry_after(),
        )

    # -- flights ------------------------------------------------------------------------------

    def _join_or_open(self, *, force: bool) -> tuple[_Flight | None, bool]:
        """The flight to wait for (joining one in the air), and whether the caller launches it.
        None when closed or backing off (``force`` ignores the backoff, for start-up)."""
        now = self._monotonic()
        with self._lock:
            self._abandon_if_hung(now)
            if self._flight is not None:
                return self._flight, False
            if self._closed or (not force and now < self._next_attempt):
                return None, False
            flight = self._flight = _Flight(now)
            self._fetches += 1
            return flight, True

    def _flight_for_sync(self, *, force: bool = False) -> _Flight | None:
        flight, launch = self._join_or_open(force=force)
        if launch and flight is not None:
            self._launch_thread(flight)
        return flight

    def _flight_for_async(self, *, force: bool = False) -> _Flight | None:
        flight, launch = self._join_or_open(force=force)
        if launch and flight is not None:
            self._launch_task(flight)
        return flight

    def _begin_thread_flight(self) -> None:
        self._flight_for_sync()

    def _begin_task_flight(self) -> None:
        self._flight_for_async()

    def _launch_thread(self, flight: _Flight) -> None:
        thread = threading.Thread(
            target=self._run_thread, args=(flight,), name=f"hookseal-keyring-{self.name}"
        )
        thread.daemon = True  # a fetch that never returns must not keep the process alive
        flight.thread = thread
        thread.start()

    def _run_thread(self, flight: _Flight) -> None:
        started = self._monotonic()
        outcome: Fetched | BaseException = SourceError("the fetch did not finish")
        try:
            outcome = self.source.fetch()
        except Exception as exc:  # every failure is recorded and backed off, none escapes
            outcome = exc
        finally:
            self._land(flight, outcome, started)

    def _launch_task(self, flight: _Flight) -> None:
        loop = asyncio.get_running_loop()
        flight.loop = loop
        flight.task = loop.create_task(self._run_task(flight), name=f"hookseal-keyring-{self.name}")

    async def _run_task(self, flight: _Flight) -> SecretSet | None:
        started = self._monotonic()
        outcome: Fetched | BaseException = _Cancelled("the fetch was cancelled")
        result: SecretSet | None = None
        try:
            outcome = await asyncio.wait_for(self.source.afetch(), self.fetch_timeout)
        except asyncio.TimeoutError:
            outcome = SourceError(f"no answer within fetch_timeout={self.fetch_timeout:g} s")
        except Exception as exc:  # every failure is recorded and backed off, none escapes
            outcome = exc
        finally:  # also on cancellation: the flight is always cleared
            result = self._land(flight, outcome, started)
        return result

    def _wait_sync(self, flight: _Flight, timeout: float) -> SecretSet | None:
        if flight.loop is not None and _running_loop() is flight.loop:
            return None  # blocking here would stall the very loop that runs the fetch
        try:
            return flight.done.result(timeout)
        except concurrent.futures.TimeoutError:
            self._abandon(flight, timeout)
            return None

    async def _wait_async(self, flight: _Flight, timeout: float) -> SecretSet | None:
        waitable: asyncio.Future[SecretSet | None]
        if flight.task is not None and flight.loop is asyncio.get_running_loop():
            waitable = flight.task
            if timeout >= self.fetch_timeout:  # the task bounds itself; let it land first
                return await asyncio.shield(waitable)
        else:
            waitable = asyncio.wrap_future(flight.done)
        try:
            # shield: a cancelled waiter must not cancel the fetch other waiters share
            return await asyncio.wait_for(asyncio.shield(waitable), timeout)
        except asyncio.TimeoutError:
            self._abandon(flight, timeout)
            return None

    def _abandon_if_hung(self, now: float) -> None:
        """Caller holds the lock. A fetch that has not landed well past fetch_timeout is given
        up on, so one hung source call cannot stop every later refresh: a thread cannot be
        killed (it is a daemon); a task bounds itself, so one still pending after twice the
        timeout sits on a loop that stopped running, and is cancelled."""
        flight = self._flight
        if flight is None:
            return
        limit = self.fetch_timeout if flight.task is None else 2 * self.fetch_timeout
        if now - flight.started > limit:
            if flight.task is not None and flight.loop is not None:
                _cancel_threadsafe(flight.loop, flight.task)
            self._give_up(flight, now, limit)

    def _abandon(self, flight: _Flight, timeout: float) -> None:
        now = self._monotonic()
        with self._lock:
            if self._flight is flight and flight.thread is not None:
                self._give_up(flight, now, timeout)

    def _give_up(self, flight: _Flight, now: float, timeout: float) -> None:
        flight.abandoned = True
        self._flight = None
        self._fail(SourceError(f"no answer within {timeout:g} s"), now)

    # -- landing a result ---------------------------------------------------------------------

    def _land(
        self, flight: _Flight, fetched: Fetched | BaseException, started: float
    ) -> SecretSet | None:
        now = self._monotonic()
        result: SecretSet | None = None
        event: tuple[str, dict[str, Any]]
        again = False
        with self._lock:
            if flight.abandoned or self._flight is not flight:
                event = ("fetch_ignored", {"reason": "abandoned after timeout"})
            else:
                self._flight = None
                problem = fetched if isinstance(fetched, BaseException) else self._reject(fetched)
                if problem is None:
                    assert isinstance(fetched, Fetched)
                    result = fetched.secrets
                    event = ("fetched", self._succeed(fetched, now, now - started))
                elif isinstance(problem, _Cancelled):  # closing or loop shutdown: no failure
                    event = ("fetch_cancelled", {})
                else:
                    event = ("fetch_failed", self._fail(problem, now))
                again = self._notified and not self._closed
                self._notified = False
        self._emit(event[0], **event[1])  # before waking waiters: they see the event recorded
        if not flight.done.done():
            flight.done.set_result(result)
        if again:
            self._begin_thread_flight()
        return result

    def _reject(self, fetched: object) -> SourceError | None:
        if not isinstance(fetched, Fetched) or not isinstance(fetched.secrets, SecretSet):
            return SourceError(f"{self.source.name}: fetch() must return a Fetched")
        if self.allow_empty:
            return None
        if not fetched.secrets:
            return SourceError(f"{self.source.name}: the source returned no secrets")
        now = self._clock()
        if all(s.expires_at is not None and s.expires_at <= now for s in fetched.secrets):
            return SourceError(f"{self.source.name}: every secret the source returned is expired")
        return None

    def _succeed(self, fetched: Fetched, now: float, took: float) -> dict[str, Any]:
        """Caller holds the lock."""
        interval = self.refresh_interval
        ttl = fetched.ttl
        if ttl is not None and not _bad_number(ttl) and ttl >= 0:
            interval = min(self.max_interval, max(self.min_interval, float(ttl)))
        if interval != self._fresh.ttl:
            self._fresh = self._new_cache(interval)
        self._fresh[_CURRENT] = fetched.secrets
        self._last_good = _Snapshot(fetched.secrets, now, interval)
        young = min(self.refresh_ahead * interval, self.max_stale)
        self._hot = (fetched.secrets, now + young)
        if self._failures:
            logger.info("hookseal: keyring %s: fetch succeeded again", self.name)
        self._failures = 0
        self._next_attempt = -math.inf
        self._too_stale_logged = False
        self._last_error = "ok"
        logger.debug(
            "hookseal: keyring %s: fetched %d secret(s) %s; next refresh in %.0f s",
            self.name,
            len(fetched.secrets),
            list(fetched.secrets.ids),
            interval,
        )
        return {"secret_ids": fetched.secrets.ids, "interval": interval, "took": took}

    def _fail(self, problem: BaseException, now: float) -> dict[str, Any]:
        """Caller holds the lock. Record a failure and back off (exponential, jittered)."""
        self._fetch_failures += 1
        self._failures += 1
        delay = min(self.backoff_max, self.backoff_base * 2.0 ** (self._failures - 1))
        delay *= 0.5 + 0.5 * self._random()  # jitter: replicas do not retry in lockstep
        self._next_attempt = now + delay
        # A SourceError's message is written to be safe; any other exception may carry
        # anything (a user callable's message), so only its type is kept.
        self._last_error = (
            f"{problem}" if isinstance(problem, SourceError) else type(problem).__name__
        )
        snap = self._last_good
        logger.warning(
            "hookseal: keyring %s: fetch failed (%s), attempt %d; retry in %.1f s; %s",
            self.name,
            self._last_error,
            self._failures,
            delay,
            "no secret set yet"
            if snap is None
            else f"serving the last good set ({now - snap.fetched_at:.0f} s old)",
        )
        return {"error": self._last_error, "failures": self._failures, "retry_in": delay}

    # -- notifications --------------------------------------------------------------------

    def _source_changed(self) -> None:
        """The source says its secrets changed: refresh now (still one fetch at a time)."""
        with self._lock:
            if self._closed:
                return
            if self._flight is not None:
                self._notified = True  # that fetch may have read the old value: go again
                return
        self._emit("source_changed")
        self._begin_thread_flight_now()

    def _begin_thread_flight_now(self) -> None:
        flight, launch = self._join_or_open(force=True)
        if launch and flight is not None:
            self._launch_thread(flight)

    # -- helpers ------------------------------------------------------------------------------

    def _shut(self) -> _Flight | None:
        with self._lock:
            already = self._closed
            self._closed = True
            flight = self._flight
        if not already:
            self._unsubscribe()
        return flight

    def _new_cache(self, interval: float) -> TTLCache[str, SecretSet]:
        return TTLCache(maxsize=1, ttl=interval, timer=self._monotonic)

    def _emit(self, event: str, **fields: Any) -> None:
        hook = self._on_event
        if hook is None:
            return
        try:
            hook(event, keyring=self.name, **fields)
        except Exception:  # an observer must never break verification
            logger.exception("hookseal: keyring %s: on_event hook raised", self.name)


class _Cancelled(SourceError):
    """The fetch task was cancelled (aclose, or its loop shutting down)."""


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _cancel_threadsafe(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    if not loop.is_closed():
        loop.call_soon_threadsafe(task.cancel)


def _bad_number(value: object) -> bool:
    return (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or value != value
        or value in (math.inf, -math.inf)
    )


def _positive(**values: float) -> None:
    for what, value in values.items():
        if _bad_number(value) or value <= 0:
            raise ConfigurationError(f"{what} must be a positive number of seconds")
