"""The billing API as a source: values from your store, the window from the endpoint's rotate_at.

Built on :class:`hookseal.providers.billing.BillingClient` (seed page
``billing-list-webhook-endpoints.txt``). The listing never carries a secret value, so the
values come from your own store as two ids, ``current`` and ``previous`` by default; the API
supplies the window. The endpoint (found by id or URL across every page) carries ``rotate_at``
while a rotation is in progress: the previous secret then verifies until ``rotate_at`` (plus
the verifier's leeway) and the current one throughout. With no rotation in progress only the
current secret is kept, whatever else the store holds, except a ``staged_id`` secret: one
deployed to every replica before the provider is switched to it (``hookseal rotate``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConfigurationError
from ..providers.billing import BillingClient, WebhookEndpoint
from ._base import SecretSource
from .joined import JoinedSource, Listed, Listing

__all__ = ["BillingSource", "BillingWindow"]


class BillingWindow(Listing):
    """The rotation window of one endpoint: ``current_id`` always (required), and
    ``previous_id`` until ``rotate_at`` while the endpoint has one; ``staged_id`` (when given)
    whenever the store holds it."""

    def __init__(
        self,
        client: BillingClient,
        *,
        endpoint_id: str | None = None,
        endpoint_url: str | None = None,
        current_id: str = "current",
        previous_id: str = "previous",
        staged_id: str | None = None,
    ) -> None:
        if not isinstance(client, BillingClient):
            raise ConfigurationError("BillingWindow needs a hookseal.providers.BillingClient")
        if (endpoint_id is None) == (endpoint_url is None):
            raise ConfigurationError("give exactly one of endpoint_id= or endpoint_url=")
        if not current_id or not previous_id or current_id == previous_id:
            raise ConfigurationError("current_id and previous_id must be two different ids")
        if staged_id is not None and (not staged_id or staged_id in (current_id, previous_id)):
            raise ConfigurationError("staged_id must differ from current_id and previous_id")
        self.client = client
        self.endpoint_id = endpoint_id
        self.endpoint_url = endpoint_url
        self.current_id = current_id
        self.previous_id = previous_id
        self.staged_id = staged_id
        self.name = f"billing:{client.http.host}:{endpoint_id or endpoint_url}"

    def entries(self) -> Sequence[Listed]:
        return self._window(self.client.find_webhook(id=self.endpoint_id, url=self.endpoint_url))

    async def aentries(self) -> Sequence[Listed]:
        endpoint = await self.client.afind_webhook(id=self.endpoint_id, url=self.endpoint_url)
        return self._window(endpoint)

    def _window(self, endpoint: WebhookEndpoint) -> list[Listed]:
        listed = [Listed(self.current_id, required=True)]
        if endpoint.rotate_at is not None:
            listed.append(Listed(self.previous_id, expires_at=endpoint.rotate_at))
        if self.staged_id is not None:
            listed.append(Listed(self.staged_id, staged=True))
        return listed


class BillingSource(JoinedSource):
    """``store``'s ``current`` and ``previous`` secrets, windowed by the endpoint's
    ``rotate_at`` (see the module docstring); a :class:`JoinedSource` over a
    :class:`BillingWindow`."""

    def __init__(
        self,
        store: SecretSource,
        client: BillingClient,
        *,
        endpoint_id: str | None = None,
        endpoint_url: str | None = None,
        current_id: str = "current",
        previous_id: str = "previous",
        staged_id: str | None = None,
        name: str | None = None,
    ) -> None:
        window = BillingWindow(
            client,
            endpoint_id=endpoint_id,
            endpoint_url=endpoint_url,
            current_id=current_id,
            previous_id=previous_id,
            staged_id=staged_id,
        )
        super().__init__(store, window, name=name)
