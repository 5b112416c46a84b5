"""What every scheme shares: the parsed proof of a request, the hooks, and the parsing helpers."""

from __future__ import annotations

import base64
import binascii
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from .._material import HmacMaterial, KeyMaterial
from ..errors import (
    ConfigurationError,
    MalformedSignature,
    MalformedTimestamp,
    MissingSignature,
    MissingTimestamp,
)
from ..headers import HeadersLike
from ..secrets import Secret

__all__ = [
    "MAX_SIGNATURES",
    "Content",
    "Deferred",
    "Presented",
    "Proof",
    "RequestTarget",
    "Scheme",
]

MAX_SIGNATURES = 16
"""More signatures than this in one request is refused: it only buys an attacker CPU time."""

MAX_TIMESTAMP_DIGITS = 12


class RequestTarget(NamedTuple):
    """The request line as the provider called it, for the schemes that sign it.

    ``url``: the full URL (scheme, host, port if any, path, query) exactly as the provider sent
    the request; ``method``: the HTTP method in upper case. Either may be None when the caller
    did not give it; a scheme that needs it then raises a ConfigurationError.
    """

    url: str | None = None
    method: str | None = None


Body = bytes | bytearray | memoryview

Content = tuple[bytes, Body, bytes]
"""One candidate signed content: ``prefix + middle + suffix`` (``middle`` is usually the body)."""


class Deferred(Protocol):
    """The part of a proof checked only after a secret matched: a signature whose public key
    must be fetched (SNS, Plaid). Running it after the match means a request that names an
    unexpected topic (or fails any cheaper check) never causes a fetch."""

    def run(self, secret: Secret) -> None:
        """Check, with the secret that matched (Plaid fetches its key with that API secret);
        raise SignatureMismatch, or SigningKeyUnavailable (503) when the key cannot be had."""

    async def arun(self, secret: Secret) -> None:
        """:meth:`run` for asyncio code: a fetch is awaited, never blocked on."""


class Proof(NamedTuple):
    """A complete proof: the claims, and the content they sign (one or a few candidates, e.g.
    the URL with and without its default port; a request passes if one of them matches).
    ``deferred``: a check to run once a secret matched (see :class:`Deferred`)."""

    presented: Presented
    contents: tuple[Content, ...]
    deferred: Deferred | None = None


class Presented:
    """What a request claims: the signed content's prefix (the body follows it), the signatures
    as raw digest bytes, and the signed timestamp and message id where the scheme has them."""

    __slots__ = ("ed25519_signatures", "hmac_signatures", "message_id", "prefix", "timestamp")

    def __init__(
        self,
        prefix: bytes,
        hmac_signatures: tuple[bytes, ...],
        ed25519_signatures: tuple[bytes, ...] = (),
        timestamp: int | None = None,
        message_id: str | None = None,
    ) -> None:
        self.prefix = prefix
        self.hmac_signatures = hmac_signatures
        self.ed25519_signatures = ed25519_signatures
        self.timestamp = timestamp
        self.message_id = message_id

    def __repr__(self) -> str:
        return (
            f"Presented(signatures={len(self.hmac_signatures) + len(self.ed25519_signatures)}, "
            f"timestamp={self.timestamp!r}, message_id={self.message_id!r})"
        )


class Scheme(ABC):
    """A provider's header format: how to read a request's proof and how to sign one.

    Most schemes sign ``prefix + body``, hashed as the body streams in: they implement
    :meth:`parse` and :meth:`sign`. The few that sign the request line (``signs_request``) or
    must read the complete body (``needs_body``) also implement :meth:`parse_request`,
    :meth:`complete` and :meth:`sign_request`; the verifier sends them through its general
    path (see :mod:`hookseal.schemes`).
    """

    name: str
    timestamped: bool = False
    """Whether requests carry a signed timestamp (checked against the verifier's tolerance)."""
    material_kind: str = "utf8"
    """How a secret becomes key material; schemes sharing a kind share the derived material."""
    default_tolerance: float = 300.0
    """Seconds a signed timestamp may differ from now unless the verifier is told otherwise:
    the provider's own figure where it documents one."""
    signs_request: bool = False
    """The signed content includes the request's URL and/or method (``url=``, ``method=``)."""
    needs_body: bool = False
    """The proof can only be completed from the whole body (form fields, JSON fields)."""
    fetches_keys: bool = False
    """The provider's public key is fetched, named by the request (SNS, Plaid)."""

    @property
    @abstractmethod
    def header_names(self) -> tuple[str, ...]:
        """The request headers this scheme reads, in their usual spelling (for docs and OpenAPI)."""

    @property
    def signature_header(self) -> str:
        """The header that carries the signature (named in errors and in the OpenAPI schema)."""
        return self.header_names[0]

    @abstractmethod
    def parse(self, headers: HeadersLike) -> Presented:
        """Read the proof from ``headers``; raises a VerificationError for anything malformed."""

    @abstractmethod
    def sign(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
    ) -> dict[str, str]:
        """Headers proving ``body`` with each of ``materials`` (one-signature schemes: first)."""

    def parse_request(self, headers: HeadersLike, target: RequestTarget) -> Presented:
        """:meth:`parse` for the general path: the request line is at hand too."""
        return self.parse(headers)

    def complete(
        self, presented: Presented, body: bytes, headers: HeadersLike, target: RequestTarget
    ) -> Proof:
        """The proof once the whole body is known (general path); default: ``prefix + body``."""
        return _new_tuple(Proof, (presented, ((presented.prefix, body, b""),), None))  # Proof()

    def sign_request(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
        target: RequestTarget,
    ) -> dict[str, str]:
        """:meth:`sign` for the schemes that sign the request line too."""
        return self.sign(body, materials, timestamp=timestamp, message_id=message_id)

    def derive(self, secret: Secret) -> KeyMaterial:
        """Turn a secret into key material; the default is HMAC over the value's bytes as-is.

        A Standard Webhooks ``whpk_`` public key is refused: as an HMAC key it would let
        anyone who has the public key sign requests.
        """
        raw = secret.reveal()
        if raw.startswith(b"whpk_"):
            raise ConfigurationError(
                f"secret {secret.id} is a whpk_ public key, not a secret: it only verifies "
                "Standard Webhooks v1a signatures"
            )
        return HmacMaterial(raw)

    def material(self, secret: Secret) -> KeyMaterial:
        """The secret's key material for this scheme, derived once and kept on the secret."""
        cache = secret._material
        found: KeyMaterial | None = cache.get(self.material_kind)
        if found is None:
            found = self.derive(secret)
            cache[self.material_kind] = found
        return found


def require(value: str | None, header: str, *, timestamp: bool = False) -> str:
    """The header's value, or the right 'missing' error when it is absent or empty."""
    if not value:
        if timestamp:
            raise MissingTimestamp(f"the {header} header is missing", header=header)
        raise MissingSignature(f"the {header} header is missing", header=header)
    return value


def parse_timestamp(text: str, header: str) -> int:
    """1 to 12 ASCII digits of Unix time; anything else is malformed (never int() on junk)."""
    if 0 < len(text) <= MAX_TIMESTAMP_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    raise MalformedTimestamp(header=header)


def hex_digest_or_none(token: str) -> bytes | None:
    """64 hex digits as 32 bytes, or None (the fast paths fall back to the careful one)."""
    try:
        raw = bytes.fromhex(token)
    except ValueError:
        return None
    return raw if len(raw) == 32 and len(token) == 64 else None


def base64_digest_or_none(token: str) -> bytes | None:
    """Strict base64 of 32 bytes, or None (the fast paths fall back to the careful one)."""
    try:
        raw = _strict_b64decode(token)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def decode_hex_digest(token: str, header: str) -> bytes:
    """64 hex digits to 32 bytes, or MalformedSignature."""
    if len(token) == 64:
        try:
            raw = bytes.fromhex(token)
        except ValueError:
            pass
        else:
            if len(raw) == 32:
                return raw
    raise MalformedSignature(
        f"the {header} header holds a signature that is not 64 hex digits", header=header
    )


_STRICT_MODE = sys.version_info >= (3, 11)
_new_tuple = tuple.__new__

if sys.version_info >= (3, 11):

    def _strict_b64decode(token: str) -> bytes:
        """``base64.b64decode(token, validate=True)`` minus its Python wrapper (same call)."""
        return binascii.a2b_base64(token, strict_mode=True)

else:  # pragma: no cover - Python 3.10 has no strict_mode

    def _strict_b64decode(token: str) -> bytes:
        return base64.b64decode(token, validate=True)


def decode_base64(token: str, size: int, header: str, *, urlsafe: bool = False) -> bytes:
    """Standard (padded) base64 of exactly ``size`` bytes, or MalformedSignature."""
    try:
        if urlsafe:
            raw = base64.urlsafe_b64decode(token)
        elif _STRICT_MODE:  # _strict_b64decode inlined: one frame less per request
            raw = binascii.a2b_base64(token, strict_mode=True)  # type: ignore[call-arg]
        else:  # pragma: no cover - Python 3.10
            raw = _strict_b64decode(token)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == size:
        return raw
    raise MalformedSignature(
        f"the {header} header holds a signature that is not base64 of {size} bytes", header=header
    )


def split_tokens(value: str, header: str) -> list[str]:
    """Signatures separated by commas and/or spaces; at least one, at most MAX_SIGNATURES."""
    tokens = value.replace(",", " ").split()
    if not tokens:
        raise MissingSignature(f"the {header} header is empty", header=header)
    if len(tokens) > MAX_SIGNATURES:
        raise MalformedSignature(f"the {header} header holds too many signatures", header=header)
    return tokens


def require_url(target: RequestTarget, scheme: str) -> str:
    """The URL a scheme signs; its absence is a set-up mistake (the adapter or the caller must
    pass ``url=``), so it is a ConfigurationError, never blamed on the sender."""
    url = target.url
    if not isinstance(url, str) or not url:
        raise ConfigurationError(
            f"the {scheme} scheme signs the request URL: pass url= (the full URL the provider "
            "called, e.g. 'https://example.com/hooks?x=1') to verify() or sign()"
        )
    return url


def method_of(target: RequestTarget) -> str:
    """The HTTP method, upper case; POST (what webhooks use) when none was given."""
    method = target.method
    if method is None:
        return "POST"
    if not isinstance(method, str) or not method.isascii() or not method.isalpha():
        raise ConfigurationError("method must be an HTTP method such as 'POST'")
    return method.upper()


class RequestScheme(Scheme):
    """A scheme whose signature covers the request line (or may: HubSpot's v2): :meth:`sign` is
    :meth:`sign_request` without a URL, which such a scheme refuses, naming ``url=``."""

    def sign(
        self, body: bytes, materials: Sequence[KeyMaterial], *, timestamp: int, message_id: str
    ) -> dict[str, str]:
        return self.sign_request(
            body, materials, timestamp=timestamp, message_id=message_id, target=RequestTarget()
        )

    @abstractmethod
    def sign_request(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
        target: RequestTarget,
    ) -> dict[str, str]:
        """The headers for a request to ``target`` (its URL, and its method where signed)."""
