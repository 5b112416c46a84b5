"""Replay guards: refuse a second delivery of the same signed message.

The key is signed material only: the scheme's message id where it has one (Standard Webhooks),
otherwise a SHA-256 of the signed content (timestamp and body), so the same delivery replayed
with only one of its rotation signatures is still recognised. A key is remembered for as long
as the message could still pass the timestamp check (twice the tolerance), or for the guard's
``ttl`` when the scheme has no timestamp.
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


class InMemoryReplayGuard:
    """A per-process guard (cachetools TLRU cache behind a lock). For several replicas use
    a shared one (:class:`RedisReplayGuard`)."""

    def __init__(
        self,
        *,
        maxsize: int = 100_000,
        ttl: float = 86_400.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if maxsize < 1 or ttl <= 0:
            raise ConfigurationError("maxsize and ttl must be positive")
        self.default_ttl = ttl
        self._lock = threading.Lock()
        self._cache: TLRUCache[str, float] = TLRUCache(
            maxsize=maxsize, ttu=_expires_at, timer=timer
        )

    def remember(self, key: str, ttl: float | None = None) -> bool:
        lifetime = self.default_ttl if ttl is None else ttl
        with self._lock:
            self._cache.expire()
            if key in self._cache:
                return False
            self._cache[key] = lifetime
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
        return f"InMemoryReplayGuard(maxsize={self._cache.maxsize}, ttl={self.default_ttl})"


def _expires_at(_key: str, lifetime: float, now: float) -> float:
    return now + lifetime


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
