"""hookseal.testing builds requests users' own tests can send: signed, forged and tampered."""

from __future__ import annotations

import pytest

from hookseal import SignatureMismatch, schemes, verify
from hookseal.testing import encode_body, forged_request, signed_request, tampered

NOW = 1_700_000_000
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ALL = ["signature", "github", "standard", "stripe", "slack", "shopify"]


def test_encode_body() -> None:
    assert encode_body(b"raw") == b"raw"
    assert encode_body(bytearray(b"raw")) == b"raw"
    assert encode_body("caf\u00e9") == "caf\u00e9".encode()
    assert encode_body({"a": [1, 2]}) == b'{"a":[1,2]}'
    assert encode_body(None) == b"null"


@pytest.mark.parametrize("scheme", ALL)
def test_signed_request_verifies(scheme: str) -> None:
    body, headers = signed_request({"event": "paid"}, WHSEC, scheme=scheme, now=NOW)
    assert body == b'{"event":"paid"}'
    assert headers["Content-Type"] == "application/json"
    result = verify(body, headers, WHSEC, scheme=scheme, now=NOW)
    assert result.scheme == schemes.by_name(scheme).name


def test_signed_request_options() -> None:
    body, headers = signed_request(
        b"x",
        WHSEC,
        scheme="standard",
        timestamp=NOW,
        message_id="msg_fixed",
        extra_headers={"X-Trace": "1"},
        now=NOW,
    )
    assert headers["webhook-id"] == "msg_fixed"
    assert headers["webhook-timestamp"] == str(NOW)
    assert headers["X-Trace"] == "1"
    assert verify(body, headers, WHSEC, scheme="standard", now=NOW).message_id == "msg_fixed"


@pytest.mark.parametrize("scheme", ALL)
def test_forged_request_is_refused(scheme: str) -> None:
    body, headers = forged_request({"event": "paid"}, scheme=scheme, now=NOW)
    with pytest.raises(SignatureMismatch):
        verify(body, headers, WHSEC, scheme=scheme, now=NOW)


def test_forged_requests_differ() -> None:
    assert forged_request(b"x", now=NOW)[1] != forged_request(b"x", now=NOW)[1]


@pytest.mark.parametrize("scheme", ALL)
def test_tampered_body_is_refused(scheme: str) -> None:
    body, headers = signed_request({"amount": 100}, WHSEC, scheme=scheme, now=NOW)
    changed = tampered(body)
    assert changed != body
    assert len(changed) == len(body)
    with pytest.raises(SignatureMismatch):
        verify(changed, headers, WHSEC, scheme=scheme, now=NOW)


def test_tampered_empty_body() -> None:
    assert tampered(b"") == b"x"


def test_manual_clock_moves_only_when_told() -> None:
    from hookseal.testing import ManualClock

    clock = ManualClock(100)
    assert clock() == 100.0
    clock.advance(2.5)
    assert clock() == 102.5
    assert ManualClock()() == 1_700_000_000.0
