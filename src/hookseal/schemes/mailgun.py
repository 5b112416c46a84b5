"""Mailgun: the proof is inside the body; ``signature`` = hex HMAC-SHA256 of timestamp + token.

Webhooks post JSON ``{"signature": {"timestamp": "...", "token": "...", "signature": "..."},
"event-data": {...}}``; legacy webhooks and routes post a form with the same three fields at
the top level. Both are read from the raw bytes (parsed, never re-serialised). The key is the
HTTP webhook signing key.

The signature does NOT cover the body: it proves only that Mailgun made this timestamp and
token. Anyone holding one genuine delivery could attach other event data to its signature.
So every accepted delivery's token is its message id (a replay guard keys on it and refuses a
second use), and a short tolerance on the timestamp matters more than elsewhere. Mailgun does
not document a tolerance; 300 seconds is hookseal's default.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._material import KeyMaterial
from ..errors import BodyError, ConfigurationError, MalformedSignature, MissingSignature
from ..headers import HeadersLike
from ._base import Presented, Proof, RequestTarget, Scheme, decode_hex_digest, parse_timestamp
from ._record import valid_message_id
from .twilio import MAX_FIELDS

__all__ = ["Mailgun", "signed_body"]

_WHERE = "signature (in the body)"


@dataclass(frozen=True)
class Mailgun(Scheme):
    """Mailgun webhooks and route forwards (keyed with the HTTP webhook signing key)."""

    name = "mailgun"
    timestamped = True
    needs_body = True

    @property
    def header_names(self) -> tuple[str, ...]:
        return ()

    @property
    def signature_header(self) -> str:
        return _WHERE

    def parse(self, headers: HeadersLike) -> Presented:
        return Presented(b"", ())  # nothing in the headers: see complete()

    def complete(
        self, presented: Presented, body: bytes, headers: HeadersLike, target: RequestTarget
    ) -> Proof:
        fields = _fields(body)
        stamp, token, signature = (
            _text(fields, key) for key in ("timestamp", "token", "signature")
        )
        timestamp = parse_timestamp(stamp, _WHERE)
        if not valid_message_id(token):
            raise MalformedSignature("the token must be printable ASCII", header=_WHERE)
        digest = decode_hex_digest(signature, _WHERE)
        claims = Presented(b"", (digest,), (), timestamp, token)
        return Proof(claims, ((b"", (stamp + token).encode("ascii"), b""),))

    def sign(
        self, body: bytes, materials: Sequence[KeyMaterial], *, timestamp: int, message_id: str
    ) -> dict[str, str]:
        raise ConfigurationError(
            "mailgun's signature lives in the body, not in headers: build a delivery with "
            "hookseal.schemes.mailgun.signed_body(event_data, key)"
        )


def signed_body(event_data: Mapping[str, Any], key: str, *, timestamp: int, token: str) -> bytes:
    """A JSON delivery as Mailgun sends it (for tests and senders): the event data and the
    signature over ``timestamp + token`` with ``key``."""
    stamp = str(timestamp)
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    document = {
        "signature": {"timestamp": stamp, "token": token, "signature": signature},
        "event-data": dict(event_data),
    }
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def _fields(body: bytes) -> Mapping[str, Any]:
    """The object holding timestamp, token and signature, from a JSON or a form body."""
    if body.lstrip()[:1] == b"{":
        try:
            document = json.loads(body)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise BodyError("the JSON body could not be parsed") from exc
        found = document.get("signature") if isinstance(document, dict) else None
        if not isinstance(found, dict):
            raise MissingSignature("the body has no signature object", header=_WHERE)
        return found
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyError("the form body could not be parsed") from exc
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name in ("timestamp", "token", "signature"):
            if name in fields:
                raise MalformedSignature(f"the form has two {name} fields", header=_WHERE)
            fields[name] = value
    return fields


def _text(fields: Mapping[str, Any], key: str) -> str:
    value = fields.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "timestamp":
        value = str(value)
    if not isinstance(value, str) or not value:
        raise MissingSignature(f"the body's signature has no {key}", header=_WHERE)
    return value
