"""Stripe: Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>] over "<ts>.<body>", whsec_ used as-is."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from hookseal import (
    MalformedHeader,
    MalformedSignature,
    MalformedTimestamp,
    MissingSignature,
    MissingTimestamp,
    SignatureMismatch,
    TimestampTooOld,
    sign,
    verify,
)
from hookseal.schemes import Stripe

SECRET = "whsec_test_secret_value"
NOW = 1_700_000_000
BODY = b'{"id":"evt_1","object":"event"}'


def v1(stamp: str, body: bytes = BODY, secret: str = SECRET) -> str:
    """The whsec_ string itself is the key (unlike Standard Webhooks, no base64 decoding)."""
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


GOOD = v1(str(NOW))
OTHER = v1(str(NOW), secret="whsec_old")


def check(value: str, now: int = NOW) -> object:
    return verify(BODY, {"Stripe-Signature": value}, SECRET, scheme="stripe", now=now)


def test_sign_format() -> None:
    assert Stripe().header_names == ("Stripe-Signature",)
    assert sign(BODY, SECRET, scheme="stripe", now=NOW) == {
        "Stripe-Signature": f"t={NOW},v1={GOOD}"
    }
    two = sign(BODY, [SECRET, "whsec_old"], scheme="stripe", now=NOW)
    assert two == {"Stripe-Signature": f"t={NOW},v1={GOOD},v1={OTHER}"}


@pytest.mark.parametrize(
    "value",
    [
        f"t={NOW},v1={GOOD}",
        f"v1={GOOD},t={NOW}",
        f"t={NOW}, v1={GOOD}",
        f"t={NOW},v1={OTHER},v1={GOOD}",
        f"t={NOW},v1={GOOD},v0={'0' * 64}",
        f"t={NOW},v0=junk,v1={GOOD},x=y",
        f"t={NOW},v1={GOOD.upper()}",
    ],
)
def test_accepted(value: str) -> None:
    result = check(value)
    assert result.timestamp == NOW  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (f"v1={GOOD}", MissingTimestamp),
        (f"t={NOW}", MissingSignature),
        (f"t={NOW},v0={GOOD}", MissingSignature),
        (f"t={NOW},t={NOW},v1={GOOD}", MalformedTimestamp),
        (f"t=,v1={GOOD}", MalformedTimestamp),
        (f"t=abc,v1={GOOD}", MalformedTimestamp),
        (f"t={'1' * 13},v1={GOOD}", MalformedTimestamp),
        (f"t={'9' * 5000},v1={GOOD}", MalformedTimestamp),
        (f"t=-{NOW},v1={GOOD}", MalformedTimestamp),
        (f"t={NOW}.0,v1={GOOD}", MalformedTimestamp),
        (f"t={NOW},v1={GOOD[:-1]}", MalformedSignature),
        (f"t={NOW},v1={'x' * 64}", MalformedSignature),
        (f"t={NOW},v1=", MalformedSignature),
        (f"t={NOW},v1={GOOD},", MalformedSignature),
        (f"t={NOW};v1={GOOD}", MalformedTimestamp),
        (f"t={NOW},v1{GOOD}", MalformedSignature),
        (f"t={NOW}," + ",".join([f"v1={GOOD}"] * 20), MalformedSignature),
        (f"t={NOW},v1={GOOD}\u00e9", MalformedHeader),
    ],
)
def test_malformed(value: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        check(value)


def test_missing_header() -> None:
    with pytest.raises(MissingSignature):
        verify(BODY, {}, SECRET, scheme="stripe", now=NOW)


def test_timestamp_and_body_are_signed() -> None:
    with pytest.raises(SignatureMismatch):
        check(f"t={NOW + 1},v1={GOOD}", now=NOW)
    with pytest.raises(SignatureMismatch):
        verify(
            BODY + b" ",
            {"Stripe-Signature": f"t={NOW},v1={GOOD}"},
            SECRET,
            scheme="stripe",
            now=NOW,
        )
    with pytest.raises(TimestampTooOld):
        check(f"t={NOW},v1={GOOD}", now=NOW + 301)


def test_signed_content_uses_the_literal_digits() -> None:
    stamp = f"0{NOW}"
    assert check(f"t={stamp},v1={v1(stamp)}")
    with pytest.raises(SignatureMismatch):
        check(f"t={stamp},v1={GOOD}")
