"""Replay guards: refuse a second delivery of the same signed message.

The key is signed material only: the scheme's message id where it has one (Standard Webhooks),
otherwise a SHA-256 of the signed content (timestamp and body), so the same delivery replayed
with only one of its rotation signatures is still recognised. A key is remembered for as long
as the message could still pass the timestamp check (twice the tolerance), or for the guard's
``ttl`` when the scheme has no timestamp.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from cachetools import TLRUCache

from .errors import ConfigurationError

__all__ = ["InMemoryReplayGuard", "ReplayGuard"]


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
    a shared one (``hookseal.replay_redis.RedisReplayGuard``)."""

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
