"""The payments API as a source: values in your store by ``whsec_`` id, liveness from the listing.

Built on :class:`hookseal.providers.payments.PaymentsClient` (seed pages
``payments-list-webhook-secrets.txt`` and ``payments-delete-webhook-secret.txt``). A secret's
value is shown once, at creation, so your store keeps it under its ``whsec_`` id; the paginated
listing says which ids still exist. A secret deleted at the provider is no longer listed and
stops verifying at the next refresh. ``livemode`` keeps test and live secrets apart: only
secrets of the chosen mode are used (by default the secret key's own mode).

Deleting the only secret leaves nothing to verify with, as the delete page warns
("verification will fail until you create a new one"). By default that fetch fails, so the
keyring keeps its last good set up to ``max_stale`` and logs the failure; with
``allow_empty=True`` here and on the keyring, requests are refused with 503 at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConfigurationError
from ..providers.payments import PaymentsClient, WebhookSecretInfo
from ._base import SecretSource
from .joined import JoinedSource, Listed, Listing

__all__ = ["PaymentsListing", "PaymentsSource"]


class PaymentsListing(Listing):
    """The ids of the account's secrets in ``livemode``, newest first."""

    def __init__(self, client: PaymentsClient, *, livemode: bool | None = None) -> None:
        if not isinstance(client, PaymentsClient):
            raise ConfigurationError("PaymentsListing needs a hookseal.providers.PaymentsClient")
        mode = client.livemode if livemode is None else livemode
        if mode is None:
            raise ConfigurationError(
                "the secret key's mode is not known from its prefix: give livemode=True or False"
            )
        self.client = client
        self.livemode = mode
        self.name = f"payments:{client.http.host}:{'live' if mode else 'test'}"

    def entries(self) -> Sequence[Listed]:
        return self._listed(self.client.list_webhook_secrets(order="reverse_chronological"))

    async def aentries(self) -> Sequence[Listed]:
        infos = await self.client.alist_webhook_secrets(order="reverse_chronological")
        return self._listed(infos)

    def _listed(self, infos: list[WebhookSecretInfo]) -> list[Listed]:
        newest_first = sorted(infos, key=lambda info: info.created_at, reverse=True)
        return [Listed(info.id) for info in newest_first if info.livemode == self.livemode]


class PaymentsSource(JoinedSource):
    """``store``'s secrets whose ``whsec_`` ids the payments API still lists in ``livemode``;
    a :class:`JoinedSource` over a :class:`PaymentsListing`."""

    def __init__(
        self,
        store: SecretSource,
        client: PaymentsClient,
        *,
        livemode: bool | None = None,
        allow_empty: bool = False,
        name: str | None = None,
    ) -> None:
        listing = PaymentsListing(client, livemode=livemode)
        super().__init__(store, listing, allow_empty=allow_empty, name=name)
