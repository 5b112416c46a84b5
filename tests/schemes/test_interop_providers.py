"""Interop with the providers' own SDKs: what they sign verifies here, and what hookseal signs
their verifiers accept (both directions wherever the SDK can sign).

SDKs: twilio (RequestValidator), hubspot-api-client (Signature), razorpay (Utility), squareup
(webhooks_helper), paddle-python-sdk (Verifier, PaddleSignature), sendgrid (EventWebhook),
discord-interactions (verify_key; PyNaCl, its dependency, signs). The peers that check time
use the wall clock, so these tests sign "now"; they compare no durations.
"""

from __future__ import annotations

import base64
import time
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hookseal import SignatureMismatch, VerificationError, Verifier, sign, verify

twilio_validator = pytest.importorskip("twilio.request_validator")
hubspot_signature = pytest.importorskip("hubspot.utils.signature")
razorpay_utility = pytest.importorskip("razorpay.utility.utility")
square_webhooks = pytest.importorskip("square.utils.webhooks_helper")
paddle_notifications = pytest.importorskip("paddle_billing.Notifications")
sendgrid_webhook = pytest.importorskip("sendgrid.helpers.eventwebhook")
discord_interactions = pytest.importorskip("discord_interactions")
nacl_signing = pytest.importorskip("nacl.signing")

SECRET = "test_secret_9f8e7d6c5b4a"
JSON_BODIES = [
    b'{"event":"paid","amount":1200}',
    '{"id":"evt_2","name":"J\u00fcrgen \u2603"}'.encode(),
    b'{"id":"evt_3"}' + b" " * 5000,
]


# -- Twilio --------------------------------------------------------------------------------------

TWILIO_URL = "https://example.com/twilio/sms?tenant=7"
TWILIO_PARAMS = {
    "AccountSid": "AC0123456789",
    "Body": "Hello w\u00f6rld & more=yes",
    "From": "+15551234567",
    "To": "+15557654321",
    "MessageSid": "SM1",
}
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("algorithm", ["HMAC_SHA1", "HMAC_SHA256"])
def test_twilio_signs_form_hookseal_verifies(algorithm: str) -> None:
    validator = twilio_validator.RequestValidator(SECRET)
    signature = validator.compute_signature(TWILIO_URL, TWILIO_PARAMS, algorithm)
    body = urlencode(TWILIO_PARAMS).encode()
    headers = dict(FORM_HEADERS, **{"X-Twilio-Signature": signature})
    if algorithm == "HMAC_SHA256":
        headers["X-Twilio-Webhooks-Signature-Settings"] = "key=K1,algorithm=HMAC_SHA256"
    assert verify(body, headers, SECRET, scheme="twilio", url=TWILIO_URL).scheme == "twilio"
    reordered = urlencode(sorted(TWILIO_PARAMS.items(), reverse=True)).encode()
    verify(reordered, headers, SECRET, scheme="twilio", url=TWILIO_URL)  # order is not signed
    with pytest.raises(SignatureMismatch):
        verify(body.replace(b"Hello", b"Jello"), headers, SECRET, scheme="twilio", url=TWILIO_URL)
    with pytest.raises(SignatureMismatch):
        verify(body, headers, SECRET, scheme="twilio", url=TWILIO_URL + "&x=1")


@pytest.mark.parametrize("scheme", ["twilio", "twilio-sha256"])
def test_hookseal_signs_form_twilio_verifies(scheme: str) -> None:
    body = urlencode(TWILIO_PARAMS).encode()
    headers = sign(body, SECRET, scheme=scheme, url=TWILIO_URL)
    algorithm = twilio_validator.get_signature_algorithm(
        headers.get("X-Twilio-Webhooks-Signature-Settings")
    )
    validator = twilio_validator.RequestValidator(SECRET)
    signature = headers["X-Twilio-Signature"]
    assert validator.validate(TWILIO_URL, TWILIO_PARAMS, signature, algorithm)
    assert not validator.validate(TWILIO_URL, dict(TWILIO_PARAMS, To="+1"), signature, algorithm)


@pytest.mark.parametrize("body", JSON_BODIES)
def test_twilio_json_body_sha256_both_ways(body: bytes) -> None:
    validator = twilio_validator.RequestValidator(SECRET)
    url = TWILIO_URL + "&bodySHA256=" + validator.compute_hash(body.decode())
    signature = validator.compute_signature(url, {})
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/json"}
    assert verify(body, headers, SECRET, scheme="twilio", url=url).scheme == "twilio"
    with pytest.raises(SignatureMismatch):  # the body no longer hashes to bodySHA256
        verify(body + b" ", headers, SECRET, scheme="twilio", url=url)
    ours = sign(body, SECRET, scheme="twilio", url=url)
    assert validator.validate(url, body.decode(), ours["X-Twilio-Signature"])


def test_twilio_default_port_both_ways_round() -> None:
    """Twilio's SDK accepts the URL with or without its default port; so does hookseal."""
    validator = twilio_validator.RequestValidator(SECRET)
    with_port = "https://example.com:443/twilio/sms"
    signature = validator.compute_signature(with_port, TWILIO_PARAMS)
    body = urlencode(TWILIO_PARAMS).encode()
    headers = dict(FORM_HEADERS, **{"X-Twilio-Signature": signature})
    verify(body, headers, SECRET, scheme="twilio", url="https://example.com/twilio/sms")
    verify(body, headers, SECRET, scheme="twilio", url=with_port)


# -- HubSpot ----------------------------------------------------------------------------------

HUBSPOT_URL = "https://example.com/hubspot/webhook?portal=62515"


@pytest.mark.parametrize("body", JSON_BODIES)
def test_hubspot_v3_signs_hookseal_verifies(body: bytes) -> None:
    stamp = str(int(time.time() * 1000))
    signature = hubspot_signature.Signature.get_signature(
        SECRET, body.decode(), "v3", http_uri=HUBSPOT_URL, http_method="POST", timestamp=stamp
    )
    headers = {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": stamp}
    result = verify(body, headers, SECRET, scheme="hubspot", url=HUBSPOT_URL, method="POST")
    assert result.timestamp == int(stamp) // 1000
    with pytest.raises(SignatureMismatch):
        verify(body, headers, SECRET, scheme="hubspot", url=HUBSPOT_URL, method="PUT")


@pytest.mark.parametrize("body", JSON_BODIES)
def test_hookseal_signs_hubspot_v3_verifies(body: bytes) -> None:
    headers = sign(body, SECRET, scheme="hubspot", url=HUBSPOT_URL, method="POST")
    assert hubspot_signature.Signature.is_valid(
        headers["X-HubSpot-Signature-v3"],
        SECRET,
        body.decode(),
        http_uri=HUBSPOT_URL,
        http_method="POST",
        signature_version="v3",
        timestamp=headers["X-HubSpot-Request-Timestamp"],
    )


def test_hubspot_v3_percent_decoded_uri_as_the_docs_say() -> None:
    """HubSpot's page decodes %3A, %2F... before signing; the SDK does not: both verify."""
    raw_url = "https://example.com/hook?next=%2Fdeals%3A1"
    decoded = "https://example.com/hook?next=/deals:1"
    stamp = str(int(time.time() * 1000))
    body = JSON_BODIES[0]
    for signed_url in (raw_url, decoded):
        signature = hubspot_signature.Signature.get_signature(
            SECRET, body.decode(), "v3", http_uri=signed_url, timestamp=stamp
        )
        headers = {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": stamp}
        verify(body, headers, SECRET, scheme="hubspot", url=raw_url)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_hubspot_legacy_both_ways(version: str) -> None:
    body = JSON_BODIES[0]
    signature = hubspot_signature.Signature.get_signature(
        SECRET, body.decode(), version, http_uri=HUBSPOT_URL, http_method="POST"
    )
    headers = {"X-HubSpot-Signature": signature, "X-HubSpot-Signature-Version": version}
    verify(body, headers, SECRET, scheme=f"hubspot-{version}", url=HUBSPOT_URL)
    ours = sign(body, SECRET, scheme=f"hubspot-{version}", url=HUBSPOT_URL)
    assert hubspot_signature.Signature.is_valid(
        ours["X-HubSpot-Signature"], SECRET, body.decode(), HUBSPOT_URL, "POST", version
    )


# -- Razorpay, Square, Paddle ---------------------------------------------------------------


@pytest.mark.parametrize("body", JSON_BODIES)
def test_hookseal_signs_razorpay_verifies(body: bytes) -> None:
    headers = sign(body, SECRET, scheme="razorpay")
    utility = razorpay_utility.Utility(client=None)
    signature = headers["X-Razorpay-Signature"]
    assert utility.verify_webhook_signature(body.decode(), signature, SECRET)
    with pytest.raises(razorpay_utility.SignatureVerificationError):
        utility.verify_webhook_signature(body.decode() + " ", signature, SECRET)


SQUARE_URL = "https://example.com/square/webhook"


@pytest.mark.parametrize("body", JSON_BODIES)
def test_hookseal_signs_square_verifies(body: bytes) -> None:
    headers = sign(body, SECRET, scheme="square", url=SQUARE_URL)
    signature = headers["x-square-hmacsha256-signature"]
    assert square_webhooks.verify_signature(
        request_body=body.decode(),
        signature_header=signature,
        signature_key=SECRET,
        notification_url=SQUARE_URL,
    )
    assert not square_webhooks.verify_signature(
        request_body=body.decode(),
        signature_header=signature,
        signature_key=SECRET,
        notification_url=SQUARE_URL + "/other",
    )
    verify(body, headers, SECRET, scheme="square", url=SQUARE_URL)


class _PaddleRequest:
    """What paddle's Verifier reads from a framework request: headers and the raw body."""

    def __init__(self, body: bytes, headers: dict[str, str]) -> None:
        self.body = body
        self.headers = headers


@pytest.mark.parametrize("body", JSON_BODIES)
def test_paddle_both_ways(body: bytes) -> None:
    from paddle_billing.Notifications.PaddleSignature import PaddleSignature

    stamp = int(time.time())
    digest = PaddleSignature.calculate_hmac(SECRET, f"{stamp}:{body.decode()}".encode())
    headers = {"Paddle-Signature": f"ts={stamp};h1={digest.hexdigest()}"}
    assert verify(body, headers, SECRET, scheme="paddle").timestamp == stamp
    ours = sign(body, SECRET, scheme="paddle")
    secret = paddle_notifications.Secret(SECRET)
    assert paddle_notifications.Verifier().verify(_PaddleRequest(body, ours), secret)
    rotated = sign(body, ["other_secret_123", SECRET], scheme="paddle")
    assert paddle_notifications.Verifier().verify(_PaddleRequest(body, rotated), secret)


def test_paddle_tolerance_is_the_sdks_five_seconds() -> None:
    assert Verifier(SECRET, scheme="paddle").tolerance == 5.0
    old = sign(JSON_BODIES[0], SECRET, scheme="paddle", now=time.time() - 30)
    with pytest.raises(VerificationError):
        verify(JSON_BODIES[0], old, SECRET, scheme="paddle")


# -- SendGrid (ECDSA P-256) and Discord (Ed25519) ---------------------------------------------


def _ec_private_pem() -> tuple[str, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, base64.b64encode(der).decode()  # the public key as SendGrid's dashboard shows it


@pytest.mark.parametrize("body", JSON_BODIES)
def test_hookseal_signs_sendgrid_verifies(body: bytes) -> None:
    private_pem, public_b64 = _ec_private_pem()
    headers = sign(body, private_pem, scheme="sendgrid")
    webhook = sendgrid_webhook.EventWebhook(public_b64)
    signature = headers["X-Twilio-Email-Event-Webhook-Signature"]
    stamp = headers["X-Twilio-Email-Event-Webhook-Timestamp"]
    assert webhook.verify_signature(body.decode(), signature, stamp)
    assert not webhook.verify_signature(body.decode() + " ", signature, stamp)
    assert verify(body, headers, public_b64, scheme="sendgrid").scheme == "sendgrid"


def test_sendgrid_sdk_signature_verifies_with_the_key_as_shown() -> None:
    """The official SDKs' shared test vector (sendgrid-python test/unit/test_eventwebhook.py,
    the same in sendgrid-nodejs, -java, -go, -php, -ruby): a real SendGrid-format key."""
    public_key = (
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBc"
        "epxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
    )
    signature = (
        "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nl"
        "xFDWYNH2j/0="
    )
    payload = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": "1588788367",
    }
    assert sendgrid_webhook.EventWebhook(public_key).verify_signature(
        payload.decode(), signature, "1588788367"
    )
    assert verify(payload, headers, public_key, scheme="sendgrid", now=1588788367).timestamp
    with pytest.raises(SignatureMismatch):
        verify(payload + b" ", headers, public_key, scheme="sendgrid", now=1588788367)


@pytest.mark.parametrize("body", JSON_BODIES)
def test_discord_both_ways(body: bytes) -> None:
    signing_key = nacl_signing.SigningKey.generate()
    public_hex = signing_key.verify_key.encode().hex()
    stamp = str(int(time.time()))
    signature = signing_key.sign(stamp.encode() + body).signature.hex()
    headers = {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp}
    assert verify(body, headers, public_hex, scheme="discord").timestamp == int(stamp)
    with pytest.raises(SignatureMismatch):
        verify(body + b" ", headers, public_hex, scheme="discord")
    private_pem = _ed25519_pem(bytes(signing_key))
    ours = sign(body, private_pem, scheme="discord")
    assert discord_interactions.verify_key(
        body, ours["X-Signature-Ed25519"], ours["X-Signature-Timestamp"], public_hex
    )


def _ed25519_pem(seed: bytes) -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.from_private_bytes(seed)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


# -- Standard Webhooks aliases -----------------------------------------------------------------


@pytest.mark.parametrize("alias", ["clerk", "resend", "svix"])
def test_standard_webhooks_aliases_verify_svix_signatures(alias: str) -> None:
    svix = pytest.importorskip("svix.webhooks")
    whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = JSON_BODIES[0]
    moment = int(time.time())
    import datetime as dt

    when = dt.datetime.fromtimestamp(moment, tz=dt.timezone.utc)
    signature = svix.Webhook(whsec).sign("msg_1", when, body.decode())
    headers = {"svix-id": "msg_1", "svix-timestamp": str(moment), "svix-signature": signature}
    assert verify(body, headers, whsec, scheme=alias).message_id == "msg_1"
