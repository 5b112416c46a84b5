"""The fetched-key schemes end to end: SNS and Plaid deliveries posted over HTTP to the ASGI
middleware under uvicorn and the WSGI middleware under wsgiref, their keys served by a key
server on 127.0.0.1. A key that cannot be fetched is a 503 with Retry-After at the sender."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from _key_server import KeyServer, Route, key_server, self_signed
from _uvicorn_server import uvicorn_server
from _wsgi_server import wsgi_server
from hookseal import ConfigurationError
from hookseal.asgi import WebhookVerificationMiddleware as AsgiMiddleware
from hookseal.handshakes import SnsSubscription, handshake_for
from hookseal.schemes import Plaid, Sns
from hookseal.schemes.plaid import signed_headers
from hookseal.schemes.sns import signed_message, subscribe_url
from hookseal.testing import fetch_from, post_json_to
from hookseal.wsgi import WebhookVerificationMiddleware as WsgiMiddleware

TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"
CERT_PATH = "/SimpleNotificationService-00112233445566778899aabbccddeeff.pem"
CERT_URL = "https://sns.us-east-1.amazonaws.com" + CERT_PATH
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
KID = "bfbd5111-8e33-4643-8ced-b2e642a72f3c"


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"app saw %d bytes" % len(body)})


def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app saw %d bytes" % len(body)]


@pytest.fixture
def keys() -> Iterator[KeyServer]:
    with key_server() as server:
        server.routes[CERT_PATH] = Route(self_signed(RSA_KEY))
        numbers = EC_KEY.public_key().public_numbers()

        def coordinate(value: int) -> str:
            import base64

            return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()

        jwk: dict[str, Any] = {"kty": "EC", "crv": "P-256", "kid": KID, "alg": "ES256"}
        jwk |= {"x": coordinate(numbers.x), "y": coordinate(numbers.y), "expired_at": None}
        server.routes["/webhook_verification_key/get"] = Route(json.dumps({"key": jwk}).encode())
        yield server


def _serve(kind: str, app: Any) -> Any:
    return uvicorn_server(app) if kind == "asgi" else wsgi_server(app)


def _middleware(kind: str, **options: Any) -> Any:
    if kind == "asgi":
        return AsgiMiddleware(asgi_app, **options)
    return WsgiMiddleware(wsgi_app, **options)


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_sns_through_a_real_server(keys: KeyServer, kind: str) -> None:
    scheme = Sns(fetch=fetch_from(keys.base_url))
    app = _middleware(kind, secrets=TOPIC, scheme=scheme)
    body = signed_message(RSA_KEY, certificate_url=CERT_URL, topic_arn=TOPIC, message="hi")
    with _serve(kind, app) as port:
        url = f"http://127.0.0.1:{port}/hooks/sns"
        headers = {"Content-Type": "text/plain; charset=UTF-8"}
        ok = httpx.post(url, content=body, headers=headers)
        assert ok.status_code == 200
        assert ok.text == f"app saw {len(body)} bytes"
        forged = signed_message(
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            certificate_url=CERT_URL,
            topic_arn=TOPIC,
        )
        assert httpx.post(url, content=forged, headers=headers).status_code == 401
        elsewhere = signed_message(
            RSA_KEY, certificate_url="https://evil.example/x.pem", topic_arn=TOPIC
        )
        refused = httpx.post(url, content=elsewhere, headers=headers)
        assert refused.status_code == 400
        assert refused.json()["code"] == "signing_key_untrusted"
    assert keys.count(CERT_PATH) == 1


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_certificate_that_cannot_be_fetched_is_503_with_retry_after(
    keys: KeyServer, kind: str
) -> None:
    keys.routes[CERT_PATH] = Route(b"unavailable", 500)
    app = _middleware(kind, secrets=TOPIC, scheme=Sns(fetch=fetch_from(keys.base_url)))
    body = signed_message(RSA_KEY, certificate_url=CERT_URL, topic_arn=TOPIC)
    with _serve(kind, app) as port:
        answer = httpx.post(f"http://127.0.0.1:{port}/hooks/sns", content=body)
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.json()["code"] == "signing_key_unavailable"


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_plaid_through_a_real_server(keys: KeyServer, kind: str) -> None:
    scheme = Plaid("client-id", environment="sandbox", fetch=post_json_to(keys.base_url))
    app = _middleware(kind, secrets="plaid-api-secret", scheme=scheme)
    body = b'{"webhook_type": "ITEM", "webhook_code": "WEBHOOK_UPDATE_ACKNOWLEDGED"}'
    with _serve(kind, app) as port:
        url = f"http://127.0.0.1:{port}/hooks/plaid"
        ok = httpx.post(url, content=body, headers=signed_headers(EC_KEY, body, kid=KID))
        assert ok.status_code == 200
        changed = httpx.post(
            url, content=body + b" ", headers=signed_headers(EC_KEY, body, kid=KID)
        )
        assert changed.status_code == 401
    posted = json.loads(keys.hits[0][2])
    assert posted == {"client_id": "client-id", "secret": "plaid-api-secret", "key_id": KID}


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_the_opt_in_sns_handshake_confirms_and_answers(keys: KeyServer, kind: str) -> None:
    visited: list[str] = []
    scheme = Sns(fetch=fetch_from(keys.base_url))
    handshake = SnsSubscription(confirm=visited.append)
    app = _middleware(kind, secrets=TOPIC, scheme=scheme, handshake=handshake)
    confirmation = signed_message(
        RSA_KEY, certificate_url=CERT_URL, topic_arn=TOPIC, kind="SubscriptionConfirmation"
    )
    notification = signed_message(RSA_KEY, certificate_url=CERT_URL, topic_arn=TOPIC)
    with _serve(kind, app) as port:
        url = f"http://127.0.0.1:{port}/hooks/sns"
        answered = httpx.post(url, content=confirmation)
        assert answered.status_code == 200
        assert answered.content == b""  # answered by the handshake, not the app
        assert httpx.post(url, content=notification).text.startswith("app saw")
    assert visited == [json.loads(confirmation)["SubscribeURL"]]


def test_without_the_handshake_the_confirmation_reaches_the_app(keys: KeyServer) -> None:
    app = _middleware("asgi", secrets=TOPIC, scheme=Sns(fetch=fetch_from(keys.base_url)))
    confirmation = signed_message(
        RSA_KEY, certificate_url=CERT_URL, topic_arn=TOPIC, kind="SubscriptionConfirmation"
    )
    with _serve("asgi", app) as port:
        answered = httpx.post(f"http://127.0.0.1:{port}/hooks/sns", content=confirmation)
    assert answered.text == f"app saw {len(confirmation)} bytes"
    assert subscribe_url(confirmation) == json.loads(confirmation)["SubscribeURL"]


def test_a_confirm_that_fails_is_503(keys: KeyServer) -> None:
    def confirm(url: str) -> None:
        raise OSError("no network")

    app = _middleware(
        "asgi",
        secrets=TOPIC,
        scheme=Sns(fetch=fetch_from(keys.base_url)),
        handshake=SnsSubscription(confirm=confirm),
    )
    confirmation = signed_message(
        RSA_KEY, certificate_url=CERT_URL, topic_arn=TOPIC, kind="SubscriptionConfirmation"
    )
    with _serve("asgi", app) as port:
        answered = httpx.post(f"http://127.0.0.1:{port}/hooks/sns", content=confirmation)
    assert answered.status_code == 503


def test_the_sns_handshake_is_opt_in() -> None:
    scheme = Sns()
    assert handshake_for(scheme) is None
    with pytest.raises(ConfigurationError):
        handshake_for(scheme, True)
    with pytest.raises(ConfigurationError):
        SnsSubscription(confirm="yes")  # type: ignore[arg-type]
