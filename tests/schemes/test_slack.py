"""Slack: X-Slack-Signature: v0=<hex> over "v0:<timestamp>:<body>"."""

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
    TimestampTooNew,
    TimestampTooOld,
    sign,
    verify,
)
from hookseal.schemes import Slack

# The worked example in Slack's "Verifying requests from Slack"
# (docs.slack.dev/authentication/verifying-requests-from-slack); the values agree across several
# independent implementations that quote it.
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
    b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
    b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
    b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

SECRET = "slack-signing-secret"
NOW = 1_700_000_000
BODY = b"payload=%7B%7D"
GOOD = "v0=" + hmac.new(SECRET.encode(), f"v0:{NOW}:".encode() + BODY, hashlib.sha256).hexdigest()


def headers_for(signature: str = GOOD, stamp: str = str(NOW)) -> dict[str, str]:
    return {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": stamp}


def check(headers: dict[str, str], now: int = NOW) -> object:
    return verify(BODY, headers, SECRET, scheme="slack", now=now)


def test_documented_vector() -> None:
    headers = {"X-Slack-Signature": DOC_SIGNATURE, "X-Slack-Request-Timestamp": DOC_TIMESTAMP}
    now = int(DOC_TIMESTAMP)
    result = verify(DOC_BODY, headers, DOC_SECRET, scheme="slack", now=now)
    assert result.timestamp == now
    assert sign(DOC_BODY, DOC_SECRET, scheme="slack", now=now) == headers
    with pytest.raises(TimestampTooOld):
        verify(DOC_BODY, headers, DOC_SECRET, scheme="slack", now=now + 301)


def test_round_trip_and_header_names() -> None:
    assert Slack().header_names == ("X-Slack-Signature", "X-Slack-Request-Timestamp")
    assert sign(BODY, SECRET, scheme="slack", now=NOW) == headers_for()
    assert check({k.lower(): v for k, v in headers_for().items()})


@pytest.mark.parametrize(
    "signature",
    [
        GOOD[3:],
        "v1=" + GOOD[3:],
        "V0=" + GOOD[3:],
        GOOD[:-1],
        GOOD + "0",
        "v0=" + "q" * 64,
        GOOD + "," + GOOD,
        "v0=",
    ],
)
def test_malformed_signatures(signature: str) -> None:
    with pytest.raises(MalformedSignature):
        check(headers_for(signature))


@pytest.mark.parametrize("stamp", ["1" * 13, "9" * 5000, "abc", "-1", "1.5", "17e8"])
def test_malformed_timestamps(stamp: str) -> None:
    with pytest.raises(MalformedTimestamp):
        check(headers_for(stamp=stamp))


def test_missing_and_non_ascii() -> None:
    with pytest.raises(MissingSignature):
        check({"X-Slack-Request-Timestamp": str(NOW)})
    with pytest.raises(MissingTimestamp):
        check({"X-Slack-Signature": GOOD})
    with pytest.raises(MissingTimestamp):
        check(headers_for(stamp=""))
    with pytest.raises(MalformedHeader):
        check(headers_for(stamp="\u0661" * 10))
    with pytest.raises(MalformedHeader):
        check(headers_for(GOOD[:-1] + "\u00e9"))


def test_timestamp_window_and_signed_content() -> None:
    with pytest.raises(TimestampTooOld):
        check(headers_for(), now=NOW + 301)
    with pytest.raises(TimestampTooNew):
        check(headers_for(), now=NOW - 301)
    with pytest.raises(SignatureMismatch):
        check(headers_for(stamp=str(NOW + 1)))
    stamp = f"0{NOW}"
    literal = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + BODY, hashlib.sha256).hexdigest()
    assert check(headers_for("v0=" + literal, stamp))
