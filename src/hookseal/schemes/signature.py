"""The default scheme: one ``Signature`` header holding HMAC-SHA256 of the exact raw body.

This is what the integrator-style APIs send. Hex (64) or base64 (44) digests are accepted, with
an optional ``sha256=`` prefix, and several of them separated by commas or spaces (a sender
signing with the old and the new secret during a rotation). Header name, encoding and prefix
are options, so any simple "HMAC of the body in a header" provider can be matched.
``missing_hint`` is added to the refusal of a delivery without the header (the integrator API
sends none while no secret is set: ``hookseal.providers.integrator.signature_scheme()``).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .._material import HmacMaterial, KeyMaterial
from ..errors import ConfigurationError, MalformedSignature, MissingSignature
from ..headers import HeadersLike, read_header
from ._base import Presented, Scheme, decode_base64, decode_hex_digest, split_tokens

__all__ = ["Signature"]

Encoding = Literal["auto", "hex", "base64"]


@dataclass(frozen=True)
class Signature(Scheme):
    """``Signature: <hex or base64 HMAC-SHA256 of the body>[, <another>...]``."""

    header: str = "Signature"
    encoding: Encoding = "auto"
    prefix: str = "sha256="
    require_prefix: bool = False
    missing_hint: str = ""
    _lookup: tuple[str, ...] = field(init=False, repr=False, compare=False)

    name = "signature"

    def __post_init__(self) -> None:
        if not self.header or not self.header.isascii() or any(c in self.header for c in " :\t"):
            raise ConfigurationError("header must be a non-empty ASCII header name")
        if self.encoding not in ("auto", "hex", "base64"):
            raise ConfigurationError("encoding must be 'auto', 'hex' or 'base64'")
        if self.require_prefix and not self.prefix:
            raise ConfigurationError("require_prefix needs a prefix")
        hint = self.missing_hint
        if (
            not isinstance(hint, str)
            or len(hint) > 300
            or not (hint.isascii() and hint.isprintable())
        ):
            # it ends up in a problem body: one short line of plain text
            raise ConfigurationError("missing_hint must be printable ASCII, at most 300 characters")
        object.__setattr__(self, "_lookup", (self.header.lower(),))

    @property
    def header_names(self) -> tuple[str, ...]:
        return (self.header,)

    def parse(self, headers: HeadersLike) -> Presented:
        header = self.header
        value = read_header(headers, self._lookup[0], header)
        if not value:
            hint = f"; {self.missing_hint}" if self.missing_hint else ""
            raise MissingSignature(f"the {header} header is missing{hint}", header=header)
        if len(value) == 64 and self.encoding != "base64" and not self.require_prefix:
            # one bare hex digest: the usual case
            return Presented(b"", (decode_hex_digest(value, header),))
        digests = tuple(self._decode(token) for token in split_tokens(value, header))
        return Presented(b"", digests)

    def _decode(self, token: str) -> bytes:
        prefix = self.prefix
        if prefix and token[: len(prefix)].lower() == prefix.lower():
            token = token[len(prefix) :]
        elif self.require_prefix:
            raise MalformedSignature(
                f"each signature in the {self.header} header must start with {prefix!r}",
                header=self.header,
            )
        encoding = self.encoding
        if encoding == "auto":
            encoding = "hex" if len(token) == 64 else "base64"
        if encoding == "hex":
            return decode_hex_digest(token, self.header)
        return decode_base64(token, 32, self.header)

    def sign(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
    ) -> dict[str, str]:
        lead = self.prefix if self.require_prefix else ""
        parts = []
        for material in materials:
            digest = _hmac(material).digest(b"", body)
            text = base64.b64encode(digest).decode() if self.encoding == "base64" else digest.hex()
            parts.append(lead + text)
        return {self.header: ",".join(parts)}


def _hmac(material: KeyMaterial) -> HmacMaterial:
    if not isinstance(material, HmacMaterial):  # pragma: no cover - schemes derive HMAC only
        raise ConfigurationError("this scheme signs with HMAC secrets only")
    return material
