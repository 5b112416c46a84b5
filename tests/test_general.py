"""The general path (hookseal._general): schemes that sign the request line or read the whole
body, one-shot and streamed, sync and async, with rotation, replay guard and limits."""

from __future__ import annotations

import itertools
import json
from urllib.parse import urlencode

import pytest

from hookseal import (
    ConfigurationError,
    PayloadTooLarge,
    Replayed,
    Secret,
    SignatureMismatch,
    TimestampTooOld,
    VerificationError,
    Verifier,
    sign,
    verify,
)
from hookseal.errors import BodyError, MalformedHeader
from hookseal.replay import InMemoryReplayGuard
from hookseal.schemes.mailgun import signed_body

NOW = 1_700_000_000
KEY = "whsec_general_path_key"
URL = "https://example.com/hooks/in?tenant=1"
FORM = urlencode({"Body": "hello", "From": "+15551234567"}).encode()
URL_SCHEMES = ["twilio", "twilio-sha256", "square", "hubspot", "hubspot-v2"]


def _request(scheme: str, key: str = KEY) -> tuple[bytes, dict[str, str]]:
    if scheme == "mailgun":
        return signed_body({"event": "delivered"}, key, timestamp=NOW, token="tok_1"), {}
    if scheme == "linear":
        body = json.dumps({"action": "create", "webhookTimestamp": NOW * 1000}).encode()
        return body, sign(body, key, scheme=scheme)
    body = FORM if scheme.startswith("twilio") else b'{"event":"paid"}'
    return body, sign(body, key, scheme=scheme, url=URL, now=NOW)


@pytest.mark.parametrize("scheme", URL_SCHEMES)
def test_a_scheme_that_signs_the_url_refuses_to_run_without_one(scheme: str) -> None:
    body, headers = _request(scheme)
    verifier = Verifier(KEY, scheme=scheme)
    with pytest.raises(ConfigurationError, match="url="):
        verifier.verify(body, headers, now=NOW)
    with pytest.raises(ConfigurationError, match="url="):
        verifier.begin(headers, now=NOW)
    with pytest.raises(ConfigurationError, match="url="):
        sign(body, KEY, scheme=scheme)
    assert verifier.scheme.signs_request


@pytest.mark.parametrize("scheme", [*URL_SCHEMES, "mailgun", "linear"])
@pytest.mark.parametrize("cuts", [[], [1], [3, 7, 20]])
def test_streamed_equals_one_shot(scheme: str, cuts: list[int]) -> None:
    body, headers = _request(scheme)
    verifier = Verifier(["whsec_old", KEY], scheme=scheme)
    one_shot = verifier.verify(body, headers, now=NOW, url=URL)
    pending = verifier.begin(headers, now=NOW, url=URL)
    points = [0, *(c for c in cuts if c < len(body)), len(body)]
    for start, end in itertools.pairwise(points):
        pending.update(body[start:end])
    assert pending.finish() == one_shot
    assert pending.size == len(body)


@pytest.mark.parametrize("scheme", [*URL_SCHEMES, "mailgun", "linear"])
async def test_async_paths_agree(scheme: str) -> None:
    body, headers = _request(scheme)
    verifier = Verifier(KEY, scheme=scheme)
    result = await verifier.averify(body, headers, now=NOW, url=URL)
    pending = await verifier.abegin(headers, now=NOW, url=URL)
    pending.update(body)
    assert await pending.afinish() == result
    forged_body, forged = _request(scheme, "whsec_forger")
    with pytest.raises(SignatureMismatch):
        await verifier.averify(forged_body, forged, now=NOW, url=URL)


def test_mailgun_replay_guard_keys_on_the_token() -> None:
    guard = InMemoryReplayGuard()
    verifier = Verifier(KEY, scheme="mailgun", replay_guard=guard)
    body, _ = _request("mailgun")
    assert verifier.verify(body, {}, now=NOW).replay_key == "mailgun:id:tok_1"
    other_data = signed_body({"event": "opened"}, KEY, timestamp=NOW, token="tok_1")
    with pytest.raises(Replayed):  # the same signature with other event data: refused
        verifier.verify(other_data, {}, now=NOW)


@pytest.mark.parametrize("scheme", ["twilio", "square", "hubspot"])
def test_replay_guard_refuses_a_second_delivery(scheme: str) -> None:
    verifier = Verifier(KEY, scheme=scheme, replay_guard=InMemoryReplayGuard())
    body, headers = _request(scheme)
    key = verifier.verify(body, headers, now=NOW, url=URL).replay_key
    assert key is not None
    assert key.startswith(f"{scheme}:")
    with pytest.raises(Replayed):
        verifier.verify(body, headers, now=NOW, url=URL)


def test_rotation_prefers_the_secret_that_matched() -> None:
    verifier = Verifier([Secret("whsec_a", id="a"), Secret(KEY, id="b")], scheme="square")
    body, headers = _request("square")
    assert verifier.verify(body, headers, url=URL).secret_id == "b"
    assert verifier._preferred is not None
    assert verifier._preferred.id == "b"


def test_hubspot_timestamp_is_checked_before_the_body() -> None:
    body, headers = _request("hubspot")
    verifier = Verifier(KEY, scheme="hubspot")
    with pytest.raises(TimestampTooOld):
        verifier.begin(headers, now=NOW + 301, url=URL)
    assert Verifier(KEY, scheme="hubspot", tolerance=1000).verify(
        body, headers, now=NOW + 900, url=URL
    )


def test_twilio_refuses_a_body_it_does_not_sign() -> None:
    body = b'{"not":"a form"}'
    headers = sign(b"", KEY, scheme="twilio", url=URL)
    headers["Content-Type"] = "application/json"
    with pytest.raises(BodyError):  # neither a form nor bodySHA256: not covered
        verify(body, headers, KEY, scheme="twilio", url=URL)
    with pytest.raises(BodyError):
        verify(
            b"\xff=\xfe",
            dict(headers, **{"Content-Type": "application/x-www-form-urlencoded"}),
            KEY,
            scheme="twilio",
            url=URL,
        )
    with pytest.raises(MalformedHeader):
        verify(b"", headers, KEY, scheme="twilio", url="https://example.com:99999x/in")


def test_general_path_honours_max_body_size() -> None:
    body, headers = _request("square")
    verifier = Verifier(KEY, scheme="square", max_body_size=4)
    with pytest.raises(PayloadTooLarge):
        verifier.verify(body, headers, url=URL)
    pending = verifier.begin(headers, url=URL)
    with pytest.raises(PayloadTooLarge):
        pending.update(body)


def test_mailgun_refuses_malformed_bodies_with_typed_errors() -> None:
    verifier = Verifier(KEY, scheme="mailgun")
    for body in (b"{", b"[" * 100_000, b'{"signature": 1}', b"\xff\xfe", b"token=a&token=b"):
        with pytest.raises(VerificationError):
            verifier.verify(body, {}, now=NOW)


def test_method_is_signed_by_hubspot() -> None:
    body = b"{}"
    headers = sign(body, KEY, scheme="hubspot", url=URL, method="put", now=NOW)
    verify(body, headers, KEY, scheme="hubspot", url=URL, method="PUT", now=NOW)
    with pytest.raises(SignatureMismatch):
        verify(body, headers, KEY, scheme="hubspot", url=URL, now=NOW)  # POST assumed
    with pytest.raises(ConfigurationError):
        verify(body, headers, KEY, scheme="hubspot", url=URL, method="P O", now=NOW)
