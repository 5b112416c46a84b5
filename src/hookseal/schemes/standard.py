"""Standard Webhooks (and Svix): ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

The signed content is ``<id>.<timestamp>.<body>`` with the timestamp's literal digits. The
signature header holds space-separated ``<version>,<base64>`` entries: ``v1`` is HMAC-SHA256
keyed with the base64-decoded ``whsec_`` secret, ``v1a`` is Ed25519, checked with a ``whpk_``
public key (a ``whsk_`` private key both signs and verifies). Unknown versions are ignored.
The ``svix-`` header names are read when the ``webhook-`` ones are absent.

An Ed25519 signature does not say which key made it, and each check hashes the whole signed
content, so every ``v1a`` entry costs one full check per ``whpk_`` key. The entries are capped
at :data:`MAX_V1A_SIGNATURES` (more is malformed, refused before any check): a forged request
costs at most that many checks per key, instead of one per entry the header can hold.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass

from .._material import Ed25519Material, HmacMaterial, KeyMaterial
from ..errors import (
    ConfigurationError,
    MalformedMessageId,
    MalformedSignature,
    MissingMessageId,
    MissingSignature,
)
from ..headers import HeadersLike, read_headers
from ..secrets import Secret
from ._base import (
    MAX_SIGNATURES,
    MAX_TIMESTAMP_DIGITS,
    Presented,
    Scheme,
    base64_digest_or_none,
    decode_base64,
    parse_timestamp,
    require,
)

__all__ = ["MAX_V1A_SIGNATURES", "StandardWebhooks"]

_ID, _TIMESTAMP, _SIGNATURE = "webhook-id", "webhook-timestamp", "webhook-signature"
_WEBHOOK = (_ID, _TIMESTAMP, _SIGNATURE)
_SVIX = ("svix-id", "svix-timestamp", "svix-signature")
_MAX_ID_LENGTH = 256

MAX_V1A_SIGNATURES = 6
"""The most ``v1a`` entries one request may carry. Senders sign with one key per entry during a
rotation; Svix, the largest fan-out we know of, signs with the current key and at most five
previous ones (each kept 24 hours). A cap tied to the receiver's key count would refuse the
usual rotation (the receiver already holds only the new key while the sender still signs with
both), so the cap is this constant: a forged request costs at most six checks per key."""


@dataclass(frozen=True)
class StandardWebhooks(Scheme):
    """The Standard Webhooks specification (Svix, Clerk, Resend, OpenAI, ...)."""

    name = "standard"
    timestamped = True
    material_kind = "standard-webhooks"

    @property
    def header_names(self) -> tuple[str, ...]:
        return (_SIGNATURE, _ID, _TIMESTAMP)

    def parse(self, headers: HeadersLike) -> Presented:
        if type(headers) is dict:  # the usual shape: webhook-* names, one v1 signature
            wid, stamp = headers.get(_ID), headers.get(_TIMESTAMP)
            signature = headers.get(_SIGNATURE)
            if (
                type(signature) is str
                and type(wid) is str
                and type(stamp) is str
                and len(signature) == 47
                and signature.startswith("v1,")
                and 0 < len(wid) <= _MAX_ID_LENGTH
                and wid.isascii()
                and wid.isprintable()
                and " " not in wid
                and 0 < len(stamp) <= MAX_TIMESTAMP_DIGITS
                and stamp.isascii()
                and stamp.isdigit()
            ):
                digest = base64_digest_or_none(signature[3:])
                if digest is not None:
                    prefix = f"{wid}.{stamp}.".encode("ascii")
                    return Presented(prefix, (digest,), (), int(stamp), wid)
        return self._parse(headers)  # svix- names, several signatures, v1a: the careful way

    def _parse(self, headers: HeadersLike) -> Presented:
        wid, stamp, signature = read_headers(headers, _WEBHOOK)
        id_header, ts_header, sig_header = _WEBHOOK
        if signature is None:  # only then are the svix- names read (and checked)
            wid, stamp, signature = read_headers(headers, _SVIX)
            id_header, ts_header, sig_header = _SVIX
        signature = require(signature, sig_header)
        if not wid:
            raise MissingMessageId(f"the {id_header} header is missing", header=id_header)
        if len(wid) > _MAX_ID_LENGTH or not wid.isprintable() or " " in wid:
            raise MalformedMessageId(header=id_header)
        stamp = require(stamp, ts_header, timestamp=True)
        timestamp = parse_timestamp(stamp, ts_header)
        hmacs, eds = _signatures(signature, sig_header)
        prefix = f"{wid}.{stamp}.".encode("ascii")
        return Presented(prefix, hmacs, eds, timestamp, wid)

    def derive(self, secret: Secret) -> KeyMaterial:
        raw = secret.reveal()
        if raw.startswith(b"whpk_"):
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

            return Ed25519Material(Ed25519PublicKey.from_public_bytes(_key_bytes(raw, 32)))
        if raw.startswith(b"whsk_"):
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

            seed = _key_bytes(raw, 32, 64)[:32]
            private = Ed25519PrivateKey.from_private_bytes(seed)
            return Ed25519Material(private.public_key(), private)
        key = _key_bytes(raw[6:] if raw.startswith(b"whsec_") else raw)
        return HmacMaterial(key)

    def sign(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
    ) -> dict[str, str]:
        content = f"{message_id}.{timestamp}.".encode() + body
        entries = []
        for material in materials:
            version = "v1a" if isinstance(material, Ed25519Material) else "v1"
            entries.append(f"{version},{base64.b64encode(material.sign(content)).decode()}")
        return {_ID: message_id, _TIMESTAMP: str(timestamp), _SIGNATURE: " ".join(entries)}


def _signatures(value: str, header: str) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    entries = value.split()
    if len(entries) > MAX_SIGNATURES:
        raise MalformedSignature(f"the {header} header holds too many signatures", header=header)
    hmacs: list[bytes] = []
    eds: list[bytes] = []
    for entry in entries:
        version, sep, encoded = entry.partition(",")
        if not sep:
            raise MalformedSignature(
                f"the {header} header has an entry without a version", header=header
            )
        if version == "v1":
            hmacs.append(decode_base64(encoded, 32, header))
        elif version == "v1a":
            if len(eds) == MAX_V1A_SIGNATURES:  # each one would cost a check per whpk_ key
                raise MalformedSignature(
                    f"the {header} header holds more than {MAX_V1A_SIGNATURES} v1a signatures",
                    header=header,
                )
            eds.append(decode_base64(encoded, 64, header))
    if not hmacs and not eds:
        raise MissingSignature(f"the {header} header has no v1 or v1a signature", header=header)
    return tuple(hmacs), tuple(eds)


def _key_bytes(encoded: bytes, *sizes: int) -> bytes:
    """Decode a secret's base64 (padding optional); refuse anything else, naming no value."""
    body = encoded[5:] if encoded[:5] in (b"whpk_", b"whsk_") else encoded
    body = body.strip()
    try:
        raw = base64.b64decode(body + b"=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not raw or (sizes and len(raw) not in sizes):
        raise ConfigurationError(
            "a Standard Webhooks secret must be base64 (whsec_...), or a whpk_/whsk_ Ed25519 key"
        )
    return raw
