"""The error family: stable codes and statuses, safe details, the headers adapters send."""

from __future__ import annotations

import pytest

from hookseal import errors
from hookseal.errors import (
    BodyError,
    BodyTimeout,
    ConfigurationError,
    HandshakeRefused,
    HookSealError,
    IncompleteBody,
    LengthRequired,
    MalformedHandshake,
    MalformedHeader,
    MalformedMessageId,
    MalformedSignature,
    MalformedTimestamp,
    MissingMessageId,
    MissingSignature,
    MissingTimestamp,
    NoActiveSecret,
    PayloadTooLarge,
    Replayed,
    ReplayGuardUnavailable,
    RetryLater,
    SignatureMismatch,
    SigningKeyUnavailable,
    TimestampError,
    TimestampTooNew,
    TimestampTooOld,
    UntrustedSigningKey,
    VerificationError,
)

EXPECTED: list[tuple[type[VerificationError], str, int]] = [
    (MissingSignature, "missing_signature", 401),
    (MalformedSignature, "malformed_signature", 400),
    (MalformedHeader, "malformed_header", 400),
    (SignatureMismatch, "signature_mismatch", 401),
    (MissingTimestamp, "timestamp_missing", 400),
    (MalformedTimestamp, "timestamp_malformed", 400),
    (TimestampTooOld, "timestamp_too_old", 401),
    (TimestampTooNew, "timestamp_too_new", 401),
    (MissingMessageId, "message_id_missing", 400),
    (MalformedMessageId, "message_id_malformed", 400),
    (Replayed, "replayed", 409),
    (HandshakeRefused, "handshake_refused", 403),
    (MalformedHandshake, "handshake_malformed", 400),
    (NoActiveSecret, "no_active_secret", 503),
    (ReplayGuardUnavailable, "replay_guard_unavailable", 503),
    (SigningKeyUnavailable, "signing_key_unavailable", 503),
    (UntrustedSigningKey, "signing_key_untrusted", 400),
    (PayloadTooLarge, "payload_too_large", 413),
    (LengthRequired, "length_required", 411),
    (IncompleteBody, "incomplete_body", 400),
    (BodyTimeout, "body_timeout", 408),
]


@pytest.mark.parametrize(("cls", "code", "status"), EXPECTED)
def test_code_status_and_default_detail(
    cls: type[VerificationError], code: str, status: int
) -> None:
    """Codes and statuses are a public contract (clients and dashboards key on them)."""
    error = cls()
    assert error.code == code
    assert error.status == status
    assert error.title
    assert error.title != VerificationError.title
    assert error.detail == cls.default_detail
    assert error.args == (error.detail,)
    assert str(error) == error.detail
    assert error.header is None
    assert isinstance(error, VerificationError)
    assert isinstance(error, HookSealError)
    assert not isinstance(error, ValueError)


def test_every_error_in_the_module_is_covered() -> None:
    """A new error class must get a row above (and thereby a stable code)."""
    concrete = {
        obj
        for name in errors.__all__
        if isinstance(obj := getattr(errors, name), type)
        and issubclass(obj, VerificationError)
        and obj not in (VerificationError, TimestampError, BodyError, RetryLater)
    }
    assert concrete == {row[0] for row in EXPECTED}
    assert len({row[1] for row in EXPECTED}) == len(EXPECTED)


def test_hierarchy() -> None:
    """Callers can catch whole groups."""
    for timestamp_cls in (MissingTimestamp, MalformedTimestamp, TimestampTooOld, TimestampTooNew):
        assert issubclass(timestamp_cls, TimestampError)
    for body_cls in (PayloadTooLarge, LengthRequired, IncompleteBody, BodyTimeout):
        assert issubclass(body_cls, BodyError)
    assert issubclass(ConfigurationError, HookSealError)
    assert issubclass(ConfigurationError, ValueError)
    assert not issubclass(ConfigurationError, VerificationError)


def test_custom_detail_and_header() -> None:
    error = MalformedSignature("the Signature header is odd", header="Signature")
    assert error.detail == "the Signature header is odd"
    assert error.header == "Signature"
    assert "malformed_signature" in repr(error)
    assert "the Signature header is odd" in repr(error)


@pytest.mark.parametrize(("cls", "code", "status"), EXPECTED)
def test_response_headers(cls: type[VerificationError], code: str, status: int) -> None:
    """401 carries WWW-Authenticate (RFC 9110); 503 carries Retry-After; others none."""
    headers = cls().response_headers()
    if status == 401:
        assert headers == {"WWW-Authenticate": 'Signature realm="webhooks"'}
    elif status == 503:
        assert headers == {"Retry-After": "30"}
    else:
        assert headers == {}


def test_retry_after_is_configurable() -> None:
    error = NoActiveSecret(retry_after=7)
    assert error.retry_after == 7
    assert error.response_headers() == {"Retry-After": "7"}


def test_default_details_name_no_secret_material() -> None:
    """Details are shown to the sender: they never echo anything but fixed text."""
    for cls, _, _ in EXPECTED:
        detail = cls().detail
        assert detail.isascii()
        assert "secret=" not in detail.lower()


def test_every_error_of_the_family_is_public() -> None:
    """Users catch these by name: every error class errors.py defines is in hookseal."""
    import hookseal

    defined = [
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.HookSealError)
    ]
    assert defined
    missing = [name for name in defined if getattr(hookseal, name, None) is not vars(errors)[name]]
    assert missing == []
