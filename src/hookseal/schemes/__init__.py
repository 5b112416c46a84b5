"""The providers hookseal speaks: 30+ schemes, most of them data, a few of them code.

How a scheme is shaped, and why:

- **Prefix + body (most providers).** The signed content is ``prefix + body``: the prefix is
  built from headers (``v0:<ts>:``, ``<id>.<ts>.``, ``<ts>:`` or nothing), so the body is hashed
  as it streams in, once, whatever its size. These providers are *data*:
  :class:`HeaderScheme` records in :mod:`.catalogue` (header, label, hash, encoding, several
  signatures or one, a timestamp header in seconds/ms/RFC 3339 or a ``t=..,v1=..`` list, an id
  header, the prefix template, the default tolerance, the key kind: HMAC, Ed25519, ECDSA P-256
  or a bare token). The six first schemes (Signature, GitHub, Standard Webhooks, Stripe, Slack,
  Shopify) are the same shape written as classes with short paths tuned for the benchmarks.
- **The request line and the whole body (the few).** A scheme sets ``signs_request`` when the
  URL and/or method are signed (Twilio, Square, HubSpot) and ``needs_body`` when its proof can
  only be completed from the complete body (Twilio's form fields, Mailgun's JSON signature,
  Linear's JSON timestamp). The verifier sends those through one general path
  (:mod:`hookseal._general`): ``parse_request(headers, target)``, then ``complete(presented,
  body, ...)`` returns a :class:`Proof`: the claims and one or two candidate contents
  ``prefix + middle + suffix`` (HubSpot v3 puts its timestamp after the body; Twilio's URL is
  tried with and without its default port). The body is still the raw bytes: parsed where the
  provider signs fields, never re-serialised. The tuned path of the prefix + body schemes is
  not touched by any of this (one flag test per call).

The request line: ``verify(..., url=..., method=...)``, ``sign(..., url=...)``, and the same
on :class:`~hookseal.Verifier` (``verify``, ``averify``, ``begin``, ``abegin``, ``sign``). A
scheme that signs the URL and gets none raises :class:`~hookseal.errors.ConfigurationError`
from that call: a missing URL is a set-up mistake of the caller or the adapter, never the
sender's fault, so it must not become a 4xx the provider would read as "your delivery is bad";
it is loud (an exception, a 500, the provider retries) and found on the first request. It
cannot be caught at construction, because ``url=`` comes per request; adapters that know they
cannot build a URL check :attr:`Scheme.signs_request` at start-up instead.

Every scheme refuses malformed input with the typed errors of :mod:`hookseal.errors`, bounds
the signatures it reads (one for public keys, at most 16 otherwise), and costs a forged request
at most two checks per active secret.
"""

from __future__ import annotations

from ..errors import ConfigurationError
from ._base import Content, Presented, Proof, RequestTarget, Scheme
from ._record import HeaderScheme
from .catalogue import RECORDS
from .github import GitHub
from .hubspot import HubSpot, HubSpotLegacy
from .linear import Linear
from .mailgun import Mailgun
from .plaid import Plaid
from .shopify import Shopify
from .signature import Signature
from .slack import Slack
from .sns import Sns
from .square import Square
from .standard import StandardWebhooks
from .stripe import Stripe
from .twilio import Twilio

__all__ = [
    "ALIASES",
    "Content",
    "GitHub",
    "HeaderScheme",
    "HubSpot",
    "HubSpotLegacy",
    "Linear",
    "Mailgun",
    "Plaid",
    "Presented",
    "Proof",
    "RequestTarget",
    "Scheme",
    "Shopify",
    "Signature",
    "Slack",
    "Sns",
    "Square",
    "StandardWebhooks",
    "Stripe",
    "Twilio",
    "by_name",
    "family",
    "names",
    "schemes",
]

_SCHEMES: tuple[Scheme, ...] = (
    Signature(),
    GitHub(),
    StandardWebhooks(),
    Stripe(),
    Slack(),
    Shopify(),
    *RECORDS,
    Linear(),
    Square(),
    HubSpot(),
    HubSpotLegacy("v2"),
    HubSpotLegacy("v1"),
    Twilio(),
    Twilio("HMAC_SHA256"),
    Mailgun(),
    Sns(),
    Plaid(),
)

ALIASES: dict[str, str] = {
    "standardwebhooks": "standard",
    "standard-webhooks": "standard",
    "svix": "standard",
    "clerk": "standard",
    "resend": "standard",
    "facebook": "meta",
    "instagram": "meta",
    "whatsapp": "meta",
    "gitea": "github",
    "forgejo": "github",
}
"""Other names of the same scheme: providers that send exactly another one's format."""

_BY_NAME: dict[str, Scheme] = {scheme.name: scheme for scheme in _SCHEMES}
_BY_NAME.update({alias: _BY_NAME[target] for alias, target in ALIASES.items()})


def schemes() -> tuple[Scheme, ...]:
    """Every scheme, once each (aliases not repeated)."""
    return _SCHEMES


def names() -> tuple[str, ...]:
    """The names :func:`by_name` understands (scheme names and aliases)."""
    return tuple(_BY_NAME)


def family(scheme: Scheme) -> str:
    """What kind of proof a scheme checks, for listings and benchmarks."""
    if scheme.fetches_keys:
        return "fetched key"
    if scheme.material_kind in ("ed25519-hex", "ecdsa-p256"):
        return "public key"
    if scheme.material_kind == "token":
        return "shared token"
    if scheme.signs_request:
        return "signed URL"
    if scheme.needs_body and not scheme.header_names:
        return "in the body"
    if scheme.timestamped:
        return "timestamp + body"
    return "body"


def by_name(name: str | Scheme) -> Scheme:
    """A scheme from its name (as used in settings files and on the command line)."""
    if isinstance(name, Scheme):
        return name
    if not isinstance(name, str):
        raise ConfigurationError("scheme must be a Scheme instance or a scheme name")
    try:
        return _BY_NAME[name.strip().lower()]
    except KeyError:
        raise ConfigurationError(
            f"unknown scheme {name!r}; choose one of {', '.join(sorted(_BY_NAME))}"
        ) from None
