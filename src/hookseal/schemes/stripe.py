"""Stripe: ``Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>...]`` over ``<ts>.<body>``.

The ``whsec_`` endpoint secret is the HMAC key as-is (it is not base64-decoded, unlike
Standard Webhooks). Several ``v1`` entries appear while an endpoint secret is being rolled;
other schemes (``v0``, test-mode extras) are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .._material import KeyMaterial
from ..errors import MalformedSignature, MalformedTimestamp, MissingSignature, MissingTimestamp
from ..headers import HeadersLike, read_header
from ._base import (
    MAX_SIGNATURES,
    MAX_TIMESTAMP_DIGITS,
    Presented,
    Scheme,
    decode_hex_digest,
    hex_digest_or_none,
    parse_timestamp,
    require,
)

__all__ = ["Stripe"]

_HEADER = "Stripe-Signature"
_LOOKUP = (_HEADER.lower(),)


@dataclass(frozen=True)
class Stripe(Scheme):
    """Stripe webhook endpoints."""

    name = "stripe"
    timestamped = True

    @property
    def header_names(self) -> tuple[str, ...]:
        return (_HEADER,)

    def parse(self, headers: HeadersLike) -> Presented:
        if type(headers) is dict:  # the usual "t=<digits>,v1=<hex>" in the usual spelling
            value = headers.get(_HEADER)
            if type(value) is str and value.startswith("t="):
                stamp, sep, rest = value[2:].partition(",v1=")
                if (
                    sep
                    and len(rest) == 64
                    and 0 < len(stamp) <= MAX_TIMESTAMP_DIGITS
                    and stamp.isascii()
                    and stamp.isdigit()
                ):
                    digest = hex_digest_or_none(rest)
                    if digest is not None:
                        return Presented(f"{stamp}.".encode(), (digest,), (), int(stamp))
        return self._parse(headers)  # several signatures, other spellings: the careful way

    def _parse(self, headers: HeadersLike) -> Presented:
        value = require(read_header(headers, _LOOKUP[0], _HEADER), _HEADER)
        items = value.split(",")
        if len(items) > MAX_SIGNATURES + 4:
            raise MalformedSignature(f"the {_HEADER} header has too many items", header=_HEADER)
        stamp: str | None = None
        digests: list[bytes] = []
        for item in items:
            key, sep, text = item.strip().partition("=")
            if not sep:
                raise MalformedSignature(
                    f"the {_HEADER} header has an item without '='", header=_HEADER
                )
            if key == "t":
                if stamp is not None:
                    raise MalformedTimestamp(
                        f"the {_HEADER} header has two timestamps", header=_HEADER
                    )
                stamp = text
            elif key == "v1":
                digests.append(decode_hex_digest(text, _HEADER))
        if stamp is None:
            raise MissingTimestamp(f"the {_HEADER} header has no t= timestamp", header=_HEADER)
        timestamp = parse_timestamp(stamp, _HEADER)
        if not digests:
            raise MissingSignature(f"the {_HEADER} header has no v1 signature", header=_HEADER)
        return Presented(f"{stamp}.".encode(), tuple(digests), (), timestamp)

    def sign(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
    ) -> dict[str, str]:
        stamp = str(timestamp)
        payload = stamp.encode() + b"." + body
        parts = [f"t={stamp}"] + [f"v1={m.sign(payload).hex()}" for m in materials]
        return {_HEADER: ",".join(parts)}
