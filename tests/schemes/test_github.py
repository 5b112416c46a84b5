"""GitHub: X-Hub-Signature-256: sha256=<hex> over the raw body."""

from __future__ import annotations

import pytest

from hookseal import (
    MalformedHeader,
    MalformedSignature,
    MissingSignature,
    SignatureMismatch,
    sign,
    verify,
)
from hookseal.schemes import GitHub

# From GitHub's documentation, "Validating webhook deliveries" ("Testing the webhook payload
# validation"): docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
DOC_SECRET = "It's a Secret to Everybody"
DOC_PAYLOAD = b"Hello, World!"
DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_documented_vector() -> None:
    headers = {"X-Hub-Signature-256": DOC_SIGNATURE}
    assert verify(DOC_PAYLOAD, headers, DOC_SECRET, scheme="github").scheme == "github"
    assert sign(DOC_PAYLOAD, DOC_SECRET, scheme=GitHub()) == headers
    with pytest.raises(SignatureMismatch):
        verify(b"Hello, World?", headers, DOC_SECRET, scheme="github")
    with pytest.raises(SignatureMismatch):
        verify(DOC_PAYLOAD, headers, "It's a secret to everybody", scheme="github")


def test_header_names() -> None:
    assert GitHub().header_names == ("X-Hub-Signature-256",)
    assert verify(DOC_PAYLOAD, {"x-hub-signature-256": DOC_SIGNATURE}, DOC_SECRET, scheme="github")
    assert verify(
        DOC_PAYLOAD, [(b"x-hub-signature-256", DOC_SIGNATURE.encode())], DOC_SECRET, scheme="github"
    )


def test_uppercase_prefix_and_hex_accepted() -> None:
    value = "SHA256=" + DOC_SIGNATURE[7:].upper()
    assert verify(DOC_PAYLOAD, {"X-Hub-Signature-256": value}, DOC_SECRET, scheme="github")


@pytest.mark.parametrize(
    "value",
    [
        DOC_SIGNATURE[7:],  # no prefix
        "sha1=" + DOC_SIGNATURE[7:],
        "sha256=" + "g" * 64,
        DOC_SIGNATURE[:-1],
        DOC_SIGNATURE + "0",
        DOC_SIGNATURE + ",sha256=" + "0" * 64,
        "sha256=",
        "sha256",
    ],
)
def test_malformed(value: str) -> None:
    with pytest.raises(MalformedSignature) as info:
        verify(DOC_PAYLOAD, {"X-Hub-Signature-256": value}, DOC_SECRET, scheme="github")
    assert info.value.header == "X-Hub-Signature-256"


def test_missing_and_non_ascii() -> None:
    with pytest.raises(MissingSignature):
        verify(DOC_PAYLOAD, {"X-Hub-Signature": "sha1=00"}, DOC_SECRET, scheme="github")
    with pytest.raises(MissingSignature):
        verify(DOC_PAYLOAD, {"X-Hub-Signature-256": ""}, DOC_SECRET, scheme="github")
    with pytest.raises(MalformedHeader):
        verify(DOC_PAYLOAD, {"X-Hub-Signature-256": "sha256=\u00e9"}, DOC_SECRET, scheme="github")


def test_rotation_tries_both_secrets() -> None:
    headers = sign(b"{}", "old", scheme="github")
    assert verify(b"{}", headers, ["new", "old"], scheme="github")
