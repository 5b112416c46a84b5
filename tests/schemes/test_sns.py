"""Amazon SNS: real RSA signatures over real SNS messages, the certificate served by a real
HTTP server on 127.0.0.1 (reached through hookseal.testing.fetch_from, the test-only fetcher;
the scheme's check of SigningCertURL is the production one).

AWS's pages: "Verifying the signatures of Amazon SNS messages" and "HTTP/HTTPS notification
JSON format" / "HTTP/HTTPS subscription confirmation JSON format" (SNS developer guide). Their
example messages carry placeholder signatures ("EXAMPLE..."), so no signature vector can be
checked; the documented string-to-sign examples are checked byte for byte below.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from _key_server import KeyServer, Route, key_server, self_signed
from hookseal import (
    BodyError,
    ConfigurationError,
    PayloadTooLarge,
    SignatureMismatch,
    SigningKeyUnavailable,
    TimestampTooOld,
    UntrustedSigningKey,
    VerificationError,
    Verifier,
)
from hookseal.schemes import Sns, by_name
from hookseal.schemes.sns import (
    check_certificate_url,
    signed_message,
    string_to_sign,
    subscribe_url,
)
from hookseal.testing import ManualClock, fetch_from

TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"
PATH = "/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem"
CERT_URL = "https://sns.us-east-1.amazonaws.com" + PATH
NOW = int(time.time())


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = self_signed(KEY)


@pytest.fixture
def server() -> Iterator[KeyServer]:
    with key_server() as running:
        running.routes[PATH] = Route(PEM)
        yield running


def _scheme(server: KeyServer, **options: Any) -> Sns:
    return Sns(fetch=fetch_from(server.base_url), **options)


def _message(key: rsa.RSAPrivateKey = KEY, **fields: Any) -> bytes:
    fields.setdefault("certificate_url", CERT_URL)
    fields.setdefault("topic_arn", TOPIC)
    fields.setdefault("timestamp", NOW)
    return signed_message(key, **fields)


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("Notification", None),
        ("Notification", "Order 7 paid"),
        ("SubscriptionConfirmation", None),
        ("UnsubscribeConfirmation", None),
    ],
)
def test_each_type_and_signature_version_verifies(
    server: KeyServer, version: str, kind: str, subject: str | None
) -> None:
    body = _message(kind=kind, subject=subject, version=version, message="line one\nline two")
    result = Verifier(TOPIC, scheme=_scheme(server)).verify(body, {})
    assert result.scheme == "sns"
    assert result.message_id == json.loads(body)["MessageId"]
    assert result.timestamp == NOW
    assert server.count(PATH) == 1


def test_by_name_is_the_production_scheme() -> None:
    scheme = by_name("sns")
    assert isinstance(scheme, Sns)
    assert scheme.fetches_keys
    assert scheme.default_tolerance == 3600.0


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_forged_signature_is_refused(server: KeyServer, version: str) -> None:
    body = _message(OTHER, version=version)  # signed by a key whose certificate is not served
    with pytest.raises(SignatureMismatch) as caught:
        Verifier(TOPIC, scheme=_scheme(server)).verify(body, {})
    assert caught.value.status == 401


def test_a_changed_message_is_refused(server: KeyServer) -> None:
    document = json.loads(_message(subject="s"))
    document["Message"] = "something else"
    with pytest.raises(SignatureMismatch):
        Verifier(TOPIC, scheme=_scheme(server)).verify(json.dumps(document).encode(), {})


def test_a_signature_of_the_other_version_is_refused(server: KeyServer) -> None:
    document = json.loads(_message(version="1"))
    document["SignatureVersion"] = "2"  # SHA1withRSA presented as SHA256withRSA
    with pytest.raises(SignatureMismatch):
        Verifier(TOPIC, scheme=_scheme(server)).verify(json.dumps(document).encode(), {})


def test_another_topic_is_refused_before_any_fetch(server: KeyServer) -> None:
    body = _message(topic_arn="arn:aws:sns:us-east-1:999999999999:theirs")
    with pytest.raises(SignatureMismatch):
        Verifier(TOPIC, scheme=_scheme(server)).verify(body, {})
    assert server.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com.evil.com" + PATH,  # lookalike
        "https://evil.com" + PATH,
        "http://sns.us-east-1.amazonaws.com" + PATH,  # not https
        "https://sns.us-east-1.amazonaws.com:8443" + PATH,  # a port
        "https://user@sns.us-east-1.amazonaws.com" + PATH,  # user info
        "https://sns.us-east-1.amazonaws.com@evil.com" + PATH,
        "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",  # an action
        "https://sns.us-east-1.amazonaws.com" + PATH + "?x=1",
        "https://sns.us-east-1.amazonaws.com" + PATH + "#x",
        "https://sns.us-east-1.amazonaws.com/../x.pem",
        "https://SNS.us-east-1.amazonaws.com" + PATH,
        "https://sns.amazonaws.com" + PATH,  # no region
        "https://s3.us-east-1.amazonaws.com" + PATH,
        "https://sns.us-east-1.amazonaws.com" + PATH.replace(".pem", ".txt"),
        "https://sns.us-east-1.amazonaws.com.\u0435vil.com" + PATH,
        "file:///etc/passwd",
    ],
)
def test_a_certificate_url_off_sns_is_refused_before_any_fetch(server: KeyServer, url: str) -> None:
    body = _message(certificate_url=url)
    with pytest.raises(UntrustedSigningKey) as caught:
        Verifier(TOPIC, scheme=_scheme(server)).verify(body, {})
    assert caught.value.status == 400
    assert server.hits == []


@pytest.mark.parametrize(
    "url",
    [
        CERT_URL,
        "https://sns.eu-central-1.amazonaws.com" + PATH,
        "https://sns.us-gov-west-1.amazonaws.com" + PATH,
        "https://sns.cn-north-1.amazonaws.com.cn" + PATH,
    ],
)
def test_sns_certificate_urls_of_every_partition_are_accepted(url: str) -> None:
    assert check_certificate_url(url) == url


def test_the_certificate_is_fetched_once_and_cached(server: KeyServer) -> None:
    verifier = Verifier(TOPIC, scheme=_scheme(server))
    for i in range(5):
        verifier.verify(_message(message_id=f"m-{i}"), {})
    assert server.count(PATH) == 1


def test_a_cold_cache_fetches_once_for_many_threads(server: KeyServer) -> None:
    server.routes[PATH] = Route(PEM, hang=True)  # held until released: all threads pile up
    verifier = Verifier(TOPIC, scheme=_scheme(server, fetch_timeout=30.0))
    results: list[object] = []

    def deliver(i: int) -> None:
        results.append(verifier.verify(_message(message_id=f"m-{i}"), {}).message_id)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while server.count(PATH) == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.release.set()
    for thread in threads:
        thread.join(30)
    assert len(results) == 8
    assert server.count(PATH) == 1


@pytest.mark.parametrize("status", [404, 500])
def test_a_failed_fetch_is_503_and_backs_off(server: KeyServer, status: int) -> None:
    server.routes[PATH] = Route(b"no", status)
    verifier = Verifier(TOPIC, scheme=_scheme(server))
    with pytest.raises(SigningKeyUnavailable) as caught:
        verifier.verify(_message(), {})
    assert caught.value.status == 503
    assert "Retry-After" in caught.value.response_headers()
    with pytest.raises(SigningKeyUnavailable):  # within the backoff: no second fetch
        verifier.verify(_message(), {})
    assert server.count(PATH) == 1


def test_a_certificate_that_is_not_one_is_503(server: KeyServer) -> None:
    server.routes[PATH] = Route(b"-----BEGIN CERTIFICATE-----\nnot really\n")
    with pytest.raises(SigningKeyUnavailable):
        Verifier(TOPIC, scheme=_scheme(server)).verify(_message(), {})


def test_an_expired_certificate_is_not_used(server: KeyServer) -> None:
    late = ManualClock(time.time() + 60 * 86_400)  # the certificate ended after 29 days
    with pytest.raises(SigningKeyUnavailable):
        Verifier(TOPIC, scheme=_scheme(server, clock=late)).verify(_message(), {})


def test_a_hanging_fetch_is_bounded(server: KeyServer) -> None:
    server.routes[PATH] = Route(PEM, hang=True)
    verifier = Verifier(TOPIC, scheme=_scheme(server, fetch_timeout=0.3))
    started = time.monotonic()
    with pytest.raises(SigningKeyUnavailable) as caught:
        verifier.verify(_message(), {})
    assert time.monotonic() - started < 8  # 0.3 s asked for; wide margin for a busy machine
    assert "longer than" in caught.value.detail
    with pytest.raises(SigningKeyUnavailable):  # the hung fetch is still the only one
        verifier.verify(_message(), {})
    assert server.count(PATH) == 1


def test_the_last_good_certificate_outlives_a_failing_refetch(server: KeyServer) -> None:
    monotonic = ManualClock(1000.0)
    verifier = Verifier(TOPIC, scheme=_scheme(server, ttl=60.0, monotonic=monotonic))
    verifier.verify(_message(message_id="first"), {})
    server.routes[PATH] = Route(b"down", 503)
    monotonic.advance(120)  # past the ttl: served at once, refetched behind, which fails
    assert verifier.verify(_message(message_id="second"), {}).message_id == "second"
    deadline = time.monotonic() + 10
    while server.count(PATH) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.count(PATH) == 2
    time.sleep(0.05)  # the failed refetch lands (backs off); the old certificate still serves
    assert verifier.verify(_message(message_id="third"), {}).message_id == "third"


def test_new_fetches_are_budgeted(server: KeyServer) -> None:
    paths = [f"/SimpleNotificationService-{i:032x}.pem" for i in range(3)]
    for path in paths:
        server.routes[path] = Route(PEM)
    verifier = Verifier(TOPIC, scheme=_scheme(server, budget=2))
    for path in paths[:2]:
        verifier.verify(_message(certificate_url="https://sns.us-east-1.amazonaws.com" + path), {})
    third = _message(certificate_url="https://sns.us-east-1.amazonaws.com" + paths[2])
    with pytest.raises(SigningKeyUnavailable):
        verifier.verify(third, {})
    assert server.count(paths[2]) == 0


def test_averify_awaits_the_fetch_without_blocking_the_loop(server: KeyServer) -> None:
    server.routes[PATH] = Route(PEM, hang=True)
    verifier = Verifier(TOPIC, scheme=_scheme(server, fetch_timeout=30.0))

    async def main() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                if ticks == 5:
                    server.release.set()  # the loop ran while the fetch was awaited
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        result = await verifier.averify(_message(), {})
        ticker.cancel()
        assert result.scheme == "sns"
        return ticks

    assert asyncio.run(main()) >= 5


def test_an_old_timestamp_is_refused(server: KeyServer) -> None:
    with pytest.raises(TimestampTooOld):
        Verifier(TOPIC, scheme=_scheme(server)).verify(_message(timestamp=NOW - 7200), {})
    assert server.hits == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"\xff\xfe{}",
        b"{" * 100_000,
        b'{"Type": "Notification", "Type": "Notification"}',  # a repeated name
    ],
)
def test_a_body_that_is_not_an_sns_object_is_400(server: KeyServer, body: bytes) -> None:
    with pytest.raises(BodyError) as caught:
        Verifier(TOPIC, scheme=_scheme(server)).verify(body, {})
    assert caught.value.status == 400


def test_a_huge_body_is_413(server: KeyServer) -> None:
    body = b'{"Message": "' + b"x" * 2_000_000 + b'"}'
    with pytest.raises(PayloadTooLarge):
        Verifier(TOPIC, scheme=_scheme(server)).verify(body, {})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Type", "Other"),
        ("SignatureVersion", "3"),
        ("Signature", "not base64!"),
        ("Signature", "QUJD"),
        ("MessageId", "has space"),
        ("Timestamp", "yesterday"),
        ("TopicArn", 7),
    ],
)
def test_malformed_fields_are_typed_errors(server: KeyServer, field: str, value: object) -> None:
    document = json.loads(_message())
    document[field] = value
    with pytest.raises(VerificationError) as caught:
        Verifier(TOPIC, scheme=_scheme(server)).verify(json.dumps(document).encode(), {})
    assert caught.value.status in (400, 401)
    assert server.hits == []


def test_the_secrets_are_topic_arns() -> None:
    with pytest.raises(ConfigurationError):
        Verifier("whsec_not-a-topic", scheme="sns")
    Verifier(
        ["arn:aws:sns:us-east-1:123456789012:a", "arn:aws-cn:sns:cn-north-1:123456789012:b"],
        scheme="sns",
    )


def test_signing_headers_is_refused() -> None:
    from hookseal import sign

    with pytest.raises(ConfigurationError):
        sign(b"{}", TOPIC, scheme="sns")


def test_the_documented_strings_to_sign() -> None:
    """The two examples of "Verifying the signatures of Amazon SNS messages" (SNS developer
    guide, the query-based verification steps), byte for byte."""
    notification = {
        "Type": "Notification",
        "MessageId": "4d4dc071-ddbf-465d-bba8-08f81c89da64",
        "TopicArn": "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
        "Subject": "My subject",
        "Message": "My Test Message",
        "Timestamp": "2019-01-31T04:37:04.321Z",
        "SignatureVersion": "1",
    }
    assert string_to_sign(notification) == (
        b"Message\nMy Test Message\nMessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\n"
        b"Subject\nMy subject\nTimestamp\n2019-01-31T04:37:04.321Z\n"
        b"TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n"
        b"Type\nNotification\n"
    )
    url = (
        "https://sns.us-east-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:"
        "us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P&Token=233..."
    )
    confirmation = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "3d891288-136d-417f-bc05-901c108273ee",
        "Token": "233...",
        "TopicArn": "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
        "Message": "My Test Message",
        "SubscribeURL": url,
        "Timestamp": "2019-01-31T19:25:13.719Z",
    }
    assert string_to_sign(confirmation) == (
        b"Message\nMy Test Message\nMessageId\n3d891288-136d-417f-bc05-901c108273ee\n"
        b"SubscribeURL\n" + url.encode() + b"\nTimestamp\n2019-01-31T19:25:13.719Z\n"
        b"Token\n233...\n"
        b"TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n"
        b"Type\nSubscriptionConfirmation\n"
    )


def test_the_test_fetcher_only_reaches_loopback() -> None:
    with pytest.raises(ConfigurationError):
        fetch_from("https://sns.us-east-1.amazonaws.com")
    with pytest.raises(ConfigurationError):
        fetch_from("http://127.0.0.1.evil.com:80")


def test_the_production_fetcher_speaks_https_only() -> None:
    from hookseal.schemes._fetch import https_get

    with pytest.raises(ConfigurationError):
        https_get("http://127.0.0.1:1/x.pem")


def test_a_verified_confirmation_hands_its_subscribe_url_to_the_app(server: KeyServer) -> None:
    body = _message(kind="SubscriptionConfirmation")
    Verifier(TOPIC, scheme=_scheme(server)).verify(body, {})
    url = subscribe_url(body)
    assert url is not None
    assert url.startswith("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&")
    assert subscribe_url(_message()) is None  # a notification has none
    document = json.loads(body)
    document["SubscribeURL"] = "https://sns.us-east-1.amazonaws.com.evil.com/?Action=x"
    with pytest.raises(UntrustedSigningKey):
        subscribe_url(json.dumps(document).encode())


def test_a_storm_of_forged_certificate_urls_costs_at_most_the_budget(server: KeyServer) -> None:
    """Each forged message names a new certificate URL on the SNS host (the host check passes,
    the URL does not exist): fetches stay within the budget, the rest are 503 without a fetch."""
    verifier = Verifier(TOPIC, scheme=_scheme(server, budget=30))
    statuses: dict[int, int] = {}
    for i in range(300):
        url = f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{i:032x}.pem"
        with pytest.raises(VerificationError) as caught:
            verifier.verify(_message(certificate_url=url), {})
        statuses[caught.value.status] = statuses.get(caught.value.status, 0) + 1
    assert statuses == {503: 300}
    assert 1 <= len(server.hits) <= 30
