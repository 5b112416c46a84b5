"""Header formats of the providers hookseal speaks: one small module each.

========================  =====================================  ==================================
scheme                    headers                                signed content
========================  =====================================  ==================================
``Signature`` (default)   ``Signature``                          body
``GitHub``                ``X-Hub-Signature-256``                body
``StandardWebhooks``      ``webhook-id/-timestamp/-signature``   ``id.timestamp.body``
``Stripe``                ``Stripe-Signature``                   ``timestamp.body``
``Slack``                 ``X-Slack-Signature``, ``...-Timestamp``  ``v0:timestamp:body``
``Shopify``               ``X-Shopify-Hmac-Sha256``              body
========================  =====================================  ==================================
"""

from __future__ import annotations

from ..errors import ConfigurationError
from ._base import Presented, Scheme
from .github import GitHub
from .shopify import Shopify
from .signature import Signature
from .slack import Slack
from .standard import StandardWebhooks
from .stripe import Stripe

__all__ = [
    "GitHub",
    "Presented",
    "Scheme",
    "Shopify",
    "Signature",
    "Slack",
    "StandardWebhooks",
    "Stripe",
    "by_name",
    "names",
]

_BY_NAME: dict[str, type[Scheme]] = {
    "signature": Signature,
    "github": GitHub,
    "standard": StandardWebhooks,
    "standardwebhooks": StandardWebhooks,
    "standard-webhooks": StandardWebhooks,
    "svix": StandardWebhooks,
    "stripe": Stripe,
    "slack": Slack,
    "shopify": Shopify,
}


def names() -> tuple[str, ...]:
    """The names :func:`by_name` understands."""
    return tuple(_BY_NAME)


def by_name(name: str | Scheme) -> Scheme:
    """A scheme instance from its name (as used in settings files and on the command line)."""
    if isinstance(name, Scheme):
        return name
    if not isinstance(name, str):
        raise ConfigurationError("scheme must be a Scheme instance or a scheme name")
    try:
        return _BY_NAME[name.strip().lower()]()
    except KeyError:
        raise ConfigurationError(
            f"unknown scheme {name!r}; choose one of {', '.join(sorted(set(_BY_NAME)))}"
        ) from None
