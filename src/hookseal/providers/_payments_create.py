"""Creating a payments webhook secret: the one call here that the seed pages do not document.

The delete page refers to a "Create Webhook Secret endpoint" without documenting it. This
adapter follows the documented endpoints' conventions: the collection's path
(``/webhooks/secrets``) with ``POST`` and no parameters, HTTP Basic with the secret key, and an
answer that is a ``webhook_secret`` object (``id`` ``whsec_...``, ``livemode``,
``created_at``) plus the value, returned this once, in ``secret``. Every guess is a constant
below, so correcting it against the real page is a one-line change.

Only ``id`` and the value are required in the answer: once the provider has created the
secret, losing its value over a missing ``created_at`` would leave a secret nobody can use.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigurationError
from ..secrets import Secret
from . import _read as read
from ._http import ApiRequest, ApiResponse

__all__ = ["METHOD", "PATH", "VALUE_FIELD", "CreatedWebhookSecret", "parse", "request"]

METHOD = "POST"
PATH = "/webhooks/secrets"
OBJECT = "webhook_secret"
ID_PREFIX = "whsec_"
VALUE_FIELD = "secret"


@dataclass(frozen=True)
class CreatedWebhookSecret:
    """A new secret: ``secret`` holds its value (id: the ``whsec_`` id). Store it now: the
    API never shows it again."""

    id: str
    secret: Secret
    livemode: bool | None
    created_at: float | None


def request() -> ApiRequest:
    return ApiRequest(METHOD, PATH)


def parse(response: ApiResponse) -> CreatedWebhookSecret:
    top = read.obj(response.json(), "the answer")
    if top.get("object") != OBJECT:
        raise read.Shape(f"'object' is not {OBJECT!r}")
    secret_id = read.string(top, "id", "")
    if not secret_id.startswith(ID_PREFIX):
        raise read.Shape(f"id does not start with {ID_PREFIX}")
    value = read.string(top, VALUE_FIELD, "", nonempty=True)
    livemode = top.get("livemode")
    try:
        secret = Secret(value, id=secret_id)
    except ConfigurationError:
        raise read.Shape("the id or the value is not usable") from None
    return CreatedWebhookSecret(
        id=secret_id,
        secret=secret,
        livemode=livemode if isinstance(livemode, bool) else None,
        created_at=_created_at(top),
    )


def _created_at(top: dict[str, object] | object) -> float | None:
    try:
        return read.opt_instant(read.obj(top, ""), "created_at", "")
    except read.Shape:
        return None
