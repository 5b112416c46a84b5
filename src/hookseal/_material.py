"""Key material, set up once per secret and scheme, so a request pays only for hashing its bytes.

HMAC-SHA256 per RFC 2104: the key is padded and XORed with ipad/opad once, the two SHA-256
states are kept, and each request copies them. That skips the key set-up that dominates
``hmac.digest`` for small bodies. Ed25519 public keys (Standard Webhooks ``v1a``) live here too.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from ._accel import hmac_key

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

__all__ = ["Digester", "Ed25519Material", "HmacMaterial", "KeyMaterial"]

_BLOCK = 64
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


class HmacMaterial:
    """Pre-keyed HMAC-SHA256 (inner and outer states computed once).

    With the C accelerator, ``_fast`` holds the same states in C and does the hashing.
    """

    __slots__ = ("_fast", "_inner", "_outer")
    kind = "hmac-sha256"

    def __init__(self, key: bytes) -> None:
        self._fast = hmac_key(key)
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\x00")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

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

    __slots__ = ("_private", "_public")
    kind = "ed25519"

    def __init__(self, public: Ed25519PublicKey, private: Ed25519PrivateKey | None = None) -> None:
        self._public = public
        self._private = private

    def matches(
        self, prefix: bytes, body: bytes, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]
    ) -> bool:
        if not ed25519_sigs:
            return False
        return self._check(prefix + body, ed25519_sigs)

    def _check(self, message: bytes, ed25519_sigs: Sequence[bytes]) -> bool:
        from cryptography.exceptions import InvalidSignature

        for presented in ed25519_sigs:
            try:
                self._public.verify(presented, message)
            except InvalidSignature:
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
