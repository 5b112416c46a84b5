"""Identical inputs for every contender: bodies, secrets, and requests signed per scheme.

Bodies are ASCII JSON (the peers decode the body as UTF-8 before hashing, so it must be valid
text). Every secret has the ``whsec_<base64>`` form, which every scheme accepts: Standard
Webhooks base64-decodes it, the others use its bytes as-is.
"""

from __future__ import annotations

import base64
import binascii
import random
from collections.abc import Callable
from dataclasses import dataclass

from hookseal import sign
from hookseal.schemes import by_name

__all__ = ["SCHEMES", "Request", "body_of", "make_secrets", "request_for"]

SCHEMES: tuple[str, ...] = ("signature", "github", "standard", "stripe", "slack", "shopify")

_RNG = random.Random(20240607)  # fixed seed: the same bodies and secrets every run


def body_of(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes (at least 16)."""
    filler = size - len(b'{"data":""}')
    letters = "".join(_RNG.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(64))
    text = (letters * (filler // 64 + 1))[:filler]
    body = ('{"data":"' + text + '"}').encode("ascii")
    assert len(body) == size
    return body


def make_secrets(count: int) -> list[str]:
    """``count`` distinct ``whsec_`` secrets."""
    return ["whsec_" + base64.b64encode(_RNG.randbytes(32)).decode("ascii") for _ in range(count)]


def key_bytes(scheme: str, secret: str) -> bytes:
    """The HMAC key a scheme derives from ``secret`` (what a hand-written verifier would use)."""
    if scheme == "standard":
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode("utf-8")


@dataclass(frozen=True)
class Request:
    """A signed request and what a hand-written verifier would work with.

    ``prefix`` is what the scheme signs before the body (``id.timestamp.``, ``t.``,
    ``v0:t:``, or nothing); ``token`` is the presented digest's text as sent; ``decode``
    turns it into digest bytes the way a hand-written verifier would.
    """

    scheme: str
    body: bytes
    headers: dict[str, str]
    prefix: bytes
    token: str
    decode: Callable[[str], bytes]


def _token(scheme: str, headers: dict[str, str]) -> tuple[str, Callable[[str], bytes]]:
    """The presented digest's text, and its decoder (hex or base64)."""
    if scheme == "signature":
        return headers["Signature"], bytes.fromhex
    if scheme == "github":
        return headers["X-Hub-Signature-256"].removeprefix("sha256="), bytes.fromhex
    if scheme == "standard":
        return headers["webhook-signature"].removeprefix("v1,"), binascii.a2b_base64
    if scheme == "stripe":
        return headers["Stripe-Signature"].split(",v1=")[1], bytes.fromhex
    if scheme == "slack":
        return headers["X-Slack-Signature"].removeprefix("v0="), bytes.fromhex
    if scheme == "shopify":
        return headers["X-Shopify-Hmac-Sha256"], binascii.a2b_base64
    raise ValueError(f"unknown scheme {scheme}")


def request_for(scheme: str, body: bytes, secret: str) -> Request:
    """``body`` signed for ``scheme`` with ``secret`` (one signature), timestamped now."""
    headers = sign(body, secret, scheme=scheme)
    prefix = by_name(scheme).parse(headers).prefix
    token, decode = _token(scheme, headers)
    return Request(scheme, body, headers, prefix, token, decode)
