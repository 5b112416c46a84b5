"""Public keys fetched by the name a request gives (an SNS certificate URL, a Plaid ``kid``).

The keyring (:mod:`hookseal.keyring`) refreshes one secret set per source; a scheme whose key
is named by each request needs the same rules per name, so this cache keeps them, keyed:

* A fresh entry is one dict read under a lock: a warm cache never waits.
* One fetch per name at a time (single flight): every request for a name being fetched waits
  on that one fetch's shared future, threads with ``result(timeout)``, coroutines through
  :func:`hookseal._futures.await_done`. Each fetch runs on a daemon thread of the cache's own
  (never the caller's event loop or its default executor), and at most ``max_in_flight``
  such threads exist at once: a request that would open one more is answered 503.
* Waiting is bounded by ``fetch_timeout`` real seconds; a fetch that hangs longer is answered
  503 (:class:`~hookseal.errors.SigningKeyUnavailable`, retryable) and keeps its one thread
  until it returns; no second fetch for that name opens meanwhile.
* A failed fetch never drops a good key: past its ``ttl`` an entry is still served at once
  (the refetch runs in the background, nobody waits for it), for up to ``max_stale`` more
  seconds while refetching fails. With nothing to serve the answer is 503,
  never 401: the request may well be genuine, and the provider retries.
* Failures back off per name (exponential, with jitter, reset on success), and new fetches
  are budgeted (``budget`` per ``budget_window`` seconds for the whole cache): names come
  from requests, so a flood of forged names costs a bounded number of fetches, not one each.
* Bounded: at most ``max_entries`` names (least recently used dropped first), and at most as
  many remembered failures.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import random as _random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

from ._futures import await_done, shared_future
from .errors import ConfigurationError, SigningKeyUnavailable

__all__ = ["KeyCache"]

logger = logging.getLogger("hookseal")

T = TypeVar("T")


_NONE = object()  # no usable entry


class _Entry(NamedTuple):
    value: object
    fresh_until: float  # monotonic
    stale_until: float


class _Failure(NamedTuple):
    failures: int
    retry_at: float  # monotonic: no new fetch for this name before then


class KeyCache(Generic[T]):
    """Keys fetched by name, with the keyring's rules per name (see the module docstring).

    ``fetch(name)`` returns the key (parsed: a failure to parse is a failed fetch) or raises.
    """

    def __init__(
        self,
        fetch: Callable[[str], T],
        *,
        name: str,
        ttl: float = 86_400.0,
        max_stale: float = 86_400.0,
        max_entries: int = 64,
        fetch_timeout: float = 5.0,
        max_in_flight: int = 4,
        budget: int = 30,
        budget_window: float = 60.0,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
    ) -> None:
        if not callable(fetch):
            raise ConfigurationError("fetch must be a callable taking the key's name")
        for label, number in (
            ("ttl", ttl),
            ("fetch_timeout", fetch_timeout),
            ("budget_window", budget_window),
            ("backoff_base", backoff_base),
            ("backoff_max", backoff_max),
        ):
            if _bad(number) or number <= 0:
                raise ConfigurationError(f"{label} must be a positive number of seconds")
        if _bad(max_stale) or max_stale < 0:
            raise ConfigurationError("max_stale must be a non-negative number of seconds")
        for label, count in (
            ("max_entries", max_entries),
            ("max_in_flight", max_in_flight),
            ("budget", budget),
        ):
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ConfigurationError(f"{label} must be a positive int")
        self._fetch = fetch
        self.name = name
        self.ttl = float(ttl)
        self.max_stale = float(max_stale)
        self.max_entries = max_entries
        self.fetch_timeout = float(fetch_timeout)
        self.max_in_flight = max_in_flight
        self.budget = budget
        self.budget_window = float(budget_window)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self._monotonic = monotonic
        self._random = random
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._failures: OrderedDict[str, _Failure] = OrderedDict()
        self._flights: dict[str, concurrent.futures.Future[object]] = {}
        self._spent: list[float] = []  # monotonic start times of the fetches in the window
        self.fetches = 0
        """Fetches started so far (what a test or a metric counts)."""

    def __repr__(self) -> str:
        return f"KeyCache(name={self.name!r}, entries={len(self._entries)})"

    # -- the two drivers ----------------------------------------------------------------------

    def get(self, key: str, fetch: Callable[[str], T] | None = None) -> T:
        """The key named ``key``: cached, or fetched (waiting up to fetch_timeout), or 503.
        ``fetch``: this call's fetcher, if a fetch is opened (Plaid's carries the API secret
        that matched); the cache's own otherwise."""
        found, flight = self._lookup(key, fetch)
        if flight is None:
            return found  # type: ignore[return-value]
        concurrent.futures.wait((flight,), self.fetch_timeout)  # landed, failed or timed out
        return self._after(key, flight)

    async def aget(self, key: str, fetch: Callable[[str], T] | None = None) -> T:
        """:meth:`get` for asyncio code: the event loop keeps running while a fetch is awaited."""
        found, flight = self._lookup(key, fetch)
        if flight is None:
            return found  # type: ignore[return-value]
        await await_done(flight, self.fetch_timeout)
        return self._after(key, flight)

    # -- the policy ---------------------------------------------------------------------------

    def _lookup(
        self, key: str, fetch: Callable[[str], T] | None
    ) -> tuple[object, concurrent.futures.Future[object] | None]:
        """A value to serve now (and None), or the flight to wait for."""
        launch = False
        with self._lock:
            now = self._monotonic()
            entry = self._entries.get(key)
            if entry is not None and now < entry.fresh_until:
                self._entries.move_to_end(key)
                return entry.value, None
            stale = entry.value if entry is not None and now < entry.stale_until else _NONE
            flight = self._flights.get(key)
            if flight is None:
                refusal = self._refusal(key, now)
                if refusal is not None:
                    if stale is not _NONE:
                        return stale, None  # the last known good, while no fetch may start
                    raise refusal
                flight = shared_future()
                self._flights[key] = flight
                self._spent.append(now)
                self.fetches += 1
                launch = True
        if launch:
            self._launch(key, flight, self._fetch if fetch is None else fetch)
        if stale is not _NONE:  # past its ttl: served while the refetch runs, nobody waits
            return stale, None
        return None, flight

    def _refusal(self, key: str, now: float) -> SigningKeyUnavailable | None:
        """Why no fetch may start for ``key`` now (backoff, too many in flight, budget spent)."""
        failure = self._failures.get(key)
        if failure is not None and now < failure.retry_at:
            return SigningKeyUnavailable(
                "the signing key could not be fetched; retry later",
                retry_after=_seconds(failure.retry_at - now),
            )
        if len(self._flights) >= self.max_in_flight:
            return SigningKeyUnavailable("too many signing key fetches in flight; retry later")
        horizon = now - self.budget_window
        self._spent = [t for t in self._spent if t > horizon]
        if len(self._spent) >= self.budget:
            wait = self._spent[0] + self.budget_window - now
            return SigningKeyUnavailable(
                "the signing key fetch budget is spent; retry later", retry_after=_seconds(wait)
            )
        return None

    def _after(self, key: str, flight: concurrent.futures.Future[object]) -> T:
        """What a waiter answers once its wait is over (landed, failed, or timed out)."""
        if flight.done() and flight.exception() is None:
            return flight.result()  # type: ignore[return-value]
        with self._lock:
            now = self._monotonic()
            entry = self._entries.get(key)
            if entry is not None and now < entry.stale_until:
                return entry.value  # type: ignore[return-value]
        if not flight.done():
            raise SigningKeyUnavailable(
                f"the signing key fetch took longer than {self.fetch_timeout:g} s; retry later"
            )
        raise SigningKeyUnavailable("the signing key could not be fetched; retry later")

    # -- the fetch ----------------------------------------------------------------------------

    def _launch(
        self, key: str, flight: concurrent.futures.Future[object], fetch: Callable[[str], T]
    ) -> None:
        thread = threading.Thread(
            target=self._run,
            args=(key, flight, fetch),
            name=f"hookseal-keys-{self.name}",
            daemon=True,
        )
        try:
            thread.start()
        except RuntimeError as exc:  # out of threads, or the interpreter is shutting down
            self._land(key, flight, exc)

    def _run(
        self, key: str, flight: concurrent.futures.Future[object], fetch: Callable[[str], T]
    ) -> None:
        outcome: object | BaseException
        try:
            outcome = fetch(key)
        except Exception as exc:  # every failure is recorded and backed off, none escapes
            outcome = exc
        self._land(key, flight, outcome)

    def _land(
        self, key: str, flight: concurrent.futures.Future[object], outcome: object | BaseException
    ) -> None:
        with self._lock:
            now = self._monotonic()
            self._flights.pop(key, None)
            if isinstance(outcome, BaseException):
                count = self._failures.get(key, _Failure(0, now)).failures + 1
                delay = min(self.backoff_max, self.backoff_base * 2 ** min(count - 1, 30))
                self._failures[key] = _Failure(count, now + delay * (0.5 + self._random() / 2))
                self._failures.move_to_end(key)
                while len(self._failures) > self.max_entries:
                    self._failures.popitem(last=False)
            else:
                self._failures.pop(key, None)
                self._entries[key] = _Entry(
                    outcome, now + self.ttl, now + self.ttl + self.max_stale
                )
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        if isinstance(outcome, BaseException):
            # The reason names the key's name (a URL or a kid), never a secret.
            logger.warning(
                "hookseal: %s: fetching signing key %r failed: %s",
                self.name,
                key[:200],
                type(outcome).__name__,
            )
            flight.set_exception(outcome)
        else:
            flight.set_result(outcome)


def _bad(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return True
    return not math.isfinite(value)


def _seconds(delay: float) -> int:
    return max(1, math.ceil(delay))
