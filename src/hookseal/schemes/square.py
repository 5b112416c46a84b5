"""Square: ``x-square-hmacsha256-signature: <base64>``, HMAC-SHA256 of notification URL + body.

The URL is the subscription's notification URL exactly as entered in the Developer Console
(Square's SDK takes it as ``notification_url``), which is the URL the request was sent to:
pass ``url=``. The older ``x-square-signature`` (HMAC-SHA1 of the same content) is not read.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from .._material import KeyMaterial
from ..headers import HeadersLike, read_header
from ._base import (
    Presented,
    RequestScheme,
    RequestTarget,
    decode_base64,
    require,
    require_url,
)

__all__ = ["Square"]

_HEADER = "x-square-hmacsha256-signature"


@dataclass(frozen=True)
class Square(RequestScheme):
    """Square webhook subscriptions (keyed with the subscription's signature key)."""

    name = "square"
    signs_request = True

    @property
    def header_names(self) -> tuple[str, ...]:
        return (_HEADER,)

    def parse(self, headers: HeadersLike) -> Presented:
        return self.parse_request(headers, RequestTarget())

    def parse_request(self, headers: HeadersLike, target: RequestTarget) -> Presented:
        url = require_url(target, self.name)
        value = require(read_header(headers, _HEADER, _HEADER), _HEADER)
        return Presented(url.encode("utf-8"), (decode_base64(value, 32, _HEADER),))

    def sign_request(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
        target: RequestTarget,
    ) -> dict[str, str]:
        content = require_url(target, self.name).encode("utf-8") + body
        return {_HEADER: base64.b64encode(materials[0].sign(content)).decode("ascii")}
