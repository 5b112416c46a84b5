"""Key material, set up once per secret and scheme, so a request pays only for hashing its bytes.

HMAC per RFC 2104 (SHA-256, and SHA-1 or SHA-512 for the providers that use them): the key is
padded and XORed with ipad/opad once, the two hash states are kept, and each request copies
them. That skips the key set-up that dominates ``hmac.digest`` for small bodies. The public-key
kinds live here too: Ed25519 (Standard Webhooks ``v1a``, Discord) and ECDSA P-256 (SendGrid);
and the two weaker kinds a few providers still use: a hash of secret + content (HubSpot v1/v2)
and a shared token compared in constant time (GitLab).

Every material answers ``matches(prefix, body, hmac_sigs, public_key_sigs)``: the HMAC-like
kinds look at the first sequence, the public-key kinds at the second (``Presented`` calls it
``ed25519_signatures`` for historical reasons; ECDSA signatures travel there too).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ._accel import hmac_key

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import (
        EllipticCurvePrivateKey,
        EllipticCurvePublicKey,
    )
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = [
    "Digester",
    "EcdsaMaterial",
    "Ed25519Material",
    "HmacMaterial",
    "KeyMaterial",
    "SecretHashMaterial",
    "TokenMaterial",
]

_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_compare = hmac.compare_digest


class Digester(Protocol):
    """Incremental check of one secret against the presented signatures."""

    def update(self, chunk: bytes | bytearray | memoryview) -> None: ...

    def matches(self, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]) -> bool: ...


class KeyMaterial(Protocol):
    """What a scheme derives from a secret: checks and produces signatures."""

    kind: str

    def matches(
        self, prefix: bytes, body: bytes, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]
    ) -> bool: ...

    def start(self, prefix: bytes) -> Digester: ...

    def sign(self, message: bytes) -> bytes: ...


HASHES = ("sha1", "sha256", "sha512")
"""The hash functions an HMAC material may use (what the providers sign with)."""


class HmacMaterial:
    """Pre-keyed HMAC (inner and outer states computed once); SHA-256 unless told otherwise.

    With the C accelerator, ``_fast`` holds the same SHA-256 states in C and does the hashing
    (SHA-1 and SHA-512 keys stay in Python).
    """

    __slots__ = ("_fast", "_inner", "_outer", "kind", "size")

    def __init__(self, key: bytes, algorithm: str = "sha256") -> None:
        self._fast = None
        if algorithm == "sha256":  # the usual case, without hashlib.new's name lookup
            new = hashlib.sha256
            self._fast = hmac_key(key)
        elif algorithm in HASHES:
            new = getattr(hashlib, algorithm)
        else:
            from .errors import ConfigurationError

            raise ConfigurationError(f"unknown HMAC hash {algorithm!r}; use one of {HASHES}")
        block = new().block_size
        if len(key) > block:
            key = new(key).digest()
        key = key.ljust(block, b"\x00")
        self._inner = new(key.translate(_IPAD))
        self._outer = new(key.translate(_OPAD))
        self.kind = "hmac-" + algorithm
        self.size = self._outer.digest_size
        """Bytes in one digest (20, 32 or 64): what a presented signature must decode to."""

    def digest(self, prefix: bytes, body: bytes) -> bytes:
        inner = self._inner.copy()
        if prefix:
            inner.update(prefix)
        inner.update(body)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def matches(
        self, prefix: bytes, body: bytes, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]
    ) -> bool:
        fast = self._fast
        if fast is not None:
            return fast.matches(prefix, body, hmac_sigs)
        if not hmac_sigs:
            return False
        # digest() inlined and a plain loop instead of any(<genexpr>): this is the hot path.
        inner = self._inner.copy()
        if prefix:
            inner.update(prefix)
        inner.update(body)
        outer = self._outer.copy()
        outer.update(inner.digest())
        expected = outer.digest()
        for presented in hmac_sigs:  # noqa: SIM110 - a generator per request costs ~0.3 us
            if _compare(expected, presented):
                return True
        return False

    def start(self, prefix: bytes) -> Digester:
        fast = self._fast
        if fast is not None:
            return fast.start(prefix)
        return _HmacDigester(self._inner.copy(), self._outer, prefix)

    def sign(self, message: bytes) -> bytes:
        return self.digest(b"", message)

    def __repr__(self) -> str:
        return "HmacMaterial(<hidden>)"


class _HmacDigester:
    __slots__ = ("_inner", "_outer")

    def __init__(self, inner: hashlib._Hash, outer: hashlib._Hash, prefix: bytes) -> None:
        if prefix:
            inner.update(prefix)
        self._inner = inner
        self._outer = outer

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._inner.update(chunk)

    def matches(self, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]) -> bool:
        outer = self._outer.copy()
        outer.update(self._inner.digest())
        expected = outer.digest()
        for presented in hmac_sigs:  # noqa: SIM110 - a generator per request costs ~0.3 us
            if hmac.compare_digest(expected, presented):
                return True
        return False


class Ed25519Material:
    """An Ed25519 public key (and, for senders, the private key) for ``v1a`` signatures."""

    __slots__ = ("_invalid", "_private", "_public", "_verify")
    kind = "ed25519"

    def __init__(self, public: Ed25519PublicKey, private: Ed25519PrivateKey | None = None) -> None:
        from cryptography.exceptions import InvalidSignature

        self._public = public
        self._private = private
        # Looked up once per secret, not per request: the import and the bound method.
        self._verify = public.verify
        self._invalid = InvalidSignature

    def matches(
        self, prefix: bytes, body: bytes, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]
    ) -> bool:
        if not ed25519_sigs:
            return False
        return self._check(prefix + body, ed25519_sigs)

    def _check(self, message: bytes, ed25519_sigs: Sequence[bytes]) -> bool:
        verify, invalid = self._verify, self._invalid
        for presented in ed25519_sigs:
            try:
                verify(presented, message)
            except invalid:
                continue
            return True
        return False

    def start(self, prefix: bytes) -> Digester:
        return _Ed25519Digester(self, prefix)

    def sign(self, message: bytes) -> bytes:
        if self._private is None:
            from .errors import ConfigurationError

            raise ConfigurationError("signing v1a needs the whsk_ private key, not the public key")
        return self._private.sign(message)

    def __repr__(self) -> str:
        return "Ed25519Material(<hidden>)"


class _Ed25519Digester:
    """Ed25519 signs the whole message, so chunks are kept (by reference) until the end."""

    __slots__ = ("_chunks", "_material")

    def __init__(self, material: Ed25519Material, prefix: bytes) -> None:
        self._material = material
        self._chunks: list[bytes] = [prefix]

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._chunks.append(bytes(chunk))

    def matches(self, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]) -> bool:
        if not ed25519_sigs:
            return False
        return self._material._check(b"".join(self._chunks), ed25519_sigs)


class _Joining:
    """A digester for the kinds that need the whole message: chunks kept by reference."""

    __slots__ = ("_check", "_chunks")

    def __init__(self, check: _Check, prefix: bytes) -> None:
        self._check = check
        self._chunks: list[bytes] = [prefix]

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._chunks.append(bytes(chunk))

    def matches(self, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]) -> bool:
        return self._check(b"".join(self._chunks), hmac_sigs, ed25519_sigs)


class _Check(Protocol):
    def __call__(
        self, message: bytes, hmac_sigs: Sequence[bytes], public_sigs: Sequence[bytes]
    ) -> bool: ...


class EcdsaMaterial:
    """An ECDSA P-256 public key (SendGrid's Event Webhook), and for senders the private key.

    Signatures are DER-encoded (as SendGrid sends them, base64 in a header) and travel in
    ``Presented.ed25519_signatures``, the public-key slot.
    """

    __slots__ = ("_algorithm", "_invalid", "_private", "_public", "_verify")
    kind = "ecdsa-p256"

    def __init__(
        self, public: EllipticCurvePublicKey, private: EllipticCurvePrivateKey | None = None
    ) -> None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        self._public = public
        self._private = private
        # Made once per secret, not per request: the imports, the bound method and the
        # signature algorithm (immutable).
        self._verify = public.verify
        self._invalid = (InvalidSignature, ValueError)  # ValueError: not a DER signature
        self._algorithm = ec.ECDSA(hashes.SHA256())

    def matches(
        self, prefix: bytes, body: bytes, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]
    ) -> bool:
        if not ed25519_sigs:
            return False
        return self._check(prefix + body, hmac_sigs, ed25519_sigs)

    def _check(
        self, message: bytes, hmac_sigs: Sequence[bytes], public_sigs: Sequence[bytes]
    ) -> bool:
        verify, invalid, algorithm = self._verify, self._invalid, self._algorithm
        for presented in public_sigs:
            try:
                verify(presented, message, algorithm)
            except invalid:
                continue
            return True
        return False

    def start(self, prefix: bytes) -> Digester:
        return _Joining(self._check, prefix)

    def sign(self, message: bytes) -> bytes:
        if self._private is None:
            from .errors import ConfigurationError

            raise ConfigurationError("signing needs the ECDSA private key, not the public key")
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return self._private.sign(message, ec.ECDSA(hashes.SHA256()))

    def __repr__(self) -> str:
        return "EcdsaMaterial(<hidden>)"


class SecretHashMaterial:
    """``SHA-256(secret + content)``: HubSpot's v1 and v2 signatures (not an HMAC, no timestamp).

    The hash state after the secret is computed once and copied per request, like HMAC's.
    """

    __slots__ = ("_state",)
    kind = "secret-sha256"
    size = 32

    def __init__(self, secret: bytes) -> None:
        self._state = hashlib.sha256(secret)

    def digest(self, prefix: bytes, body: bytes) -> bytes:
        state = self._state.copy()
        state.update(prefix)
        state.update(body)
        return state.digest()

    def matches(
        self, prefix: bytes, body: bytes, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]
    ) -> bool:
        return _any_equal(self.digest(prefix, body), hmac_sigs)

    def start(self, prefix: bytes) -> Digester:
        state = self._state.copy()
        state.update(prefix)
        return _HashDigester(state)

    def sign(self, message: bytes) -> bytes:
        return self.digest(b"", message)

    def __repr__(self) -> str:
        return "SecretHashMaterial(<hidden>)"


class _HashDigester:
    __slots__ = ("_state",)

    def __init__(self, state: hashlib._Hash) -> None:
        self._state = state

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._state.update(chunk)

    def matches(self, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]) -> bool:
        return _any_equal(self._state.digest(), hmac_sigs)


class TokenMaterial:
    """A shared token sent as-is in a header (GitLab's ``X-Gitlab-Token``): no signature at all.

    The scheme presents ``SHA-256(token as received)``; this compares it with the secret's
    SHA-256 in constant time, so neither the length nor the content of the secret leaks. The
    body is not covered: anyone who sees one request can send any body.
    """

    __slots__ = ("_digest", "_token")
    kind = "token"

    def __init__(self, secret: bytes) -> None:
        self._digest = hashlib.sha256(secret).digest()
        self._token = secret

    def matches(
        self, prefix: bytes, body: bytes, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]
    ) -> bool:
        return _any_equal(self._digest, hmac_sigs)

    def start(self, prefix: bytes) -> Digester:
        return _TokenDigester(self._digest)

    def sign(self, message: bytes) -> bytes:
        """The token itself, whatever the message: it is what a sender puts in the header."""
        return self._token

    def __repr__(self) -> str:
        return "TokenMaterial(<hidden>)"


class _TokenDigester:
    __slots__ = ("_digest",)

    def __init__(self, digest: bytes) -> None:
        self._digest = digest

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        return None  # the body is not covered by a token

    def matches(self, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]) -> bool:
        return _any_equal(self._digest, hmac_sigs)


def _any_equal(expected: bytes, presented: Sequence[bytes]) -> bool:
    """``compare_digest`` against every presented digest (no early exit on the first one)."""
    found = False
    for candidate in presented:
        found |= _compare(expected, candidate)
    return found
