"""Typed clients for the four provider APIs hookseal was designed against (``shared/seeds``).

Each client does what its page documents, with its auth, pagination and error bodies, and
nothing it does not; the secret sources (:mod:`hookseal.sources.retail`, ``.billing``,
``.payments``) are built on them, and so is rotation. Every call has a blocking and an asyncio
form (``list_webhooks`` / ``alist_webhooks``); every failure is a
:class:`~hookseal.providers.errors.ProviderError` (a ``SourceError``). Needs the ``http`` extra.

- :class:`RetailClient`: ``GET /internal/get-webhook-signatures`` (Spaaza session).
- :class:`BillingClient`: ``POST /webhooks/list``, every page (bearer token).
- :class:`PaymentsClient`: ``GET /webhooks/secrets``, ``DELETE /webhooks/secrets/{id}``, and the
  undocumented create (HTTP Basic with the secret key).
- :class:`IntegratorClient`: ``PUT /v1/integrator/webhook-secret``.
"""

from __future__ import annotations

from .billing import BillingClient, EndpointPage, WebhookEndpoint
from .errors import (
    BillingError,
    Constraint,
    IntegratorProblem,
    MalformedAnswer,
    NotListed,
    PaymentsError,
    ProviderError,
    ProviderUnreachable,
    RetailError,
)
from .integrator import IntegratorClient
from .payments import (
    CreatedWebhookSecret,
    DeletedWebhookSecret,
    PaymentsClient,
    SecretPage,
    WebhookSecretInfo,
)
from .retail import RetailClient, SpaazaSession, WebhookSignature

__all__ = [
    "BillingClient",
    "BillingError",
    "Constraint",
    "CreatedWebhookSecret",
    "DeletedWebhookSecret",
    "EndpointPage",
    "IntegratorClient",
    "IntegratorProblem",
    "MalformedAnswer",
    "NotListed",
    "PaymentsClient",
    "PaymentsError",
    "ProviderError",
    "ProviderUnreachable",
    "RetailClient",
    "RetailError",
    "SecretPage",
    "SpaazaSession",
    "WebhookEndpoint",
    "WebhookSecretInfo",
    "WebhookSignature",
]
