"""Providers without an SDK that verifies on PyPI: their documented recipe, written here
independently with the standard library (``hmac``), and the documentation page it comes from.

Where a page publishes a worked example (Twilio, HubSpot v1/v2), its exact values are used.
Each case also checks that a changed body, a wrong secret and a missing header are refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from hookseal import (
    MissingSignature,
    SignatureMismatch,
    TimestampTooOld,
    VerificationError,
    Verifier,
    verify,
)
from hookseal.schemes.mailgun import signed_body

KEY = "whsec_documented_key_4f1a"
NOW = 1_700_000_000
BODY = b'{"id":"evt_1","type":"order.created","data":{"amount":1200}}'


def _mac(algorithm: str, message: bytes) -> bytes:
    return hmac.new(KEY.encode(), message, algorithm).digest()


def _hex(algorithm: str = "sha256", message: bytes = BODY) -> str:
    return _mac(algorithm, message).hex()


def _b64(message: bytes = BODY) -> str:
    return base64.b64encode(_mac("sha256", message)).decode()


Recipe = Callable[[], dict[str, str]]

# scheme: (documentation page, the headers the recipe on that page produces for BODY at NOW)
RECIPES: dict[str, tuple[str, Recipe]] = {
    "bitbucket": (
        "https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/",
        lambda: {"X-Hub-Signature": "sha256=" + _hex()},
    ),
    "paystack": (
        "https://paystack.com/docs/payments/webhooks/#verify-event-origin",
        lambda: {"x-paystack-signature": _hex("sha512")},
    ),
    "xero": (
        "https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/",
        lambda: {"x-xero-signature": _b64()},
    ),
    "typeform": (
        "https://www.typeform.com/developers/webhooks/secure-your-webhooks/",
        lambda: {"Typeform-Signature": "sha256=" + _b64()},
    ),
    "intercom": (
        "https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications",
        lambda: {"X-Hub-Signature": "sha1=" + _hex("sha1")},
    ),
    "vercel": (
        "https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks",
        lambda: {"x-vercel-signature": _hex("sha1")},
    ),
    "jira": (
        "https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks",
        lambda: {"X-Hub-Signature": "sha256=" + _hex()},
    ),
    "lemonsqueezy": (
        "https://docs.lemonsqueezy.com/help/webhooks/signing-requests",
        lambda: {"X-Signature": _hex()},
    ),
    "coinbase": (
        "https://docs.cdp.coinbase.com/commerce/docs/webhooks-security",
        lambda: {"X-CC-Webhook-Signature": _hex()},
    ),
    "woocommerce": (
        "https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks",
        lambda: {"X-WC-Webhook-Signature": _b64()},
    ),
    "meta": (
        "https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads",
        lambda: {"X-Hub-Signature-256": "sha256=" + _hex()},
    ),
    "pagerduty": (
        "https://developer.pagerduty.com/docs/verifying-webhook-signatures",
        lambda: {"X-PagerDuty-Signature": f"v1={'ab' * 32},v1={_hex()}"},  # two during rotation
    ),
    "zoom": (
        "https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events",
        lambda: {
            "x-zm-signature": "v0=" + _hex(message=f"v0:{NOW}:".encode() + BODY),
            "x-zm-request-timestamp": str(NOW),
        },
    ),
    "calendly": (
        "https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures",
        lambda: {
            "Calendly-Webhook-Signature": f"t={NOW},v1=" + _hex(message=f"{NOW}.".encode() + BODY)
        },
    ),
    "twitch": (
        "https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message",
        lambda: {
            "Twitch-Eventsub-Message-Id": "e76c6bd4-55c9-4987-8304-da1588d8988b",
            "Twitch-Eventsub-Message-Timestamp": "2023-11-14T22:13:20.123456789Z",
            "Twitch-Eventsub-Message-Signature": "sha256="
            + _hex(
                message=b"e76c6bd4-55c9-4987-8304-da1588d8988b2023-11-14T22:13:20.123456789Z" + BODY
            ),
        },
    ),
    "gitlab": (
        "https://docs.gitlab.com/user/project/integrations/webhooks/#create-a-webhook",
        lambda: {"X-Gitlab-Token": KEY},
    ),
    # Okta event hooks send the authScheme's header as configured (key "Authorization",
    # value the shared secret), on the deliveries and on the one-time verification GET.
    "okta": (
        "https://developer.okta.com/docs/concepts/event-hooks/#one-time-verification-request",
        lambda: {"Authorization": KEY},
    ),
}


@pytest.mark.parametrize("scheme", sorted(RECIPES))
def test_documented_recipe_verifies(scheme: str) -> None:
    page, recipe = RECIPES[scheme]
    headers = recipe()
    assert verify(BODY, headers, KEY, scheme=scheme, now=NOW).scheme == scheme, page
    with pytest.raises(SignatureMismatch):
        verify(BODY, headers, "another-key", scheme=scheme, now=NOW)
    if scheme not in ("gitlab", "okta"):  # a shared token does not cover the body: weaker
        with pytest.raises(SignatureMismatch):
            verify(BODY + b" ", headers, KEY, scheme=scheme, now=NOW)
    with pytest.raises(MissingSignature):
        verify(BODY, {}, KEY, scheme=scheme, now=NOW)


def test_gitlab_token_does_not_cover_the_body() -> None:
    headers = {"X-Gitlab-Token": KEY}
    assert verify(b"anything at all", headers, KEY, scheme="gitlab").scheme == "gitlab"


def test_twitch_rfc3339_timestamp_and_ten_minute_tolerance() -> None:
    headers = RECIPES["twitch"][1]()
    assert verify(BODY, headers, KEY, scheme="twitch", now=NOW + 599).timestamp == NOW
    with pytest.raises(TimestampTooOld):
        verify(BODY, headers, KEY, scheme="twitch", now=NOW + 601)
    assert Verifier(KEY, scheme="twitch").tolerance == 600


def test_calendly_tolerance_is_three_minutes() -> None:
    headers = RECIPES["calendly"][1]()
    verify(BODY, headers, KEY, scheme="calendly", now=NOW + 180)
    with pytest.raises(TimestampTooOld):
        verify(BODY, headers, KEY, scheme="calendly", now=NOW + 181)


def test_twilio_documented_example() -> None:
    """https://www.twilio.com/docs/usage/security#explore-the-algorithm-yourself: Auth Token
    12345, the URL and the five POST fields below give 0/KCTR6DLpKmkAf8muzZqo1nDgQ=."""
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    headers = {
        "X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    body = urlencode(params).encode()
    assert verify(body, headers, "12345", scheme="twilio", url=url).scheme == "twilio"
    with pytest.raises(SignatureMismatch):
        verify(body, headers, "12345", scheme="twilio", url=url.replace("bar=2", "bar=3"))


@pytest.mark.parametrize(
    ("scheme", "method", "body", "expected"),
    [
        # https://developers.hubspot.com/docs/faq/v1-request-validation
        (
            "hubspot-v1",
            "POST",
            b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
            b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,'
            b'"changeSource":"CRM","changeFlag":"NEW","appId":54321}]',
            "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de",
        ),
        # https://developers.hubspot.com/docs/faq/v2-request-validation (GET, then POST)
        (
            "hubspot-v2",
            "GET",
            b"",
            "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e",
        ),
        (
            "hubspot-v2",
            "POST",
            b'{"example_field":"example_value"}',
            "9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900",
        ),
    ],
)
def test_hubspot_documented_examples(scheme: str, method: str, body: bytes, expected: str) -> None:
    secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
    headers = {"X-HubSpot-Signature": expected, "X-HubSpot-Signature-Version": scheme[-2:]}
    url = "https://www.example.com/webhook_uri"
    assert verify(body, headers, secret, scheme=scheme, url=url, method=method).scheme == scheme
    with pytest.raises(SignatureMismatch):
        verify(body + b" ", headers, secret, scheme=scheme, url=url, method=method)


def test_hubspot_v2_is_not_accepted_as_v1() -> None:
    headers = {"X-HubSpot-Signature": "ab" * 32, "X-HubSpot-Signature-Version": "v2"}
    with pytest.raises(VerificationError):
        verify(b"{}", headers, "s", scheme="hubspot-v1")


def test_linear_recipe_and_body_timestamp() -> None:
    """https://linear.app/developers/webhooks#securing-webhooks: Linear-Signature is the hex
    HMAC-SHA256 of the raw body; webhookTimestamp (ms) must be within a minute."""
    body = json.dumps({"action": "create", "webhookTimestamp": NOW * 1000 + 250}).encode()
    headers = {"Linear-Signature": _hex(message=body)}
    assert verify(body, headers, KEY, scheme="linear", now=NOW + 60).timestamp == NOW
    with pytest.raises(TimestampTooOld):
        verify(body, headers, KEY, scheme="linear", now=NOW + 61)
    with pytest.raises(SignatureMismatch):
        verify(body.replace(b"create", b"remove"), headers, KEY, scheme="linear", now=NOW)


def test_mailgun_recipe_json_and_form() -> None:
    """https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks:
    the hex HMAC-SHA256 of timestamp + token with the HTTP webhook signing key."""
    token = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    body = signed_body({"event": "delivered"}, KEY, timestamp=NOW, token=token)
    document = json.loads(body)
    expected = _hex(message=f"{NOW}{token}".encode())
    assert document["signature"]["signature"] == expected
    result = verify(body, {}, KEY, scheme="mailgun", now=NOW)
    assert (result.timestamp, result.message_id) == (NOW, token)
    form = urlencode({"timestamp": NOW, "token": token, "signature": expected, "x": "1"}).encode()
    assert verify(form, {}, KEY, scheme="mailgun", now=NOW).message_id == token
    with pytest.raises(SignatureMismatch):
        verify(body, {}, "another-key", scheme="mailgun", now=NOW)


def test_paystack_digest_is_sha512_sized() -> None:
    headers = {"x-paystack-signature": hashlib.sha256(BODY).hexdigest()}  # 64 hex: too short
    with pytest.raises(VerificationError):
        verify(BODY, headers, KEY, scheme="paystack", now=NOW)
