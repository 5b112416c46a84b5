"""Interop with the providers' own libraries: what they sign verifies here, and vice versa.

The peer libraries check timestamps against the real wall clock, so these tests sign "now"; they
compare no durations.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from hookseal import SignatureMismatch, sign, verify

standardwebhooks = pytest.importorskip("standardwebhooks")
svix_webhooks = pytest.importorskip("svix.webhooks")
stripe = pytest.importorskip("stripe")
slack_signature = pytest.importorskip("slack_sdk.signature")

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STRIPE_SECRET = "whsec_stripe_endpoint_secret_1234"
SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODIES = [
    b'{"id":"evt_1","object":"event","type":"invoice.paid","data":{"object":{}}}',
    '{"id":"evt_2","object":"event","name":"J\u00fcrgen \u2603"}'.encode(),
    b'{"id":"evt_3","object":"event"}' + b" " * 5000,
]


def _now_datetime() -> dt.datetime:
    return dt.datetime.fromtimestamp(int(time.time()), tz=dt.timezone.utc)


# -- Standard Webhooks / Svix ---------------------------------------------------------------------


@pytest.mark.parametrize("body", BODIES)
def test_standardwebhooks_signs_hookseal_verifies(body: bytes) -> None:
    moment = _now_datetime()
    peer = standardwebhooks.Webhook(WHSEC)
    signature = peer.sign("msg_peer_1", moment, body.decode())
    headers = {
        "webhook-id": "msg_peer_1",
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
    }
    assert verify(body, headers, WHSEC, scheme="standard").message_id == "msg_peer_1"
    with pytest.raises(SignatureMismatch):
        verify(body + b"x", headers, WHSEC, scheme="standard")


@pytest.mark.parametrize("body", BODIES)
def test_hookseal_signs_standardwebhooks_verifies(body: bytes) -> None:
    headers = sign(body, WHSEC, scheme="standard")
    standardwebhooks.Webhook(WHSEC).verify(body, headers, json_parse=False)
    rotated = sign(body, [WHSEC, "whsec_" + "b" * 43], scheme="standard")
    standardwebhooks.Webhook(WHSEC).verify(body, rotated, json_parse=False)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(WHSEC).verify(body + b"x", headers, json_parse=False)


def test_standardwebhooks_unpadded_secret_agrees() -> None:
    unpadded = WHSEC.rstrip("=")
    body = BODIES[0]
    headers = sign(body, unpadded, scheme="standard")
    standardwebhooks.Webhook(unpadded).verify(body, headers, json_parse=False)
    standardwebhooks.Webhook(WHSEC).verify(body, headers, json_parse=False)


@pytest.mark.parametrize("body", BODIES)
def test_svix_signs_hookseal_verifies(body: bytes) -> None:
    moment = _now_datetime()
    signature = svix_webhooks.Webhook(WHSEC).sign("msg_svix_1", moment, body.decode())
    headers = {
        "svix-id": "msg_svix_1",
        "svix-timestamp": str(int(moment.timestamp())),
        "svix-signature": signature,
    }
    assert verify(body, headers, WHSEC, scheme="svix").message_id == "msg_svix_1"


@pytest.mark.parametrize("body", BODIES)
def test_hookseal_signs_svix_verifies(body: bytes) -> None:
    headers = sign(body, WHSEC, scheme="standard")
    svix_webhooks.Webhook(WHSEC).verify(body, headers)
    as_svix = {k.replace("webhook-", "svix-"): v for k, v in headers.items()}
    svix_webhooks.Webhook(WHSEC).verify(body, as_svix)
    with pytest.raises(svix_webhooks.WebhookVerificationError):
        svix_webhooks.Webhook(WHSEC).verify(body + b"x", headers)


# -- Stripe ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", BODIES)
def test_stripe_signs_hookseal_verifies(body: bytes) -> None:
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), STRIPE_SECRET)
    headers = {"Stripe-Signature": header}
    assert verify(body, headers, STRIPE_SECRET, scheme="stripe").scheme == "stripe"
    # The way stripe's own helpers build it, piece by piece, with a fixed timestamp.
    stamp = int(time.time()) - 10
    digest = stripe.WebhookSignature._compute_signature(f"{stamp}.{body.decode()}", STRIPE_SECRET)
    manual = {"Stripe-Signature": f"t={stamp},v1={digest}"}
    assert verify(body, manual, STRIPE_SECRET, scheme="stripe").timestamp == stamp
    with pytest.raises(SignatureMismatch):
        verify(body, manual, "whsec_other", scheme="stripe")


@pytest.mark.parametrize("body", BODIES)
def test_hookseal_signs_stripe_verifies(body: bytes) -> None:
    header = sign(body, STRIPE_SECRET, scheme="stripe")["Stripe-Signature"]
    assert stripe.WebhookSignature.verify_header(body, header, STRIPE_SECRET, 300)
    event = stripe.Webhook.construct_event(body, header, STRIPE_SECRET)
    assert event["object"] == "event"
    rolled = sign(body, ["whsec_new", STRIPE_SECRET], scheme="stripe")["Stripe-Signature"]
    assert stripe.WebhookSignature.verify_header(body, rolled, STRIPE_SECRET, 300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body + b"x", header, STRIPE_SECRET, 300)


# -- Slack ----------------------------------------------------------------------------------------


class _FixedClock(slack_signature.Clock):  # type: ignore[misc,name-defined]
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


@pytest.mark.parametrize("body", BODIES)
def test_slack_sdk_signs_hookseal_verifies(body: bytes) -> None:
    now = 1_700_000_000
    peer = slack_signature.SignatureVerifier(SLACK_SECRET, clock=_FixedClock(now))
    signature = peer.generate_signature(timestamp=str(now), body=body)
    headers = {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": str(now)}
    assert verify(body, headers, SLACK_SECRET, scheme="slack", now=now).timestamp == now


@pytest.mark.parametrize("body", BODIES)
def test_hookseal_signs_slack_sdk_verifies(body: bytes) -> None:
    now = 1_700_000_000
    headers = sign(body, SLACK_SECRET, scheme="slack", now=now)
    peer = slack_signature.SignatureVerifier(SLACK_SECRET, clock=_FixedClock(now))
    assert peer.is_valid(
        body=body,
        timestamp=headers["X-Slack-Request-Timestamp"],
        signature=headers["X-Slack-Signature"],
    )
    assert peer.is_valid_request(body, headers)
    assert not peer.is_valid_request(body + b"x", headers)
