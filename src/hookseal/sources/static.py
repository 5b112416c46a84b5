"""A source that always returns the same secrets (tests, or secrets baked into config)."""

from __future__ import annotations

from collections.abc import Iterable

from ..secrets import SecretLike, SecretSet
from ._base import Fetched, SecretSource

__all__ = ["StaticSource"]


class StaticSource(SecretSource):
    """Serves one fixed set. Useful to give a keyring's stats and hooks to static secrets."""

    def __init__(
        self, secrets: SecretLike | Iterable[SecretLike] | SecretSet, *, name: str = "static"
    ) -> None:
        self.secrets = SecretSet.coerce(secrets)
        self.name = name

    def fetch(self) -> Fetched:
        return Fetched(self.secrets)

    async def afetch(self) -> Fetched:
        return Fetched(self.secrets)
