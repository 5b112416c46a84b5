"""The retail API as a source: every active, undeleted signature key of a chain verifies.

Built on :class:`hookseal.providers.retail.RetailClient` (seed page
``retail-get-webhook-signatures.txt``). The API returns the values themselves, so no store is
needed. Several keys can be active at once, and all of them are candidates; a key the
provider deactivates or deletes stops verifying at the next refresh. Each secret's id is the
key's integer id as text (``"56"``). An error envelope or a non-2xx answer fails the fetch
with a :class:`~hookseal.providers.errors.RetailError` naming the provider's code and name.
"""

from __future__ import annotations

from ..errors import ConfigurationError
from ..providers.retail import RetailClient, WebhookSignature
from ..secrets import SecretSet
from ._base import Fetched, SecretSource, SourceError

__all__ = ["RetailSource"]


class RetailSource(SecretSource):
    """The signature keys of ``chain_id``. ``exclude_inactive`` (default True) asks the API
    for active keys only; inactive and deleted keys are dropped here either way."""

    def __init__(
        self,
        client: RetailClient,
        chain_id: int,
        *,
        exclude_inactive: bool = True,
        name: str | None = None,
    ) -> None:
        if not isinstance(client, RetailClient):
            raise ConfigurationError("RetailSource needs a hookseal.providers.RetailClient")
        if isinstance(chain_id, bool) or not isinstance(chain_id, int):
            raise ConfigurationError("RetailSource: chain_id must be an integer")
        self.client = client
        self.chain_id = chain_id
        self.exclude_inactive = exclude_inactive
        self.name = name if name is not None else f"retail:{client.http.host}:chain {chain_id}"

    def __repr__(self) -> str:
        return f"RetailSource(name={self.name!r}, chain_id={self.chain_id!r})"

    def fetch(self) -> Fetched:
        keys = self.client.get_webhook_signatures(
            self.chain_id, exclude_inactive=self.exclude_inactive
        )
        return self._fetched(keys)

    async def afetch(self) -> Fetched:
        keys = await self.client.aget_webhook_signatures(
            self.chain_id, exclude_inactive=self.exclude_inactive
        )
        return self._fetched(keys)

    def _fetched(self, keys: list[WebhookSignature]) -> Fetched:
        usable = [key.secret for key in keys if key.usable]
        if not usable:
            raise SourceError(
                f"{self.name}: no active, undeleted signature key among the {len(keys)} returned"
            )
        return Fetched(SecretSet(usable))
