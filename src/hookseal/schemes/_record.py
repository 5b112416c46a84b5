"""A provider as data: the header, its label, the hash, the encoding, what is signed, the clock.

:class:`HeaderScheme` covers every provider whose proof is a header (or a few) and whose signed
content is ``<something built from the headers> + body``: GitHub-style ``sha256=<hex>``,
bare hex or base64 digests, several ``v1=`` entries during a rotation, ``t=<ts>,v1=<hex>``
lists, a separate timestamp header (Unix seconds, milliseconds or RFC 3339) and a message-id
header, with HMAC (SHA-1, SHA-256, SHA-512), Ed25519, ECDSA P-256 or a bare shared token. A
new provider is one ``HeaderScheme(...)`` line in :mod:`hookseal.schemes.catalogue` and a test
vector. The signed content is ``prefix + body``, so these schemes stream like the built-in six.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .._material import (
    HASHES,
    EcdsaMaterial,
    Ed25519Material,
    HmacMaterial,
    KeyMaterial,
    TokenMaterial,
)
from ..errors import (
    ConfigurationError,
    MalformedMessageId,
    MalformedSignature,
    MalformedTimestamp,
    MissingMessageId,
    MissingSignature,
    MissingTimestamp,
)
from ..headers import HeadersLike, read_headers
from ..secrets import Secret
from ._base import (
    MAX_SIGNATURES,
    Presented,
    Scheme,
    _strict_b64decode,
    parse_timestamp,
    require,
)

__all__ = ["HeaderScheme", "parse_rfc3339", "valid_message_id"]

KeyKind = Literal["hmac", "ed25519", "ecdsa", "token"]
Encoding = Literal["hex", "base64"]
StampFormat = Literal["seconds", "milliseconds", "rfc3339"]

_MAX_ID_LENGTH = 256
_MAX_MS_DIGITS = 15
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|([+-])(\d{2}):(\d{2}))"
)


@dataclass(frozen=True)
class HeaderScheme(Scheme):
    """One provider, described by data; see the module docstring for what it covers.

    ``template`` is what is signed before the body, with ``{timestamp}`` and ``{id}`` replaced
    by the header values exactly as received. ``fields`` = ``(separator, timestamp key,
    signature key)`` reads a ``t=<ts>,v1=<sig>`` list from the signature header itself.
    """

    name: str
    header: str
    label: str = ""
    """Text before each signature in the header (``sha256=``, ``v0=``); compared ignoring case."""
    algorithm: str = "sha256"
    encoding: Encoding = "hex"
    key: KeyKind = "hmac"
    several: bool = False
    """The header may hold several comma-separated signatures (one per secret, in a rotation)."""
    timestamp_header: str | None = None
    id_header: str | None = None
    fields: tuple[str, str, str] | None = None
    template: str = ""
    stamp: StampFormat = "seconds"
    tolerance: float = 300.0
    _names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _spellings: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _size: int = field(init=False, repr=False, compare=False)
    _short: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.key == "hmac" and self.algorithm not in HASHES:
            raise ConfigurationError(f"algorithm must be one of {HASHES}")
        if self.encoding not in ("hex", "base64") or self.stamp not in (
            "seconds",
            "milliseconds",
            "rfc3339",
        ):
            raise ConfigurationError("encoding must be hex or base64; stamp seconds, ms or rfc3339")
        spellings = tuple(
            h for h in (self.header, self.timestamp_header, self.id_header) if h is not None
        )
        if any(not h or not h.isascii() or any(c in h for c in " :\t") for h in spellings):
            raise ConfigurationError("header names must be non-empty ASCII header names")
        stamped = self.timestamp_header is not None or self.fields is not None
        size = {"hmac": 0, "ed25519": 64, "ecdsa": 72, "token": 32}[self.key]
        if self.key == "hmac":
            size = hashlib.new(self.algorithm).digest_size
        kind = {
            "hmac": "utf8" if self.algorithm == "sha256" else f"utf8-{self.algorithm}",
            "ed25519": "ed25519-hex",
            "ecdsa": "ecdsa-p256",
            "token": "token",
        }[self.key]
        short = (  # one bare HMAC signature header: parse() has a short path for plain dicts
            self.key == "hmac" and not stamped and self.id_header is None and not self.several
        )
        for name, value in (
            ("_short", short),
            ("_names", tuple(h.lower() for h in spellings)),
            ("_spellings", spellings),
            ("_size", size),
            ("timestamped", stamped),
            ("material_kind", kind),
            ("default_tolerance", float(self.tolerance)),
        ):
            object.__setattr__(self, name, value)

    @property
    def header_names(self) -> tuple[str, ...]:
        return self._spellings

    # -- reading ------------------------------------------------------------------------------

    def parse(self, headers: HeadersLike) -> Presented:
        if self._short and type(headers) is dict:  # the usual shape, in the usual spelling
            value = headers.get(self.header)
            if type(value) is str:
                label = self.label
                size = self._size
                if value[: len(label)].lower() == label.lower():
                    token = value[len(label) :]
                    digest = (
                        _hex_or_none(token, size)
                        if self.encoding == "hex"
                        else _base64_or_none(token, size)
                    )
                    if digest is not None:
                        return Presented(b"", (digest,))
        return self._parse(headers)  # everything else, checked the careful way

    def _parse(self, headers: HeadersLike) -> Presented:
        values = read_headers(headers, self._names, self._spellings)
        value = require(values[0], self.header)
        stamp: str | None = None
        if self.fields is not None:
            stamp, tokens = self._fields(value)
        else:
            tokens = self._tokens(value)
        if self.timestamp_header is not None:
            stamp = require(values[1], self.timestamp_header, timestamp=True)
        seconds = None if stamp is None else self._seconds(stamp)
        message_id = None
        if self.id_header is not None:
            message_id = values[-1]
            if not message_id:
                raise MissingMessageId(
                    f"the {self.id_header} header is missing", header=self.id_header
                )
            if not valid_message_id(message_id):
                raise MalformedMessageId(header=self.id_header)
        digests = tuple(self._decode(token) for token in tokens)
        prefix = self._prefix(stamp, message_id)
        if self.key in ("ed25519", "ecdsa"):
            return Presented(prefix, (), digests, seconds, message_id)
        return Presented(prefix, digests, (), seconds, message_id)

    def _tokens(self, value: str) -> list[str]:
        tokens = [t.strip(" \t") for t in value.split(",")] if self.several else [value]
        if len(tokens) > MAX_SIGNATURES:
            raise MalformedSignature(
                f"the {self.header} header holds too many signatures", header=self.header
            )
        label = self.label
        if not label:
            return tokens
        size = len(label)
        for token in tokens:
            if token[:size].lower() != label.lower():
                raise MalformedSignature(
                    f"each signature in the {self.header} header must start with {label!r}",
                    header=self.header,
                )
        return [token[size:] for token in tokens]

    def _fields(self, value: str) -> tuple[str, list[str]]:
        """``t=<ts>,v1=<sig>,...``: the timestamp and the signatures; other keys are ignored."""
        separator, stamp_key, signature_key = self.fields or (",", "t", "v1")
        items = value.split(separator)
        if len(items) > MAX_SIGNATURES + 4:
            raise MalformedSignature(
                f"the {self.header} header has too many items", header=self.header
            )
        stamp: str | None = None
        tokens: list[str] = []
        for item in items:
            key, sep, text = item.strip(" \t").partition("=")
            if not sep:
                raise MalformedSignature(
                    f"the {self.header} header has an item without '='", header=self.header
                )
            if key == stamp_key:
                if stamp is not None:
                    raise MalformedTimestamp(
                        f"the {self.header} header has two timestamps", header=self.header
                    )
                stamp = text
            elif key == signature_key:
                tokens.append(text)
        if stamp is None:
            raise MissingTimestamp(
                f"the {self.header} header has no {stamp_key}= timestamp", header=self.header
            )
        if not tokens:
            raise MissingSignature(
                f"the {self.header} header has no {signature_key}= signature", header=self.header
            )
        return stamp, tokens

    def _seconds(self, stamp: str) -> int:
        header = self.timestamp_header or self.header
        if self.stamp == "seconds":
            return parse_timestamp(stamp, header)
        if self.stamp == "milliseconds":
            return parse_milliseconds(stamp, header)
        return parse_rfc3339(stamp, header)

    def _decode(self, token: str) -> bytes:
        header = self.header
        if self.key == "token":  # the shared secret itself: compared as a digest, never as text
            if not token:
                raise MissingSignature(f"the {header} header is empty", header=header)
            return hashlib.sha256(token.encode("ascii")).digest()
        raw: bytes | None = None
        if self.encoding == "hex":
            if len(token) == 2 * self._size or (self.key == "ecdsa" and len(token) % 2 == 0):
                try:
                    raw = bytes.fromhex(token)
                except ValueError:
                    raw = None
                if raw is not None and len(token) != 2 * len(raw):
                    raw = None  # bytes.fromhex skips spaces: "ab cd" is not 4 hex digits
        else:
            try:
                raw = _strict_b64decode(token)
            except (binascii.Error, ValueError):
                raw = None
        if raw is not None and (
            len(raw) == self._size if self.key != "ecdsa" else 8 <= len(raw) <= self._size
        ):
            return raw
        what = f"{self.encoding} of {self._size} bytes" if self.key != "ecdsa" else "base64 DER"
        raise MalformedSignature(
            f"the {header} header holds a signature that is not {what}", header=header
        )

    def _prefix(self, stamp: str | None, message_id: str | None) -> bytes:
        template = self.template
        if not template:
            return b""
        if stamp is not None:
            template = template.replace("{timestamp}", stamp)
        if message_id is not None:
            template = template.replace("{id}", message_id)
        return template.encode("ascii")

    # -- keys ---------------------------------------------------------------------------------

    def derive(self, secret: Secret) -> KeyMaterial:
        kind = self.key
        if kind == "hmac":
            super().derive(secret)  # refuses a whpk_ public key used as an HMAC secret
            return HmacMaterial(secret.reveal(), self.algorithm)
        if kind == "token":
            return TokenMaterial(secret.reveal())
        if kind == "ed25519":
            return ed25519_material(secret.reveal(), self.name)
        return ecdsa_material(secret.reveal(), self.name)

    # -- signing ------------------------------------------------------------------------------

    def sign(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
    ) -> dict[str, str]:
        stamp = format_stamp(timestamp, self.stamp)
        has_stamp = self.timestamped
        prefix = self._prefix(stamp if has_stamp else None, message_id if self.id_header else None)
        chosen = materials if (self.several or self.fields) else materials[:1]
        signatures = [self._encode(m, prefix + body) for m in chosen]
        headers: dict[str, str] = {}
        if self.fields is not None:
            separator, stamp_key, signature_key = self.fields
            parts = [f"{stamp_key}={stamp}"] + [f"{signature_key}={s}" for s in signatures]
            headers[self.header] = separator.join(parts)
        else:
            headers[self.header] = ",".join(self.label + s for s in signatures)
        if self.timestamp_header is not None:
            headers[self.timestamp_header] = stamp
        if self.id_header is not None:
            headers[self.id_header] = message_id
        return headers

    def _encode(self, material: KeyMaterial, message: bytes) -> str:
        if self.key == "token":
            return material.sign(b"").decode("ascii")
        raw = material.sign(message)
        return raw.hex() if self.encoding == "hex" else base64.b64encode(raw).decode("ascii")


def _hex_or_none(token: str, size: int) -> bytes | None:
    if len(token) != 2 * size:
        return None
    try:
        raw = bytes.fromhex(token)
    except ValueError:
        return None
    return raw if len(raw) == size else None


def _base64_or_none(token: str, size: int) -> bytes | None:
    try:
        raw = _strict_b64decode(token)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def valid_message_id(message_id: str) -> bool:
    """1 to 256 printable ASCII characters without a space (what a replay key can hold)."""
    return (
        0 < len(message_id) <= _MAX_ID_LENGTH
        and message_id.isascii()
        and message_id.isprintable()
        and " " not in message_id
    )


def parse_milliseconds(text: str, header: str) -> int:
    """1 to 15 ASCII digits of Unix time in milliseconds, as whole seconds."""
    if 0 < len(text) <= _MAX_MS_DIGITS and text.isascii() and text.isdigit():
        return int(text) // 1000
    raise MalformedTimestamp(
        "the timestamp must be 1 to 15 ASCII digits of Unix time in milliseconds", header=header
    )


def parse_rfc3339(text: str, header: str) -> int:
    """An RFC 3339 date-time (Twitch sends nanoseconds and ``Z``), as whole Unix seconds."""
    match = _RFC3339.fullmatch(text) if len(text) <= 40 and text.isascii() else None
    if match is not None:
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        sign, off_h, off_m = match.group(7), match.group(8), match.group(9)
        if 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61:
            try:
                seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
            except (ValueError, OverflowError):
                seconds = None
            if seconds is not None:
                if sign is not None:
                    offset = int(off_h) * 3600 + int(off_m) * 60
                    seconds -= offset if sign == "+" else -offset
                return seconds
    raise MalformedTimestamp("the timestamp must be an RFC 3339 date-time", header=header)


def format_stamp(timestamp: int, form: StampFormat) -> str:
    """How a sender writes ``timestamp`` (epoch seconds) in this scheme's format."""
    if form == "milliseconds":
        return str(timestamp * 1000)
    if form == "rfc3339":
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))
    return str(timestamp)


def ed25519_material(raw: bytes, scheme: str) -> Ed25519Material:
    """An Ed25519 public key as 64 hex digits (as Discord shows it), or a PEM private key (for
    a sender, or a test, that signs); anything else is a ConfigurationError naming no value."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    text = raw.strip()
    if text.startswith(b"-----BEGIN"):
        private = _pem_private(text)
        if isinstance(private, Ed25519PrivateKey):
            return Ed25519Material(private.public_key(), private)
    elif len(text) == 64:
        try:
            return Ed25519Material(Ed25519PublicKey.from_public_bytes(bytes.fromhex(text.decode())))
        except (ValueError, UnicodeDecodeError):
            pass
    raise ConfigurationError(
        f"a {scheme} key must be the Ed25519 public key as 64 hex digits (or a PEM private key)"
    )


def ecdsa_material(raw: bytes, scheme: str) -> EcdsaMaterial:
    """An ECDSA P-256 public key as base64 DER (as SendGrid shows it), a PEM public key, or a
    PEM private key (for a sender, or a test, that signs)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import (
        load_der_public_key,
        load_pem_public_key,
    )

    text = raw.strip()
    public: object = None
    private: object = None
    try:
        if text.startswith(b"-----BEGIN PUBLIC KEY"):
            public = load_pem_public_key(text)
        elif text.startswith(b"-----BEGIN"):
            private = _pem_private(text)
            public = (
                private.public_key() if isinstance(private, ec.EllipticCurvePrivateKey) else None
            )
        else:
            public = load_der_public_key(base64.b64decode(b"".join(text.split()), validate=True))
    except (ValueError, TypeError, binascii.Error):
        public = None
    if isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):
        signer = private if isinstance(private, ec.EllipticCurvePrivateKey) else None
        return EcdsaMaterial(public, signer)
    raise ConfigurationError(
        f"a {scheme} key must be an ECDSA P-256 public key, base64 DER as the dashboard shows it"
    )


def _pem_private(text: bytes) -> object:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(text, password=None)
    except (ValueError, TypeError):
        return None
