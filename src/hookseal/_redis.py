"""Redis clients for the Redis-backed parts (secret source, replay guard), made lazily.

Users pass a URL or a client of their own. From a URL both a sync and an asyncio client are
made on first use and closed by us; a client the user gave is used as it is and left open (it
is theirs). redis-py is imported only here, so ``import hookseal`` works without it.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

from .errors import ConfigurationError

__all__ = ["RedisClients", "import_redis"]


def import_redis(what: str = "hookseal's Redis support") -> Any:
    """The ``redis`` module, or a ConfigurationError naming the extra that installs it."""
    try:
        import redis
        import redis.asyncio
    except ImportError as exc:
        from ._extras import missing_extra

        raise missing_extra(what, "redis", "redis") from exc
    return redis


def is_async_client(client: Any) -> bool:
    """True for a ``redis.asyncio`` client (its commands are coroutines)."""
    return inspect.iscoroutinefunction(getattr(client, "execute_command", None))


class RedisClients:
    """One URL or client, handed out as a sync and/or an asyncio client."""

    def __init__(self, url_or_client: Any, *, what: str) -> None:
        self.redis = import_redis(what)
        self.what = what
        self._lock = threading.Lock()
        self._url: str | None = None
        self._sync: Any = None
        self._async: Any = None
        self._owned = False
        if isinstance(url_or_client, str):
            if not url_or_client.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigurationError(f"{what} needs a redis://, rediss:// or unix:// URL")
            self._url = url_or_client
            self._owned = True
        elif is_async_client(url_or_client):
            self._async = url_or_client
        elif callable(getattr(url_or_client, "execute_command", None)):
            self._sync = url_or_client
        else:
            raise ConfigurationError(f"{what} needs a Redis URL or a redis-py client")

    @property
    def can_sync(self) -> bool:
        return self._url is not None or self._sync is not None

    def sync(self) -> Any:
        """The sync client; made from the URL on first use."""
        with self._lock:
            if self._sync is None:
                if self._url is None:
                    raise ConfigurationError(
                        f"{self.what} was given an asyncio client: use its async methods, "
                        "or give a URL or a sync client"
                    )
                self._sync = self.redis.Redis.from_url(self._url)
            return self._sync

    def async_client(self) -> Any:
        """The asyncio client, or None when only a sync client was given (use a thread)."""
        if self._async is None and self._url is not None:
            self._async = self.redis.asyncio.Redis.from_url(self._url)
        return self._async

    async def run(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run one command without blocking the loop: natively, or in a worker thread."""
        client = self.async_client()
        if client is None:
            return await asyncio.to_thread(getattr(self.sync(), name), *args, **kwargs)
        return await getattr(client, name)(*args, **kwargs)

    def close(self) -> None:
        """Close the sync client we made (asyncio clients need :meth:`aclose`)."""
        if not self._owned:
            return
        with self._lock:
            client, self._sync = self._sync, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Close every client we made."""
        if self._owned:
            client, self._async = self._async, None
            if client is not None:
                await client.aclose()
        self.close()
