"""The default Signature scheme: hex or base64 HMAC-SHA256 of the body, options for any provider."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from hookseal import (
    ConfigurationError,
    MalformedHeader,
    MalformedSignature,
    MissingSignature,
    SignatureMismatch,
    Verifier,
    sign,
    verify,
)
from hookseal.schemes import Signature

SECRET = "integrator-secret"
BODY = b'{"event":"order.paid","id":7}'
DIGEST = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
HEX = DIGEST.hex()
B64 = base64.b64encode(DIGEST).decode()
OTHER_HEX = hmac.new(b"old-secret", BODY, hashlib.sha256).hexdigest()


def check(value: str, scheme: Signature | None = None, secrets: object = SECRET) -> str:
    header = scheme.header if scheme else "Signature"
    return verify(BODY, {header: value}, secrets, scheme=scheme).secret_id  # type: ignore[arg-type]


def test_sign_is_bare_lowercase_hex_of_the_body() -> None:
    assert sign(BODY, SECRET) == {"Signature": HEX}


@pytest.mark.parametrize(
    "value",
    [
        HEX,
        HEX.upper(),
        B64,
        "sha256=" + HEX,
        "SHA256=" + HEX,
        "sha256=" + B64,
        f"  {HEX}  ",
        f"{OTHER_HEX},{HEX}",
        f"{OTHER_HEX} {HEX}",
        f"{OTHER_HEX}, {HEX}",
        f"sha256={OTHER_HEX},sha256={HEX}",
        f"{B64},{OTHER_HEX}",
        f",{HEX},",
    ],
)
def test_accepted_forms(value: str) -> None:
    assert check(value)


@pytest.mark.parametrize(
    "value",
    [
        "z" * 64,  # not hex
        HEX[:-1],  # 63
        HEX + "0",  # 65
        HEX[:-2] + " 0",  # 64 chars with a blank inside
        B64.rstrip("="),  # unpadded base64
        B64[:-2] + "==",  # 31 bytes
        base64.b64encode(DIGEST + b"\x00").decode(),  # 33 bytes
        base64.urlsafe_b64encode(b"\xfb" * 32).decode(),  # URL-safe alphabet
        "sha256=",
        "sha256=xyz",
        "md5=" + HEX,
        HEX + "," + "z" * 64,  # one bad token spoils the header
        ",".join([HEX] * 17),  # more than 16 signatures
    ],
)
def test_malformed_forms(value: str) -> None:
    with pytest.raises(MalformedSignature) as info:
        check(value)
    assert info.value.header == "Signature"
    assert info.value.status == 400


@pytest.mark.parametrize("value", ["", "   ", ",", " , ,"])
def test_missing_or_empty(value: str) -> None:
    with pytest.raises(MissingSignature):
        check(value)
    with pytest.raises(MissingSignature):
        verify(BODY, {}, SECRET)


@pytest.mark.parametrize("value", ["\u00e9" * 64, HEX[:-1] + "\u0663"])
def test_non_ascii(value: str) -> None:
    with pytest.raises(MalformedHeader):
        check(value)


def test_sixteen_signatures_are_still_fine() -> None:
    assert check(",".join([OTHER_HEX] * 15 + [HEX]))


def test_wrong_signature_is_a_mismatch() -> None:
    with pytest.raises(SignatureMismatch) as info:
        check(OTHER_HEX)
    assert info.value.status == 401


def test_custom_header_name() -> None:
    scheme = Signature(header="X-Integrator-Signature")
    assert scheme.header_names == ("X-Integrator-Signature",)
    assert scheme.signature_header == "X-Integrator-Signature"
    headers = sign(BODY, SECRET, scheme=scheme)
    assert headers == {"X-Integrator-Signature": HEX}
    assert verify(BODY, {"x-integrator-signature": HEX}, SECRET, scheme=scheme)
    with pytest.raises(MissingSignature):
        verify(BODY, {"Signature": HEX}, SECRET, scheme=scheme)


def test_hex_only_refuses_base64() -> None:
    scheme = Signature(encoding="hex")
    assert check(HEX, scheme)
    assert check("sha256=" + HEX, scheme)
    with pytest.raises(MalformedSignature):
        check(B64, scheme)


def test_base64_only_refuses_hex_and_signs_44_chars() -> None:
    scheme = Signature(encoding="base64")
    headers = sign(BODY, SECRET, scheme=scheme)
    assert headers == {"Signature": B64}
    assert len(B64) == 44
    assert check(B64, scheme)
    assert check("sha256=" + B64, scheme)
    with pytest.raises(MalformedSignature):
        check(HEX, scheme)


def test_custom_prefix() -> None:
    scheme = Signature(prefix="v1=")
    assert check("v1=" + HEX, scheme)
    assert check(HEX, scheme)
    with pytest.raises(MalformedSignature):
        check("sha256=" + B64, scheme)


def test_require_prefix() -> None:
    scheme = Signature(require_prefix=True)
    assert sign(BODY, SECRET, scheme=scheme) == {"Signature": "sha256=" + HEX}
    assert check("sha256=" + HEX, scheme)
    assert check(f"sha256={OTHER_HEX} sha256={HEX}", scheme)
    for value in (HEX, B64, f"sha256={OTHER_HEX},{HEX}"):
        with pytest.raises(MalformedSignature):
            check(value, scheme)


def test_require_prefix_with_base64() -> None:
    scheme = Signature(encoding="base64", prefix="v1=", require_prefix=True)
    assert sign(BODY, SECRET, scheme=scheme) == {"Signature": "v1=" + B64}
    assert check("v1=" + B64, scheme)
    with pytest.raises(MalformedSignature):
        check(B64, scheme)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"header": ""},
        {"header": "Sig nature"},
        {"header": "Sig:nature"},
        {"header": "Signatur\u00e9"},
        {"encoding": "base32"},
        {"prefix": "", "require_prefix": True},
    ],
)
def test_bad_options(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        Signature(**kwargs)  # type: ignore[arg-type]


def test_schemes_are_values() -> None:
    """Frozen dataclasses: equal options mean equal schemes (the verify() cache relies on it)."""
    assert Signature() == Signature()
    assert hash(Signature(header="A")) == hash(Signature(header="A"))
    assert Signature(header="A") != Signature(header="B")


@pytest.mark.parametrize("scheme", ["signature", "github", "stripe", "slack", "shopify"])
def test_a_standard_webhooks_public_key_is_refused_as_an_hmac_secret(scheme: str) -> None:
    """A ``whpk_`` key is public: used as an HMAC key, anyone who has it signs valid requests.
    (Easy to do by mistake: one keyring of Standard Webhooks keys shared with another route.)"""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    public = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    whpk = "whpk_" + base64.b64encode(public).decode()
    with pytest.raises(ConfigurationError, match="public"):
        Verifier(whpk, scheme=scheme)
