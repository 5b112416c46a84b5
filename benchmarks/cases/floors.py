"""The two floors every verify() figure is compared with, on the same signed content.

- naive: ``hmac.digest(key, content, "sha256")`` and one ``compare_digest`` against the
  presented digest, already decoded (what a careful hand-written verifier does, minus parsing);
- pre-keyed: HMAC from SHA-256 states keyed once (inner and outer copied per call, RFC 2104),
  the presented digest decoded from its header text per call (``bytes.fromhex`` for hex
  schemes, ``binascii.a2b_base64`` for base64 ones), and one ``compare_digest``.

For timestamped schemes both floors hash the same signed content as the scheme: the
naive floor gets ``prefix + body`` joined once before timing (so it pays no copy), the
pre-keyed floor feeds the prefix and the body as two updates. Neither floor reads headers,
parses timestamps, checks tolerance or handles errors, so they are lower bounds.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from .inputs import Request, key_bytes

__all__ = ["naive_floor", "prekeyed_floor"]

NAIVE = "floor: naive hmac.digest"
PREKEYED = "floor: pre-keyed"


def naive_floor(request: Request, secret: str) -> Callable[[], bool]:
    """``hmac.digest`` over the signed content, one ``compare_digest``."""
    key = key_bytes(request.scheme, secret)
    content = request.prefix + request.body
    presented = request.decode(request.token)
    digest = hmac.digest
    compare = hmac.compare_digest

    def call() -> bool:
        return compare(digest(key, content, "sha256"), presented)

    assert call(), f"naive floor rejects the {request.scheme} input"
    return call


def prekeyed_floor(request: Request, secret: str) -> Callable[[], bool]:
    """Inner/outer SHA-256 states keyed once, copied per call; decode the header per call."""
    key = key_bytes(request.scheme, secret)
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\x00")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    prefix, body, token, decode = request.prefix, request.body, request.token, request.decode
    compare = hmac.compare_digest

    def call() -> bool:
        h = inner.copy()
        if prefix:
            h.update(prefix)
        h.update(body)
        o = outer.copy()
        o.update(h.digest())
        return compare(o.digest(), decode(token))

    assert call(), f"pre-keyed floor rejects the {request.scheme} input"
    return call
