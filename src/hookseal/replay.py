"""Replay guards: refuse a second delivery of the same signed message.

The key is signed material only: the scheme's message id where it has one (Standard Webhooks),
otherwise a SHA-256 of the signed content (timestamp and body), so the same delivery replayed
with only one of its rotation signatures is still recognised. A key is remembered for as long
as the message could still pass the timestamp check (twice the tolerance), or for the guard's
``ttl`` when the scheme has no timestamp (Signature, GitHub, Shopify): such a signature never
expires, so the guard's ``ttl`` is the whole of the protection, and a replay after it passes.

A guard never forgets a live key to make room: :class:`InMemoryReplayGuard` at ``maxsize``
drops expired keys and, if it is still full, refuses the delivery (503 with Retry-After, so
the provider retries) and says so loudly. Size it for every delivery within a key's lifetime.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from cachetools import TLRUCache

from .errors import ConfigurationError, ReplayGuardUnavailable

logger = logging.getLogger("hookseal")

__all__ = ["InMemoryReplayGuard", "RedisReplayGuard", "ReplayGuard", "ReplayGuardUnavailable"]


@runtime_checkable
class ReplayGuard(Protocol):
    """Remembers keys for ``ttl`` seconds (None: the guard's default). ``remember`` returns
    False when the key was already there. ``forget`` releases a key, so a delivery the app
    failed to process (a 5xx answer) is accepted when the provider retries it."""

    def remember(self, key: str, ttl: float | None) -> bool: ...

    async def aremember(self, key: str, ttl: float | None) -> bool: ...

    def forget(self, key: str) -> None: ...

    async def aforget(self, key: str) -> None: ...


EventHook = Callable[..., None]
"""``on_event(event, guard="memory", **fields)``, as the keyring's: for metrics and alerts."""

_RECOVERED_BELOW = 0.9  # a full episode ends once occupancy is under this share of maxsize


class InMemoryReplayGuard:
    """A per-process guard (cachetools TLRU cache behind a lock). For several replicas use
    a shared one (:class:`RedisReplayGuard`).

    ``maxsize`` keys at most, each kept for its ttl (twice the tolerance for timestamped
    schemes, ``ttl`` for the others). Full, it never evicts a live key (that would let its
    replay through): it drops the expired ones and, still full, raises
    :class:`~hookseal.errors.ReplayGuardUnavailable` (503, Retry-After: when the next key
    expires), logs an error once per episode and calls ``on_event("replay_guard_full", ...)``;
    ``"replay_guard_recovered"`` follows once there is room again. ``timer`` is monotonic.
    """

    def __init__(
        self,
        *,
        maxsize: int = 100_000,
        ttl: float = 86_400.0,
        timer: Callable[[], float] = time.monotonic,
        on_event: EventHook | None = None,
    ) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ConfigurationError("maxsize must be a positive int of keys")
        self.default_ttl = _positive_seconds(ttl)
        self.maxsize = maxsize
        self._timer = timer
        self._on_event = on_event
        self._lock = threading.Lock()
        # The value is the key's expiry on ``timer``: the soonest one gives Retry-After.
        self._cache: TLRUCache[str, float] = TLRUCache(
            maxsize=maxsize, ttu=_expires_at, timer=timer
        )
        self._refused = 0  # deliveries refused in the current full episode (0: not full)
        self._soonest: float | None = None  # the soonest expiry, found once per episode

    def remember(self, key: str, ttl: float | None = None) -> bool:
        """True the first time ``key`` is seen within ``ttl`` seconds (None: the default);
        raises ReplayGuardUnavailable when full of live keys."""
        lifetime = self.default_ttl if ttl is None else _positive_seconds(ttl)
        event: tuple[str, dict[str, Any]] | None = None
        with self._lock:
            cache = self._cache
            cache.expire()  # expired keys go first, so only live keys ever fill the guard
            if key in cache:
                return False
            if len(cache) >= self.maxsize:
                error, event = self._full()
            else:
                if self._refused and len(cache) < self.maxsize * _RECOVERED_BELOW:
                    event = ("replay_guard_recovered", {"refused": self._refused})
                    self._refused, self._soonest = 0, None
                cache[key] = self._timer() + lifetime
                error = None
        if event is not None:
            self._emit(event[0], **event[1])
        if error is not None:
            raise error
        return True

    async def aremember(self, key: str, ttl: float | None = None) -> bool:
        return self.remember(key, ttl)

    def forget(self, key: str) -> None:
        """Release ``key`` (no error when it is not there)."""
        with self._lock:
            self._cache.pop(key, None)

    async def aforget(self, key: str) -> None:
        self.forget(key)

    def __len__(self) -> int:
        with self._lock:
            self._cache.expire()
            return len(self._cache)

    def __repr__(self) -> str:
        return f"InMemoryReplayGuard(maxsize={self.maxsize}, ttl={self.default_ttl})"

    def _full(self) -> tuple[ReplayGuardUnavailable, tuple[str, dict[str, Any]] | None]:
        """The refusal while full (under the lock), and the event that starts an episode."""
        now = self._timer()
        if self._soonest is None or self._soonest <= now:  # O(n), once per episode or expiry
            self._soonest = min(self._cache.values())
        retry_after = max(1, math.ceil(self._soonest - now))
        first = self._refused == 0
        self._refused += 1
        error = ReplayGuardUnavailable(
            "The replay check is at capacity right now; retry later.", retry_after=retry_after
        )
        if not first:
            return error, None
        logger.error(
            "hookseal: InMemoryReplayGuard is full: %d live keys (maxsize); deliveries are "
            "refused with 503 (Retry-After %d s) until keys expire. Raise maxsize to hold every "
            "delivery received within a key's ttl, or use RedisReplayGuard",
            self.maxsize,
            retry_after,
        )
        return error, ("replay_guard_full", {"maxsize": self.maxsize, "retry_after": retry_after})

    def _emit(self, event: str, **fields: Any) -> None:
        hook = self._on_event
        if hook is None:
            return
        try:
            hook(event, guard="memory", **fields)
        except Exception:  # an observer must never break verification
            logger.exception("hookseal: replay guard on_event hook raised")


def _expires_at(_key: str, expiry: float, _now: float) -> float:
    return expiry


class RedisReplayGuard:
    """A guard shared by every replica: ``SET prefix+key 1 NX PX ttl`` in Redis, so a delivery
    replayed to another replica is refused too.

    ``url_or_client``: a ``redis://`` URL (clients made and closed here) or a redis-py client,
    sync or asyncio (left open; it is yours). When Redis cannot be reached the request fails
    closed with :class:`ReplayGuardUnavailable` (503 with Retry-After).
    """

    def __init__(
        self,
        url_or_client: Any,
        *,
        prefix: str = "hookseal:replay:",
        ttl: float = 86_400.0,
    ) -> None:
        from ._redis import RedisClients

        self.default_ttl = _positive_seconds(ttl)
        self.prefix = prefix
        self._clients = RedisClients(url_or_client, what="RedisReplayGuard")

    def remember(self, key: str, ttl: float | None = None) -> bool:
        """True the first time ``key`` is seen within ``ttl`` seconds, on any replica."""
        try:
            stored = self._clients.sync().set(self.prefix + key, b"1", nx=True, px=self._ms(ttl))
        except self._clients.redis.RedisError as exc:
            raise self._unavailable(exc) from None
        return bool(stored)

    async def aremember(self, key: str, ttl: float | None = None) -> bool:
        """:meth:`remember` without blocking the event loop."""
        try:
            stored = await self._clients.run(
                "set", self.prefix + key, b"1", nx=True, px=self._ms(ttl)
            )
        except self._clients.redis.RedisError as exc:
            raise self._unavailable(exc) from None
        return bool(stored)

    def forget(self, key: str) -> None:
        """Release ``key`` (the app failed after verifying, and the sender will retry)."""
        try:
            self._clients.sync().delete(self.prefix + key)
        except self._clients.redis.RedisError as exc:
            raise self._unavailable(exc) from None

    async def aforget(self, key: str) -> None:
        """:meth:`forget` without blocking the event loop."""
        try:
            await self._clients.run("delete", self.prefix + key)
        except self._clients.redis.RedisError as exc:
            raise self._unavailable(exc) from None

    def close(self) -> None:
        """Close the sync client made from a URL."""
        self._clients.close()

    async def aclose(self) -> None:
        """Close every client made from a URL."""
        await self._clients.aclose()

    def _ms(self, ttl: float | None) -> int:
        lifetime = self.default_ttl if ttl is None else _positive_seconds(ttl)
        return max(1, math.ceil(lifetime * 1000))

    def _unavailable(self, exc: BaseException) -> ReplayGuardUnavailable:
        logger.error("replay guard: Redis unavailable (%s)", type(exc).__name__)
        return ReplayGuardUnavailable()

    def __repr__(self) -> str:
        return f"RedisReplayGuard(prefix={self.prefix!r}, ttl={self.default_ttl})"


def _positive_seconds(ttl: object) -> float:
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 < ttl < math.inf:
        raise ConfigurationError("ttl must be a positive, finite number of seconds")
    return float(ttl)
