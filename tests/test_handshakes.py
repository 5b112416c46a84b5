"""The providers' endpoint handshakes, as plain objects (the adapters' side is in
tests/test_handshakes_e2e.py and tests/integrations/test_django_e2e.py)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from hookseal import ConfigurationError, MalformedHeader, Verified, Verifier, schemes, sign
from hookseal.errors import HandshakeRefused, MalformedHandshake
from hookseal.handshakes import (
    HandshakeRequest,
    MetaSubscription,
    OktaVerification,
    Reply,
    TwitchChallenge,
    XeroIntentToReceive,
    ZoomUrlValidation,
    handshake_for,
)

SECRET = "handshake-secret"


def request(
    method: str = "POST", query: str = "", headers: dict[str, str] | None = None
) -> HandshakeRequest:
    return HandshakeRequest(method, query, headers or {})


# -- which handshake an adapter answers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "kind"),
    [
        ("zoom", ZoomUrlValidation),
        ("twitch", TwitchChallenge),
        ("xero", XeroIntentToReceive),
        ("okta", OktaVerification),
    ],
)
def test_required_handshakes_are_answered_by_default(scheme: str, kind: type) -> None:
    chosen = schemes.by_name(scheme)
    assert isinstance(handshake_for(chosen), kind)
    assert isinstance(handshake_for(chosen, True), kind)
    assert handshake_for(chosen, False) is None


def test_meta_is_opt_in_and_other_schemes_have_none() -> None:
    meta = schemes.by_name("meta")
    assert handshake_for(meta) is None
    with pytest.raises(ConfigurationError, match="verify token"):
        handshake_for(meta, True)
    chosen = MetaSubscription(verify_token="t")
    assert handshake_for(schemes.by_name("whatsapp"), chosen) is chosen
    assert handshake_for(schemes.by_name("github")) is None
    with pytest.raises(ConfigurationError, match="no endpoint handshake"):
        handshake_for(schemes.by_name("github"), True)


def test_a_handshake_for_another_scheme_or_not_a_handshake_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="meta"):
        handshake_for(schemes.by_name("zoom"), MetaSubscription(verify_token="t"))
    with pytest.raises(ConfigurationError):
        handshake_for(schemes.by_name("zoom"), "zoom")  # type: ignore[arg-type]


# -- Zoom ------------------------------------------------------------------------------------------


def zoom_validation(token: object = "qgg8vlvZRS6UYooatFL8Aw") -> bytes:  # noqa: S107
    document = {"payload": {"plainToken": token}, "event_ts": 1654503849680}
    return json.dumps({**document, "event": "endpoint.url_validation"}).encode()


def test_zoom_answers_with_the_hmac_of_the_plain_token_using_the_matching_secret() -> None:
    verifier = Verifier(["other-secret", SECRET], scheme="zoom")
    body = zoom_validation()
    verified = verifier.verify(body, sign(body, SECRET, scheme="zoom"))
    reply = ZoomUrlValidation().after(request(), verified, body, verifier.provider)
    assert reply is not None
    assert (reply.status, reply.content_type) == (200, "application/json")
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert json.loads(reply.body) == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": expected,
    }
    assert SECRET.encode() not in reply.body


def test_zoom_events_are_left_to_the_app() -> None:
    verifier = Verifier(SECRET, scheme="zoom")
    for body in (b'{"event":"meeting.started"}', b'{"note":"endpoint.url_validation"}', b"[1]"):
        verified = verifier.verify(body, sign(body, SECRET, scheme="zoom"))
        assert ZoomUrlValidation().after(request(), verified, body, verifier.provider) is None


@pytest.mark.parametrize("token", [None, 7, "", "a\nb", "x" * 5000, "\u00e9"])
def test_zoom_validation_without_a_usable_token_is_a_400(token: object) -> None:
    verifier = Verifier(SECRET, scheme="zoom")
    body = zoom_validation(token)
    verified = verifier.verify(body, sign(body, SECRET, scheme="zoom"))
    with pytest.raises(MalformedHandshake) as refused:
        ZoomUrlValidation().after(request(), verified, body, verifier.provider)
    assert refused.value.status == 400


# -- Twitch ----------------------------------------------------------------------------------------

TWITCH_TYPE = "Twitch-Eventsub-Message-Type"


def test_twitch_echoes_the_challenge_as_plain_text() -> None:
    body = b'{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2"}}'
    said = request(headers={TWITCH_TYPE: "webhook_callback_verification"})
    reply = TwitchChallenge().after(said, _verified(), body, Verifier(SECRET).provider)
    assert reply == Reply(200, b"pogchamp-kappa-360noscope-vohiyo", "text/plain")
    assert ("x-content-type-options", "nosniff") in reply.header_list()


def test_twitch_notifications_and_revocations_are_left_to_the_app() -> None:
    for kind in ("notification", "revocation"):
        said = request(headers={TWITCH_TYPE: kind})
        body = b'{"challenge":"x"}'
        assert TwitchChallenge().after(said, _verified(), body, Verifier(SECRET).provider) is None


@pytest.mark.parametrize(
    "body", [b"{}", b"not json", b'{"challenge": 5}', b'{"challenge":"a\\r\\nb"}']
)
def test_twitch_verification_without_a_challenge_is_a_400(body: bytes) -> None:
    said = request(headers={TWITCH_TYPE: "webhook_callback_verification"})
    with pytest.raises(MalformedHandshake):
        TwitchChallenge().after(said, _verified(), body, Verifier(SECRET).provider)


# -- Meta ------------------------------------------------------------------------------------------

META = MetaSubscription(verify_token=["old-token", "meta-verify-token"])


def test_meta_answers_the_challenge_when_the_verify_token_matches() -> None:
    query = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meta-verify-token"
    assert META.before(request("GET", query)) == Reply(200, b"1158201444", "text/plain")
    assert META.before(request("GET", query.replace("meta-verify", "old"))) is not None


def test_meta_refuses_another_token_with_403() -> None:
    for token in ("wrong", "", "meta-verify-tokenX"):
        query = f"hub.mode=subscribe&hub.challenge=1&hub.verify_token={token}"
        with pytest.raises(HandshakeRefused) as refused:
            META.before(request("GET", query))
        assert refused.value.status == 403
    with pytest.raises(HandshakeRefused):
        META.before(request("GET", "hub.mode=subscribe&hub.challenge=1"))


@pytest.mark.parametrize(
    "query",
    [
        "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=meta-verify-token",
        "hub.mode=subscribe&hub.verify_token=meta-verify-token",
        "hub.mode=subscribe&hub.challenge=&hub.verify_token=meta-verify-token",
        "hub.mode=subscribe&hub.mode=subscribe&hub.challenge=1&hub.verify_token=meta-verify-token",
        "hub.mode=subscribe&hub.challenge=%FF&hub.verify_token=meta-verify-token",
        "hub.mode=subscribe&" + "&".join(f"a{i}=1" for i in range(20)),
    ],
)
def test_meta_malformed_verification_requests_are_400(query: str) -> None:
    with pytest.raises(MalformedHandshake):
        META.before(request("GET", query))


def test_meta_deliveries_are_not_handshakes() -> None:
    assert META.before(request("POST", "hub.mode=subscribe")) is None
    assert META.before(request("GET", "page=1")) is None


def test_meta_verify_token_is_required_and_hidden() -> None:
    with pytest.raises(ConfigurationError):
        MetaSubscription(verify_token="")
    with pytest.raises(ConfigurationError):
        MetaSubscription(verify_token=[])
    assert "meta-verify-token" not in repr(META)


# -- Xero ------------------------------------------------------------------------------------------


def test_xero_intent_to_receive_is_answered_with_an_empty_200() -> None:
    body = b'{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}'
    reply = XeroIntentToReceive().after(request(), _verified(), body, Verifier(SECRET).provider)
    assert reply == Reply(200)
    assert reply.header_list() == [("content-length", "0"), ("cache-control", "no-store")]
    assert XeroIntentToReceive.quiet_refusals


def test_xero_events_are_left_to_the_app() -> None:
    body = b'{"events":[{"resourceId":"r1"}],"firstEventSequence":1,"lastEventSequence":1}'
    assert (
        XeroIntentToReceive().after(request(), _verified(), body, Verifier(SECRET).provider) is None
    )


# -- Okta ------------------------------------------------------------------------------------------


def test_okta_echoes_the_verification_challenge_as_json() -> None:
    said = request("GET", headers={"X-Okta-Verification-Challenge": "Me_rShK8JHsTnbyYrWXCEoMGbM"})
    reply = OktaVerification().after(said, _verified(), b"", Verifier(SECRET).provider)
    assert reply is not None
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert json.loads(reply.body) == {"verification": "Me_rShK8JHsTnbyYrWXCEoMGbM"}


def test_okta_deliveries_are_left_to_the_app() -> None:
    okta = OktaVerification()
    provider = Verifier(SECRET).provider
    assert okta.after(request("GET"), _verified(), b"", provider) is None
    said = request("POST", headers={"X-Okta-Verification-Challenge": "x"})
    assert okta.after(said, _verified(), b"{}", provider) is None


def test_okta_bad_challenge_header_is_a_typed_error() -> None:
    said = request("GET", headers={"X-Okta-Verification-Challenge": "\u00e9"})
    with pytest.raises(MalformedHeader):
        OktaVerification().after(said, _verified(), b"", Verifier(SECRET).provider)


def _verified() -> Verified:
    return Verified("fp-test", "test")
