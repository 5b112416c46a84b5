"""Plaid: real ES256 tokens made with cryptography, the JWK answered by an imitation of
/webhook_verification_key/get on 127.0.0.1 (reached through hookseal.testing.post_json_to).

Plaid's page: "Verify webhooks" (plaid.com/docs/api/webhooks/webhook-verification/) and the
/webhook_verification_key/get reference. Plaid publishes an example JWT header (alg ES256, a
UUID kid, typ JWT) but no signed token with its key, so no signature vector can be checked;
the documented header shape is used below.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from _key_server import KeyServer, Route, key_server
from hookseal import (
    ConfigurationError,
    MalformedSignature,
    SignatureMismatch,
    SigningKeyUnavailable,
    TimestampTooOld,
    VerificationError,
    Verifier,
)
from hookseal.replay import InMemoryReplayGuard
from hookseal.schemes import Plaid, by_name
from hookseal.schemes.plaid import signed_headers
from hookseal.testing import ManualClock, post_json_to

CLIENT_ID = "5f1e0c0c0c0c0c0c0c0c0c0c"
SECRET = "0123456789abcdef0123456789abcd"
KID = "bfbd5111-8e33-4643-8ced-b2e642a72f3c"  # the kid of Plaid's example header
PATH = "/webhook_verification_key/get"
KEY = ec.generate_private_key(ec.SECP256R1())
OTHER = ec.generate_private_key(ec.SECP256R1())
BODY = b'{\n  "webhook_type": "TRANSACTIONS",\n  "webhook_code": "SYNC_UPDATES_AVAILABLE"\n}'


def _jwk(private: ec.EllipticCurvePrivateKey, kid: str, expired_at: int | None = None) -> Any:
    numbers = private.public_key().public_numbers()

    def coordinate(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()

    return {
        "alg": "ES256",
        "created_at": 1560466143,
        "crv": "P-256",
        "expired_at": expired_at,
        "kid": kid,
        "kty": "EC",
        "use": "sig",
        "x": coordinate(numbers.x),
        "y": coordinate(numbers.y),
    }


@pytest.fixture
def server() -> Iterator[KeyServer]:
    """Answers like Plaid: the JWK of a known kid for the right credentials, else an error."""
    keys = {KID: _jwk(KEY, KID)}
    with key_server() as running:

        def answer(path: str, body: bytes) -> Route | None:
            if path != PATH:
                return None
            request = json.loads(body)
            if request.get("client_id") != CLIENT_ID or not hmac.compare_digest(
                str(request.get("secret")), SECRET
            ):
                return Route(b'{"error_code": "INVALID_API_KEYS"}', 400)
            key = keys.get(request.get("key_id"))
            if key is None:
                return Route(b'{"error_code": "INVALID_KEY_ID"}', 400)
            return Route(json.dumps({"key": key, "request_id": "r1"}).encode())

        running.answer = answer
        running.keys = keys  # type: ignore[attr-defined]
        yield running


def _scheme(server: KeyServer, **options: Any) -> Plaid:
    return Plaid(CLIENT_ID, fetch=post_json_to(server.base_url), **options)


def _headers(body: bytes = BODY, *, key: Any = KEY, kid: str = KID, **options: Any) -> Any:
    return signed_headers(key, body, kid=kid, **options)


def test_a_real_token_verifies(server: KeyServer) -> None:
    result = Verifier(SECRET, scheme=_scheme(server)).verify(BODY, _headers())
    assert result.scheme == "plaid"
    assert result.message_id is not None
    assert result.message_id.startswith("jwt-")
    posted = json.loads(server.hits[0][2])
    assert posted == {"client_id": CLIENT_ID, "secret": SECRET, "key_id": KID}


def test_the_key_is_fetched_once_per_kid(server: KeyServer) -> None:
    verifier = Verifier(SECRET, scheme=_scheme(server))
    for i in range(5):
        body = BODY + b" " * i
        verifier.verify(body, _headers(body))
    assert server.count(PATH) == 1


def test_a_wrong_key_for_the_kid_is_refused(server: KeyServer) -> None:
    with pytest.raises(SignatureMismatch) as caught:
        Verifier(SECRET, scheme=_scheme(server)).verify(BODY, _headers(key=OTHER))
    assert caught.value.status == 401


def test_an_unknown_kid_is_503_and_backs_off(server: KeyServer) -> None:
    verifier = Verifier(SECRET, scheme=_scheme(server))
    headers = _headers(kid="00000000-0000-0000-0000-000000000000")
    with pytest.raises(SigningKeyUnavailable) as caught:
        verifier.verify(BODY, headers)
    assert caught.value.status == 503
    with pytest.raises(SigningKeyUnavailable):
        verifier.verify(BODY, headers)
    assert server.count(PATH) == 1


def test_an_expired_key_is_not_used(server: KeyServer) -> None:
    server.keys[KID] = _jwk(KEY, KID, expired_at=1700000000)  # type: ignore[attr-defined]
    with pytest.raises(SignatureMismatch):
        Verifier(SECRET, scheme=_scheme(server)).verify(BODY, _headers())


def test_an_old_iat_is_refused_before_any_fetch(server: KeyServer) -> None:
    headers = _headers(issued_at=int(time.time()) - 301)
    with pytest.raises(TimestampTooOld):
        Verifier(SECRET, scheme=_scheme(server)).verify(BODY, headers)
    assert server.hits == []


def test_the_five_minute_window_uses_the_injected_clock(server: KeyServer) -> None:
    clock = ManualClock(1_700_000_000)
    verifier = Verifier(SECRET, scheme=_scheme(server), clock=clock)
    headers = _headers(issued_at=1_700_000_000)
    clock.advance(299)
    assert verifier.verify(BODY, headers).timestamp == 1_700_000_000
    clock.advance(2)
    with pytest.raises(TimestampTooOld):
        verifier.verify(BODY, headers)


def test_a_body_hash_mismatch_is_refused_before_any_fetch(server: KeyServer) -> None:
    with pytest.raises(SignatureMismatch):
        Verifier(SECRET, scheme=_scheme(server)).verify(BODY + b" ", _headers())
    assert server.hits == []


def _token(header: dict[str, Any], claims: dict[str, Any], signature: bytes) -> dict[str, str]:
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    text = ".".join(
        [part(json.dumps(header).encode()), part(json.dumps(claims).encode()), part(signature)]
    )
    return {"Plaid-Verification": text}


def _claims(body: bytes = BODY) -> dict[str, Any]:
    return {"iat": int(time.time()), "request_body_sha256": hashlib.sha256(body).hexdigest()}


def test_alg_none_is_refused(server: KeyServer) -> None:
    headers = _token({"alg": "none", "kid": KID}, _claims(), b"")
    headers["Plaid-Verification"] += "x"  # a non-empty third part; the alg is what refuses
    with pytest.raises(MalformedSignature) as caught:
        Verifier(SECRET, scheme=_scheme(server)).verify(BODY, headers)
    assert "alg" in caught.value.detail
    assert server.hits == []


def test_hs256_with_the_public_key_as_secret_is_refused(server: KeyServer) -> None:
    """The confusion: HMAC keyed with the (public) JWK, which anyone can fetch."""
    header, claims = {"alg": "HS256", "kid": KID, "typ": "JWT"}, _claims()
    head = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    public = json.dumps(_jwk(KEY, KID)).encode()
    mac = hmac.new(public, head + b"." + body, hashlib.sha256).digest()
    with pytest.raises(MalformedSignature) as caught:
        Verifier(SECRET, scheme=_scheme(server)).verify(BODY, _token(header, claims, mac))
    assert "alg" in caught.value.detail
    assert server.hits == []


@pytest.mark.parametrize("alg", ["es256", "ES384", "RS256", "ES256K", "", None])
def test_every_other_alg_is_refused(server: KeyServer, alg: Any) -> None:
    with pytest.raises(MalformedSignature):
        Verifier(SECRET, scheme=_scheme(server)).verify(
            BODY, _token({"alg": alg, "kid": KID}, _claims(), b"\x01" * 64)
        )


def test_a_key_carried_in_the_token_is_refused(server: KeyServer) -> None:
    header = {"alg": "ES256", "kid": KID, "jwk": _jwk(OTHER, KID)}
    with pytest.raises(MalformedSignature):
        Verifier(SECRET, scheme=_scheme(server)).verify(BODY, _token(header, _claims(), b"1" * 64))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a.b",
        "a.b.c.d",
        "not base64!.x.y",
        "e30.e30.e30",  # {} . {} . {}
        "x" * 5000,
        "é.é.é",
    ],
)
def test_malformed_tokens_are_typed_errors(server: KeyServer, value: str) -> None:
    with pytest.raises(VerificationError) as caught:
        Verifier(SECRET, scheme=_scheme(server)).verify(BODY, {"Plaid-Verification": value})
    assert caught.value.status in (400, 401)
    assert server.hits == []


def test_a_replayed_token_is_refused(server: KeyServer) -> None:
    verifier = Verifier(SECRET, scheme=_scheme(server), replay_guard=InMemoryReplayGuard())
    headers = _headers()
    verifier.verify(BODY, headers)
    with pytest.raises(VerificationError) as caught:
        verifier.verify(BODY, headers)
    assert caught.value.code == "replayed"


def test_a_hanging_key_endpoint_is_bounded(server: KeyServer) -> None:
    server.answer = lambda path, body: Route(b"{}", hang=True)
    started = time.monotonic()
    with pytest.raises(SigningKeyUnavailable):
        Verifier(SECRET, scheme=_scheme(server, fetch_timeout=0.3)).verify(BODY, _headers())
    assert time.monotonic() - started < 8  # 0.3 s asked for; wide margin for a busy machine


def test_wrong_credentials_are_503_not_401(server: KeyServer) -> None:
    with pytest.raises(SigningKeyUnavailable):
        Verifier("another-secret-value", scheme=_scheme(server)).verify(BODY, _headers())


def test_averify_awaits_the_key(server: KeyServer) -> None:
    verifier = Verifier(SECRET, scheme=_scheme(server))
    result = asyncio.run(verifier.averify(BODY, _headers()))
    assert result.scheme == "plaid"


def test_by_name_needs_the_client_id() -> None:
    scheme = by_name("plaid")
    assert isinstance(scheme, Plaid)
    with pytest.raises(ConfigurationError):
        Verifier(SECRET, scheme="plaid").verify(BODY, _headers())


def test_signing_headers_is_refused() -> None:
    from hookseal import sign

    with pytest.raises(ConfigurationError):
        sign(BODY, SECRET, scheme="plaid")
