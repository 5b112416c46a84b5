"""The contract every secret source fulfils, so the keyring can refresh from any of them."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from .._futures import in_own_thread
from ..errors import HookSealError
from ..secrets import SecretSet

__all__ = ["Fetched", "SecretSource", "SourceError", "Subscribers", "Unsubscribe"]

Unsubscribe = Callable[[], None]
"""Returned by :meth:`SecretSource.subscribe`; call it to stop the notifications."""


class SourceError(HookSealError):
    """A source could not produce a usable secret set (unreachable, garbage, empty, expired).

    The message names the source and what went wrong, never a secret value.
    """


@dataclass(frozen=True)
class Fetched:
    """One successful fetch: the snapshot, and the source's own freshness hint if it has one
    (an HTTP ``Cache-Control: max-age``), which the keyring clamps to its bounds."""

    secrets: SecretSet
    ttl: float | None = None


class SecretSource(ABC):
    """Where secrets come from. ``fetch`` may block (files, HTTP); ``afetch`` must not block the
    event loop (the default runs ``fetch`` in a thread of its own). Raise :class:`SourceError` on
    failure; never return a partial or empty set unless the source was told that is allowed.

    A :class:`~hookseal.keyring.Keyring` calls ``fetch`` on a thread it owns, whatever kind of
    code asks it for secrets; only a source that is :attr:`async_only` is fetched with
    ``afetch``, on an event loop the keyring owns.
    """

    name: str = "source"

    @property
    def async_only(self) -> bool:
        """True when this source can fetch only through :meth:`afetch` (it was given an asyncio
        client or transport and no sync one). Sources that can do both keep this default."""
        return False

    @abstractmethod
    def fetch(self) -> Fetched:
        """Fetch the current secrets."""

    async def afetch(self) -> Fetched:
        """Fetch without blocking the event loop: the default runs :meth:`fetch` in a thread of
        its own, not in the loop's default executor, so a fetch that hangs cannot starve
        ``asyncio.to_thread`` and ``getaddrinfo`` (every outgoing connection of the app)."""
        return await in_own_thread(self.fetch, name=f"hookseal-{self.name}-fetch")

    def subscribe(self, callback: Callable[[], None]) -> Unsubscribe:
        """Ask to be told when the secrets may have changed (a watched file, a pub/sub message).

        ``callback`` takes no arguments, may be called from any thread, must return quickly and
        means "refresh now"; the keyring answers it with one single-flight fetch. Sources that
        cannot notify keep this default, which never calls back.
        """
        return _no_op

    def close(self) -> None:
        """Release connections, watchers and threads (idempotent)."""
        return None

    async def aclose(self) -> None:
        """:meth:`close` for asyncio code."""
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _no_op() -> None:
    return None


class Subscribers:
    """The callbacks of a source that can announce changes (a watched file, a pub/sub channel).

    Thread-safe; a callback that raises is logged and does not stop the others.
    """

    def __init__(self, source_name: str) -> None:
        self._source_name = source_name
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], object]] = []

    def add(self, callback: Callable[[], object]) -> Unsubscribe:
        """Register ``callback``; the returned function removes it again (idempotent)."""
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def notify(self) -> None:
        """Call every callback, outside the lock (a callback may unsubscribe itself)."""
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logging.getLogger("hookseal").exception(
                    "hookseal: %s: a change subscriber raised", self._source_name
                )

    def clear(self) -> None:
        with self._lock:
            self._callbacks.clear()
