"""Values from your store, liveness and windows from the provider: one source joining the two.

Several provider APIs never return a secret's value after creation (the payments API lists
ids, the billing API lists endpoints with ``rotate_at``). The values then live in a store of
yours (env, file, AWS, Redis: any :class:`SecretSource`), and the provider's API says which of
them are still in use and until when. :class:`JoinedSource` joins the two by secret id:

- a secret the listing names and the store holds is kept, its window narrowed to the
  listing's (the later ``not_before``, the earlier ``expires_at``; never widened);
- a secret the store holds but the listing does not name is dropped: deleted at the provider,
  or not in use (so it stops verifying at the next refresh);
- a secret the listing names but the store lacks is skipped with one warning (created at the
  provider, not stored yet), or is an error when the listing marks it ``required``.

A :class:`Listing` is the provider's side; :mod:`hookseal.sources.billing` and
:mod:`hookseal.sources.payments` are two small listings over their API clients.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import ConfigurationError
from ..secrets import Secret, SecretSet
from ._base import Fetched, SecretSource, SourceError, Unsubscribe

__all__ = ["JoinedSource", "Listed", "Listing"]

logger = logging.getLogger("hookseal")


@dataclass(frozen=True)
class Listed:
    """What a provider says about one secret id: it is in use, within this window (epoch
    seconds; None leaves the store's bound as it is). A ``required`` secret missing from the
    store fails the fetch instead of being skipped; a ``staged`` one (deployed ahead of a
    rotation the provider has not started) is skipped without a warning."""

    id: str
    not_before: float | None = None
    expires_at: float | None = None
    required: bool = False
    staged: bool = False


class Listing(ABC):
    """The provider's side of a :class:`JoinedSource`: which secret ids are in use now."""

    name: str = "listing"

    @abstractmethod
    def entries(self) -> Sequence[Listed]:
        """The ids in use, in the order to try them; raise SourceError on failure."""

    async def aentries(self) -> Sequence[Listed]:
        """:meth:`entries` without blocking the event loop (default: in a worker thread)."""
        return await asyncio.to_thread(self.entries)

    def close(self) -> None:
        return None

    async def aclose(self) -> None:
        self.close()


class JoinedSource(SecretSource):
    """Secrets from ``store``, kept and windowed by ``listing`` (see the module docstring).

    The set is in the listing's order. When nothing is left (the provider lists no secret the
    store holds) the fetch fails, unless ``allow_empty`` (then give the keyring
    ``allow_empty=True`` too, and requests are answered 503 until a secret exists again).
    A change announced by the store (a watched file, a Redis channel) is a change of this
    source; :meth:`close` closes both sides.
    """

    def __init__(
        self,
        store: SecretSource,
        listing: Listing,
        *,
        allow_empty: bool = False,
        name: str | None = None,
    ) -> None:
        if not isinstance(store, SecretSource):
            raise ConfigurationError("JoinedSource needs a SecretSource as its store")
        if not isinstance(listing, Listing):
            raise ConfigurationError("JoinedSource needs a Listing for the provider's side")
        self.store = store
        self.listing = listing
        self.allow_empty = allow_empty
        self.name = name if name is not None else f"{listing.name}+{store.name}"
        self._lock = threading.Lock()
        self._warned: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, store={self.store!r})"

    @property
    def async_only(self) -> bool:
        """As its store: a store that fetches only with asyncio makes the join so."""
        return self.store.async_only

    def fetch(self) -> Fetched:
        listed = self.listing.entries()  # first: a failing provider costs no store read
        return self._join(self.store.fetch(), listed)

    async def afetch(self) -> Fetched:
        stored, listed = await asyncio.gather(
            self.store.afetch(), self.listing.aentries(), return_exceptions=True
        )
        if isinstance(listed, BaseException):
            raise listed
        if isinstance(stored, BaseException):
            raise stored
        return self._join(stored, listed)

    def _join(self, stored: Fetched, listed: Sequence[Listed]) -> Fetched:
        held = stored.secrets
        kept: list[Secret] = []
        absent: list[str] = []
        for entry in listed:
            secret = held.get(entry.id)
            if secret is None:
                if entry.required:
                    raise SourceError(
                        f"{self.name}: {self.listing.name} says secret {entry.id!r} is in use, "
                        f"and {self.store.name} does not hold it"
                    )
                if not entry.staged:
                    absent.append(entry.id)
                continue
            narrowed = _narrow(secret, entry)
            if narrowed is not None:
                kept.append(narrowed)
        self._warn_absent(absent)
        if not kept and not self.allow_empty:
            raise SourceError(
                f"{self.name}: no secret is both in use at {self.listing.name} "
                f"({len(listed)} listed) and held by {self.store.name} ({len(held)} held)"
            )
        try:
            return Fetched(SecretSet(kept), stored.ttl)
        except ConfigurationError as exc:  # the listing named one id twice
            raise SourceError(f"{self.name}: {exc}") from None

    def _warn_absent(self, absent: list[str]) -> None:
        """One warning per newly missing id, not one per refresh."""
        with self._lock:
            new = [i for i in absent if i not in self._warned]
            self._warned = frozenset(absent)
        if new:
            logger.warning(
                "hookseal: %s: %s lists secret(s) %s in use that %s does not hold; "
                "deliveries signed with them cannot be verified until they are stored",
                self.name,
                self.listing.name,
                ", ".join(repr(i) for i in new),
                self.store.name,
            )

    def subscribe(self, callback: Callable[[], None]) -> Unsubscribe:
        return self.store.subscribe(callback)

    def close(self) -> None:
        self.listing.close()
        self.store.close()

    async def aclose(self) -> None:
        await self.listing.aclose()
        await self.store.aclose()


def _narrow(secret: Secret, entry: Listed) -> Secret | None:
    """``secret`` within both windows; None when they do not overlap (never valid)."""
    start = _later(secret.not_before, entry.not_before)
    end = _earlier(secret.expires_at, entry.expires_at)
    if start == secret.not_before and end == secret.expires_at:
        return secret
    if start is not None and end is not None and end <= start:
        return None
    return Secret(secret.reveal(), id=secret.id, not_before=start, expires_at=end)


def _later(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _earlier(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)
