"""Slack: ``X-Slack-Signature: v0=<hex>`` over ``v0:<timestamp>:<body>``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .._material import KeyMaterial
from ..errors import MalformedSignature
from ..headers import HeadersLike, read_headers
from ._base import (
    MAX_TIMESTAMP_DIGITS,
    Presented,
    Scheme,
    decode_hex_digest,
    hex_digest_or_none,
    parse_timestamp,
    require,
)

__all__ = ["Slack"]

_SIGNATURE = "X-Slack-Signature"
_TIMESTAMP = "X-Slack-Request-Timestamp"
_LOOKUP = (_SIGNATURE.lower(), _TIMESTAMP.lower())
_SPELLINGS = (_SIGNATURE, _TIMESTAMP)


@dataclass(frozen=True)
class Slack(Scheme):
    """Slack's signing secret scheme (Events API, slash commands, interactivity)."""

    name = "slack"
    timestamped = True

    @property
    def header_names(self) -> tuple[str, ...]:
        return (_SIGNATURE, _TIMESTAMP)

    def parse(self, headers: HeadersLike) -> Presented:
        if type(headers) is dict:  # the usual shape, in the usual spelling: a short path
            signature, stamp = headers.get(_SIGNATURE), headers.get(_TIMESTAMP)
            if (
                type(signature) is str
                and type(stamp) is str
                and len(signature) == 67
                and signature.startswith("v0=")
                and 0 < len(stamp) <= MAX_TIMESTAMP_DIGITS
                and stamp.isascii()
                and stamp.isdigit()
            ):
                digest = hex_digest_or_none(signature[3:])
                if digest is not None:
                    return Presented(f"v0:{stamp}:".encode(), (digest,), (), int(stamp))
        return self._parse(headers)  # everything else, checked the careful way

    def _parse(self, headers: HeadersLike) -> Presented:
        signature, stamp = read_headers(headers, _LOOKUP, _SPELLINGS)
        signature = require(signature, _SIGNATURE)
        stamp = require(stamp, _TIMESTAMP, timestamp=True)
        timestamp = parse_timestamp(stamp, _TIMESTAMP)
        if signature[:3] != "v0=":
            raise MalformedSignature(
                f"the {_SIGNATURE} header must start with 'v0='", header=_SIGNATURE
            )
        digest = decode_hex_digest(signature[3:], _SIGNATURE)
        return Presented(f"v0:{stamp}:".encode(), (digest,), (), timestamp)

    def sign(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
    ) -> dict[str, str]:
        stamp = str(timestamp)
        digest = materials[0].sign(b"v0:" + stamp.encode() + b":" + body)
        return {_SIGNATURE: "v0=" + digest.hex(), _TIMESTAMP: stamp}
