"""A source merging several, so that one failing child does not take the others down.

Each child's part is remembered when it succeeds. When a child fails, its last good part is
used instead (for up to ``max_stale`` seconds since that child last succeeded); the composite
fails only when every child fails and none has a usable last part.

Secret ids must be unique across children. The same id with the very same secret (value and
window) is merged into one; the same id for different secrets is refused with a
:class:`SourceError` naming both children (the keyring then keeps its last good set and logs
it). We refuse rather than rename: renaming would silently change the ids an operator watches
in ``matches_by_secret_id`` and in ``Verified.secret_id``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable

from ..errors import ConfigurationError
from ..secrets import Secret, SecretSet
from ._base import Fetched, SecretSource, SourceError, Unsubscribe

__all__ = ["CompositeSource"]

logger = logging.getLogger("hookseal")


class CompositeSource(SecretSource):
    """Merges the sets of ``sources`` (in order). The freshness hint is the shortest child's."""

    def __init__(
        self,
        *sources: SecretSource,
        max_stale: float = 86_400.0,
        monotonic: Callable[[], float] = time.monotonic,
        name: str | None = None,
    ) -> None:
        if not sources or not all(isinstance(s, SecretSource) for s in sources):
            raise ConfigurationError("CompositeSource needs one or more SecretSource children")
        if isinstance(max_stale, bool) or not max_stale > 0:
            raise ConfigurationError("max_stale must be a positive number of seconds")
        self.sources = sources
        self.max_stale = float(max_stale)
        self._monotonic = monotonic
        self.name = (
            name if name is not None else "composite(" + ",".join(s.name for s in sources) + ")"
        )
        self._lock = threading.Lock()
        self._parts: dict[int, tuple[Fetched, float]] = {}

    @property
    def async_only(self) -> bool:
        """One child that fetches only with asyncio makes the whole composite so."""
        return any(source.async_only for source in self.sources)

    def fetch(self) -> Fetched:
        outcomes: list[Fetched | Exception] = []
        for source in self.sources:
            try:
                outcomes.append(source.fetch())
            except Exception as exc:
                outcomes.append(exc)
        return self._merge(outcomes)

    async def afetch(self) -> Fetched:
        results = await asyncio.gather(*(s.afetch() for s in self.sources), return_exceptions=True)
        outcomes: list[Fetched | Exception] = []
        for result in results:
            if isinstance(result, (Exception, Fetched)):
                outcomes.append(result)
            else:
                raise result  # CancelledError and friends
        return self._merge(outcomes)

    def _merge(self, outcomes: list[Fetched | Exception]) -> Fetched:
        now = self._monotonic()
        parts: list[tuple[SecretSource, Fetched]] = []
        errors: list[str] = []
        with self._lock:
            for index, (source, outcome) in enumerate(zip(self.sources, outcomes, strict=True)):
                if isinstance(outcome, Fetched):
                    self._parts[index] = (outcome, now)
                    parts.append((source, outcome))
                    continue
                reason = (
                    str(outcome) if isinstance(outcome, SourceError) else type(outcome).__name__
                )
                errors.append(f"{source.name}: {reason}")
                kept = self._parts.get(index)
                if kept is not None and now - kept[1] <= self.max_stale:
                    logger.warning(
                        "hookseal: %s: child %s failed (%s); using its last good part (%.0f s old)",
                        self.name,
                        source.name,
                        reason,
                        now - kept[1],
                    )
                    parts.append((source, kept[0]))
                else:
                    logger.warning(
                        "hookseal: %s: child %s failed (%s) and has no usable last part",
                        self.name,
                        source.name,
                        reason,
                    )
        if not parts:
            raise SourceError(f"{self.name}: every child failed: " + "; ".join(errors))
        return Fetched(_union(parts), _shortest(f.ttl for _, f in parts))

    def subscribe(self, callback: Callable[[], None]) -> Unsubscribe:
        """A change in any child is a change of the composite."""
        unsubscribes = [s.subscribe(callback) for s in self.sources]

        def unsubscribe() -> None:
            for each in unsubscribes:
                each()

        return unsubscribe

    def close(self) -> None:
        for source in self.sources:
            source.close()

    async def aclose(self) -> None:
        for source in self.sources:
            await source.aclose()


def _union(parts: list[tuple[SecretSource, Fetched]]) -> SecretSet:
    merged: dict[str, tuple[SecretSource, Secret]] = {}
    for source, fetched in parts:
        for secret in fetched.secrets:
            seen = merged.get(secret.id)
            if seen is None:
                merged[secret.id] = (source, secret)
            elif seen[1] != secret:
                raise SourceError(
                    f"secret id {secret.id!r} comes from both {seen[0].name} and {source.name} "
                    "for different secrets; give them distinct ids"
                )
    return SecretSet(secret for _, secret in merged.values())


def _shortest(ttls: Iterable[float | None]) -> float | None:
    known = [t for t in ttls if t is not None]
    return min(known) if known else None
