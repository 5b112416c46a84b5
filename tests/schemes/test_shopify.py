"""Shopify: X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from hookseal import (
    MalformedHeader,
    MalformedSignature,
    MissingSignature,
    SignatureMismatch,
    sign,
    verify,
)
from hookseal.schemes import Shopify

SECRET = "shpss_client_secret"
BODY = b'{"id":820982911946154508,"email":"jon@example.com"}'
DIGEST = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
B64 = base64.b64encode(DIGEST).decode()


def test_sign_and_verify() -> None:
    assert sign(BODY, SECRET, scheme=Shopify()) == {"X-Shopify-Hmac-Sha256": B64}
    assert (
        verify(BODY, {"x-shopify-hmac-sha256": B64}, SECRET, scheme="shopify").scheme == "shopify"
    )
    assert Shopify().header_names == ("X-Shopify-Hmac-Sha256",)


@pytest.mark.parametrize(
    "value",
    [
        DIGEST.hex(),  # hex is not what Shopify sends
        B64.rstrip("="),
        B64[:-4],
        base64.b64encode(DIGEST[:-1]).decode(),
        base64.b64encode(DIGEST + b"!").decode(),
        B64 + " " + B64,
        "!" * 44,
        "sha256=" + B64,
    ],
)
def test_malformed(value: str) -> None:
    with pytest.raises(MalformedSignature):
        verify(BODY, {"X-Shopify-Hmac-Sha256": value}, SECRET, scheme="shopify")


def test_missing_non_ascii_and_mismatch() -> None:
    with pytest.raises(MissingSignature):
        verify(BODY, {}, SECRET, scheme="shopify")
    with pytest.raises(MalformedHeader):
        verify(BODY, {"X-Shopify-Hmac-Sha256": "\u00e9" * 44}, SECRET, scheme="shopify")
    with pytest.raises(SignatureMismatch):
        verify(BODY + b" ", {"X-Shopify-Hmac-Sha256": B64}, SECRET, scheme="shopify")
