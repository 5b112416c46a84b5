"""Shopify: ``X-Shopify-Hmac-Sha256: <base64>``, HMAC-SHA256 of the raw body."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from .._material import KeyMaterial
from ..headers import HeadersLike, read_header
from ._base import Presented, Scheme, decode_base64, require

__all__ = ["Shopify"]

_HEADER = "X-Shopify-Hmac-Sha256"
_LOOKUP = (_HEADER.lower(),)


@dataclass(frozen=True)
class Shopify(Scheme):
    """Shopify webhooks: one base64 digest of the body, keyed with the app's client secret."""

    name = "shopify"

    @property
    def header_names(self) -> tuple[str, ...]:
        return (_HEADER,)

    def parse(self, headers: HeadersLike) -> Presented:
        value = require(read_header(headers, _LOOKUP[0], _HEADER), _HEADER)
        return Presented(b"", (decode_base64(value, 32, _HEADER),))

    def sign(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
    ) -> dict[str, str]:
        return {_HEADER: base64.b64encode(materials[0].sign(body)).decode()}
