"""The contract every secret source fulfils, so the keyring can refresh from any of them."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import HookSealError
from ..secrets import SecretSet

__all__ = ["Fetched", "SecretSource", "SourceError", "Unsubscribe"]

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
    event loop (the default runs ``fetch`` in a worker thread). Raise :class:`SourceError` on
    failure; never return a partial or empty set unless the source was told that is allowed."""

    name: str = "source"

    @abstractmethod
    def fetch(self) -> Fetched:
        """Fetch the current secrets."""

    async def afetch(self) -> Fetched:
        """Fetch without blocking the event loop."""
        return await asyncio.to_thread(self.fetch)

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
