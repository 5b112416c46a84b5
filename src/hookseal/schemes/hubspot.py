"""HubSpot: v3 signs method + URI + body + timestamp; v2 and v1 are SHA-256 of secret + content.

``hubspot`` (v3): ``X-HubSpot-Signature-v3: <base64 HMAC-SHA256>`` over ``method + uri + body
+ timestamp``, the timestamp being ``X-HubSpot-Request-Timestamp`` in milliseconds; requests
older than 5 minutes are refused. HubSpot's page says to decode a few percent-escapes in the
URI first (``%3A`` ``%2F`` ``%3F`` ``%40`` ``%21`` ``%24`` ``%27`` ``%28`` ``%29`` ``%2A``
``%2C`` ``%3B``); its Python SDK (``hubspot.utils.signature.Signature``) signs the URI as given.
Both forms are tried (at most two checks per secret), so either sender is accepted. The SDK
refuses only timestamps more than 5 minutes old and accepts any future one; hookseal applies
the tolerance in both directions.

``hubspot-v2`` and ``hubspot-v1``: ``X-HubSpot-Signature: <hex SHA-256>`` of ``secret + method
+ uri + body`` (v2) or ``secret + body`` (v1), with ``X-HubSpot-Signature-Version``. They carry
no timestamp, so a captured request can be replayed: use v3 where HubSpot sends it (it sends
the older ones alongside, and v3 is never downgraded to them here: they are separate schemes).
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .._material import KeyMaterial, SecretHashMaterial
from ..errors import MalformedSignature
from ..headers import HeadersLike, read_headers
from ..secrets import Secret
from ._base import (
    Content,
    Presented,
    Proof,
    RequestScheme,
    RequestTarget,
    decode_base64,
    decode_hex_digest,
    method_of,
    require,
    require_url,
)
from ._record import parse_milliseconds

__all__ = ["HubSpot", "HubSpotLegacy"]

_V3, _STAMP = "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"
_V3_NAMES = (_V3.lower(), _STAMP.lower())
_LEGACY, _VERSION = "X-HubSpot-Signature", "X-HubSpot-Signature-Version"
_LEGACY_NAMES = (_LEGACY.lower(), _VERSION.lower())
_DECODED = {
    "3a": ":", "2f": "/", "3f": "?", "40": "@", "21": "!", "24": "$",
    "27": "'", "28": "(", "29": ")", "2a": "*", "2c": ",", "3b": ";",
}  # fmt: skip
_ESCAPE = re.compile("%(" + "|".join(_DECODED) + ")", re.IGNORECASE)


@dataclass(frozen=True)
class HubSpot(RequestScheme):
    """HubSpot signature v3 (webhooks, workflow actions, CRM cards), keyed with the app's
    client secret."""

    name = "hubspot"
    timestamped = True
    signs_request = True

    @property
    def header_names(self) -> tuple[str, ...]:
        return (_V3, _STAMP)

    def parse(self, headers: HeadersLike) -> Presented:
        return self.parse_request(headers, RequestTarget())

    def parse_request(self, headers: HeadersLike, target: RequestTarget) -> Presented:
        url = require_url(target, self.name)
        method = method_of(target)
        signature, stamp = read_headers(headers, _V3_NAMES, (_V3, _STAMP))
        digest = decode_base64(require(signature, _V3), 32, _V3)
        stamp = require(stamp, _STAMP, timestamp=True)
        seconds = parse_milliseconds(stamp, _STAMP)
        # The prefix holds method + URL; the timestamp's digits follow the body (complete()).
        return Presented((method + url).encode("utf-8"), (digest,), (), seconds)

    def complete(
        self, presented: Presented, body: bytes, headers: HeadersLike, target: RequestTarget
    ) -> Proof:
        stamp = require(read_headers(headers, _V3_NAMES, (_V3, _STAMP))[1], _STAMP).encode()
        contents: list[Content] = [(presented.prefix, body, stamp)]
        decoded = _decode_uri(presented.prefix.decode("utf-8"))
        if decoded != presented.prefix:
            contents.append((decoded, body, stamp))
        return Proof(presented, tuple(contents))

    def sign_request(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
        target: RequestTarget,
    ) -> dict[str, str]:
        stamp = str(timestamp * 1000)
        content = (method_of(target) + require_url(target, self.name)).encode("utf-8")
        digest = materials[0].sign(content + body + stamp.encode("ascii"))
        return {_V3: base64.b64encode(digest).decode("ascii"), _STAMP: stamp}


def _decode_uri(text: str) -> bytes:
    """The method + URI with HubSpot's few escapes decoded; worked out once per URI (an
    endpoint is called at one URL again and again), long ones every time."""
    if len(text) > _CACHED_LENGTH:
        return _decode(text)
    return _decode_cached(text)


def _decode(text: str) -> bytes:
    return _ESCAPE.sub(lambda m: _DECODED[m.group(1).lower()], text).encode("utf-8")


_CACHED_LENGTH = 2048
_decode_cached = functools.lru_cache(maxsize=256)(_decode)


@dataclass(frozen=True)
class HubSpotLegacy(RequestScheme):
    """HubSpot signature v2 (``secret + method + uri + body``) or v1 (``secret + body``)."""

    version: Literal["v1", "v2"] = "v2"
    material_kind = "secret-sha256"

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"hubspot-{self.version}")
        object.__setattr__(self, "signs_request", self.version == "v2")

    @property
    def header_names(self) -> tuple[str, ...]:
        return (_LEGACY, _VERSION)

    def derive(self, secret: Secret) -> KeyMaterial:
        return SecretHashMaterial(secret.reveal())

    def parse(self, headers: HeadersLike) -> Presented:
        return self.parse_request(headers, RequestTarget())

    def parse_request(self, headers: HeadersLike, target: RequestTarget) -> Presented:
        prefix = b""
        if self.version == "v2":
            prefix = (method_of(target) + require_url(target, self.name)).encode("utf-8")
        signature, version = read_headers(headers, _LEGACY_NAMES, (_LEGACY, _VERSION))
        digest = decode_hex_digest(require(signature, _LEGACY), _LEGACY)
        if version is not None and version.lower() != self.version:
            raise MalformedSignature(
                f"the {_VERSION} header says {version!r}; this endpoint expects {self.version}",
                header=_VERSION,
            )
        return Presented(prefix, (digest,))

    def sign_request(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
        target: RequestTarget,
    ) -> dict[str, str]:
        prefix = b""
        if self.version == "v2":
            prefix = (method_of(target) + require_url(target, self.name)).encode("utf-8")
        digest = materials[0].sign(prefix + body)
        return {_LEGACY: digest.hex(), _VERSION: self.version}
