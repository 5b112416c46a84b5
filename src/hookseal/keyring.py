"""The keyring: a refreshing, fail-safe cache of the secret set a source provides.

What it promises, and why (the JWKS libraries learned each of these the hard way):

* A warm keyring never blocks a request: while the set is young, one tuple read and a clock
  compare. Past ``refresh_ahead`` of the interval it serves the current set and refreshes in the
  background. One fetch is in flight at a time for the whole keyring, on a thread the keyring
  owns (see :mod:`hookseal._flight`): it does not depend on the caller's event loop living on
  (``asyncio.run`` per call, asgiref's ``async_to_sync``), never occupies the loop's default
  executor, and at most one thread is ever inside the source.
* A failed refresh never empties it. The last good set is served for up to ``max_stale``
  seconds; after that the keyring fails closed with :class:`~hookseal.errors.NoActiveSecret`
  (503 with Retry-After).
* Refresh on mismatch (a signature matched no secret: maybe the sender rotated) happens at most
  once per ``cooldown`` for the whole keyring, so a flood of forged requests cannot turn into a
  flood of fetches, and never clears the cache. Claiming the cooldown and opening the fetch are
  one step, and every other mismatch within the cooldown waits for that fetch: no request
  signed with the new secret is refused during a rotation.
* Failures back off exponentially with jitter; success resets the backoff.
* ``on_event`` and log lines run after the lock is released and after waiters are woken: a
  slow hook never sits in a window other requests wait on.
* Expiry (``rotate_at``) is not the keyring's job: the verifier asks the snapshot for the
  secrets valid at the request's moment, so a stale snapshot cannot keep an old secret alive.

The decisions live in :mod:`hookseal._refresh` (I/O-free, tested with fake clocks), the flights
in :mod:`hookseal._flight`. Two clocks are injectable: ``clock`` (wall, epoch seconds) judges
whether a fetched set is all expired; ``monotonic`` drives every age, interval, cooldown and
backoff. Waiting for a fetch is bounded by ``fetch_timeout`` real seconds.
"""

from __future__ import annotations

import contextlib
import logging
import random as _random
import threading
import time
from collections.abc import Callable
from concurrent.futures import InvalidStateError
from types import TracebackType
from typing import Any

from ._flight import FetchRunner, Flow, Wait, adrive, drive
from ._refresh import Flight, KeyringStats, RefreshPolicy, RefreshSettings, Step, positive
from .errors import ConfigurationError, NoActiveSecret
from .secrets import Secret, SecretSet, cached_fingerprint
from .sources._base import Fetched, SecretSource

__all__ = ["Keyring", "KeyringStats"]

logger = logging.getLogger("hookseal")

EventHook = Callable[..., None]

_MISMATCH_WAITS = 3  # the flight in the air at the claim, the one it needs, and one to spare


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
        settings = RefreshSettings.checked(
            refresh_interval,
            cooldown=cooldown,
            max_stale=max_stale,
            fetch_timeout=fetch_timeout,
            allow_empty=allow_empty,
            refresh_ahead=refresh_ahead,
            min_interval=min_interval,
            max_interval=max_interval,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
        )
        self.source = source
        self.name = name if name is not None else source.name
        self.refresh_interval = settings.refresh_interval
        self.cooldown = settings.cooldown
        self.max_stale = settings.max_stale
        self.fetch_timeout = settings.fetch_timeout
        self.allow_empty = settings.allow_empty
        self.refresh_ahead = settings.refresh_ahead
        self.min_interval = settings.min_interval
        self.max_interval = settings.max_interval
        self.backoff_base = settings.backoff_base
        self.backoff_max = settings.backoff_max
        self._clock = clock
        self._monotonic = monotonic
        self._on_event = on_event
        self._lock = threading.Lock()
        self._policy = RefreshPolicy(
            settings, name=self.name, source_name=source.name, random=random
        )
        # (set, monotonic time until which it is served without looking further): published
        # whole on each success so the hot path reads it without the lock.
        self._hot: tuple[SecretSet, float] | None = None
        self._runner = FetchRunner(
            source,
            name=self.name,
            fetch_timeout=self.fetch_timeout,
            fetching=self._fetching,
            land=self._land,
        )
        self._unsubscribe = source.subscribe(self._source_changed)

    def __repr__(self) -> str:
        return f"Keyring(name={self.name!r}, source={self.source!r})"

    # -- SecretProvider -----------------------------------------------------------------------

    def secret_set(self) -> SecretSet:
        """The set to verify with now; never blocks when warm (refreshes in the background)."""
        hot = self._hot  # one atomic read: no lock while the snapshot is young
        if hot is not None and self._monotonic() < hot[1]:
            return hot[0]
        return drive(self._serve())

    async def asecret_set(self) -> SecretSet:
        """:meth:`secret_set` for asyncio code: a cold keyring is awaited, never blocked on."""
        hot = self._hot
        if hot is not None and self._monotonic() < hot[1]:
            return hot[0]
        return await adrive(self._serve())

    def refresh_after_mismatch(self) -> SecretSet | None:
        """A signature matched no secret: maybe the sender rotated. Once per cooldown (for the
        whole keyring) fetch anew, with a fetch that starts after the mismatch was seen, and
        return its set (None if it failed). Within the cooldown, fetch nothing: wait for the
        fetch that cooldown's first mismatch started, then return the newest set there is, so
        a delivery that straddled a refresh is checked against it. The verifier does not check
        again when it gets back the very set it tried, so a forged flood costs no more."""
        return drive(self._mismatch())

    async def arefresh_after_mismatch(self) -> SecretSet | None:
        """:meth:`refresh_after_mismatch` for asyncio code."""
        return await adrive(self._mismatch())

    def record_match(self, secret: Secret) -> None:
        """Count which secret verified, so an operator sees when the old one goes quiet."""
        value_fingerprint = cached_fingerprint(secret)
        with self._lock:
            self._policy.record_match(secret.id, value_fingerprint)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 5.0) -> Keyring:
        """Warm the keyring at start-up; raise NoActiveSecret if no set arrives in ``timeout``."""
        positive(timeout=timeout)
        drive(self._start(timeout))
        return self

    async def astart(self, timeout: float = 5.0) -> Keyring:
        """:meth:`start` for asyncio code."""
        positive(timeout=timeout)
        await adrive(self._start(timeout))
        return self

    def close(self) -> None:
        """Stop refreshing, end a fetch in flight (closing the source ends most; waits up to
        fetch_timeout for the rest), close the source. Idempotent. The last set stays readable;
        no new fetch starts."""
        if self._shut():
            self._runner.close(self.fetch_timeout)

    async def aclose(self) -> None:
        """:meth:`close` for asyncio code (nothing blocks the event loop)."""
        if self._shut():
            await self._runner.aclose(self.fetch_timeout)

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
            return self._policy.stats(now)

    # -- the flows (one for threads and asyncio alike; see hookseal._flight) --------------------

    def _serve(self) -> Flow[SecretSet]:
        with self._lock:
            served, flight = self._policy.serve(self._monotonic())
            step = self._policy.drain()
        self._after(step)
        if served is not None:
            return served
        result = None if flight is None else (yield from self._await(flight, self.fetch_timeout))
        if result is None:
            raise self._unavailable()
        return result

    def _mismatch(self) -> Flow[SecretSet | None]:
        with self._lock:
            need, claimed, flight = self._policy.claim_mismatch(self._monotonic())
            step = self._policy.drain()
        self._after(step)
        for _ in range(_MISMATCH_WAITS):
            if flight is None or need is None:
                break
            yield from self._await(flight, self.fetch_timeout)
            if flight.seq >= need:
                break
            with self._lock:  # that one began before the claim: the next one was opened as
                flight = self._policy.flight_to_await(self._monotonic())  # it landed
                step = self._policy.drain()
            self._after(step)
        with self._lock:
            return self._policy.mismatch_answer(need, claimed, self._monotonic())

    def _start(self, timeout: float) -> Flow[None]:
        with self._lock:
            warm, flight = self._policy.start(self._monotonic())
            step = self._policy.drain()
        self._after(step)
        if warm:
            return
        result = None if flight is None else (yield from self._await(flight, timeout))
        if result is None:
            with self._lock:
                reason = self._policy.last_error
            raise NoActiveSecret(
                f"keyring {self.name!r} got no secret set within {timeout:g} s ({reason})",
                retry_after=self._retry_after(),
            )

    def _await(self, flight: Flight, timeout: float) -> Flow[SecretSet | None]:
        """Wait for ``flight``; on timeout give up on it for everyone (it counts as failed)."""
        if not (yield Wait(flight, timeout)):
            with self._lock:
                self._policy.give_up(flight, self._monotonic(), timeout)
                step = self._policy.drain()
            self._after(step)
            return None
        result: SecretSet | None = flight.done.result()
        return result

    # -- the flights' side --------------------------------------------------------------------

    def _fetching(self, flight: Flight) -> bool:
        with self._lock:
            return self._policy.fetching(flight)

    def _land(self, flight: Flight, outcome: Fetched | BaseException) -> None:
        now, wall = self._monotonic(), self._clock()
        with self._lock:
            self._policy.land(flight, outcome, now, wall)
            self._hot = self._policy.hot
            step = self._policy.drain()
        self._after(step)

    def _source_changed(self) -> None:
        """The source says its secrets changed: refresh now (still one fetch at a time)."""
        with self._lock:
            self._policy.changed(self._monotonic())
            step = self._policy.drain()
        self._after(step)

    def _after(self, step: Step) -> None:
        """Outside the lock: launch, then wake the waiters, then report."""
        for flight in step.launch:
            self._runner.launch(flight)
        for flight, result in step.resolve:
            with contextlib.suppress(InvalidStateError):  # given up on and resolved already
                flight.done.set_result(result)
        for report in step.reports:
            if report.level:
                logger.log(report.level, report.message, *report.args)
            if report.event is not None:
                self._emit(report.event, **report.fields)

    # -- helpers ------------------------------------------------------------------------------

    def _shut(self) -> bool:
        """Mark closed; True for the first call (which then stops the runner)."""
        with self._lock:
            already = self._policy.close()
        if already:
            return False
        self._unsubscribe()
        return True

    def _retry_after(self) -> int:
        now = self._monotonic()
        with self._lock:
            return self._policy.retry_after(now)

    def _unavailable(self) -> NoActiveSecret:
        return NoActiveSecret(retry_after=self._retry_after())

    def _emit(self, event: str, **fields: Any) -> None:
        hook = self._on_event
        if hook is None:
            return
        try:
            hook(event, keyring=self.name, **fields)
        except Exception:  # an observer must never break verification
            logger.exception("hookseal: keyring %s: on_event hook raised", self.name)
