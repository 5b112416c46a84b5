"""A signed-URL provider (Twilio, signed by the twilio SDK's own RequestValidator) behind a real
reverse proxy (tests/_reverse_proxy.py) in front of real servers: the ASGI middleware and the
FastAPI dependency under uvicorn, the WSGI middleware under wsgiref, the Flask extension under
Werkzeug's server. Django's side is in tests/integrations/test_django_e2e.py.

The provider called ``https://hooks.example.com/public/twilio/sms?...``; the proxy strips
``/public``, sets ``Host`` to the backend and describes the original request in its headers.
Each adapter must accept the delivery when told how (``trusted_proxies`` naming the proxy's
address, or ``public_url``), refuse it when not told or told wrongly, ignore the same headers
sent by a client that is not the proxy, and answer 400 to a proxy whose Forwarded is garbage.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi import Depends, FastAPI, Request
from flask import Flask
from flask import request as flask_request
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from _reverse_proxy import PROXY_SOURCE, ProxyConfig, Style, reverse_proxy, send
from _uvicorn_server import uvicorn_server
from _wsgi_server import wsgi_server
from hookseal import Verified
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.integrations.fastapi import VerifiedWebhook
from hookseal.integrations.flask import HookSeal
from hookseal.wsgi import WebhookVerificationMiddleware as WSGIMiddleware

TOKEN = "twilio-auth-token-for-e2e"
PUBLIC_HOST = "hooks.example.com"
PREFIX = "/public"
TARGET = "/twilio/sms?tenant=7&note=a%20b"
PARAMS = {"From": "+15551234567", "To": "+15557654321", "Body": "Hello from behind a proxy"}
BODY = urlencode(PARAMS).encode()
FORM = "application/x-www-form-urlencoded"
Options = dict[str, Any]


def twilio_headers(url: str, host: str) -> dict[str, str]:
    """What Twilio sends for ``url``: its SDK's signature over the URL and the sorted form."""
    signature = RequestValidator(TOKEN).compute_signature(url, PARAMS)
    return {"Host": host, "Content-Type": FORM, "X-Twilio-Signature": signature}


def body_sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# -- the apps, one per adapter ---------------------------------------------------------------------


def starlette_app(options: Options) -> Starlette:
    async def sms(request: Any) -> JSONResponse:
        verified: Verified = request.state.hookseal
        return JSONResponse({"sha": body_sha(await request.body()), "scheme": verified.scheme})

    app = Starlette(routes=[Route("/twilio/sms", sms, methods=["POST"])])
    app.add_middleware(
        WebhookVerificationMiddleware, secrets=TOKEN, scheme="twilio", paths=["/twilio"], **options
    )
    return app


def fastapi_app(options: Options) -> FastAPI:
    verified = VerifiedWebhook(TOKEN, scheme="twilio", **options)
    app = FastAPI()

    @app.post("/twilio/sms")
    async def sms(request: Request, event: Verified = Depends(verified)) -> dict[str, str]:  # noqa: B008
        return {"sha": body_sha(await request.body()), "scheme": event.scheme}

    return app


def wsgi_app(options: Options) -> WSGIMiddleware:
    def sms(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        verified = environ["hookseal.verified"]
        answer = json.dumps({"sha": body_sha(body), "scheme": verified.scheme}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [answer]

    return WSGIMiddleware(sms, secrets=TOKEN, scheme="twilio", paths=["/twilio"], **options)


def flask_app(options: Options) -> Flask:
    app = Flask(__name__)
    app.config["HOOKSEAL_SECRETS"] = TOKEN
    app.config["HOOKSEAL_SCHEME"] = "twilio"
    if "public_url" in options:
        app.config["HOOKSEAL_PUBLIC_URL"] = options["public_url"]
    if "trusted_proxies" in options:
        app.config["HOOKSEAL_TRUSTED_PROXIES"] = options["trusted_proxies"]
    seal = HookSeal(app)

    @app.post("/twilio/sms")
    @seal.verify()
    def sms() -> dict[str, str]:
        from flask import g

        return {"sha": body_sha(flask_request.get_data()), "scheme": g.hookseal.scheme}

    return app


Serve = Callable[[Options], AbstractContextManager[int]]


def _asgi(factory: Callable[[Options], Any]) -> Serve:
    @contextmanager
    def serve(options: Options) -> Iterator[int]:
        # uvicorn's own X-Forwarded-Proto handling is off: hookseal decides whom to believe.
        with uvicorn_server(factory(options), proxy_headers=False) as port:
            yield port

    return serve


def _wsgi(factory: Callable[[Options], Any], kind: Any) -> Serve:
    @contextmanager
    def serve(options: Options) -> Iterator[int]:
        with wsgi_server(factory(options), kind) as port:
            yield port

    return serve


ADAPTERS: dict[str, Serve] = {
    "asgi": _asgi(starlette_app),
    "fastapi": _asgi(fastapi_app),
    "wsgi": _wsgi(wsgi_app, "wsgiref"),
    "flask": _wsgi(flask_app, "werkzeug"),
}


# -- the requests ----------------------------------------------------------------------------------


def via_proxy(backend: int, style: Style = "x-forwarded") -> tuple[int, dict[str, str], bytes]:
    """Twilio's delivery to the public URL, through the proxy to ``backend``."""
    config = ProxyConfig(backend, style=style, prefix=PREFIX)
    headers = twilio_headers(f"https://{PUBLIC_HOST}{PREFIX}{TARGET}", PUBLIC_HOST)
    with reverse_proxy(config) as port:
        return send(port, "POST", PREFIX + TARGET, headers, BODY)


def spoofed(backend: int) -> tuple[int, dict[str, str], bytes]:
    """The same signed delivery sent straight to the backend (from 127.0.0.1, not the proxy),
    with the headers the proxy would have added: they must count for nothing."""
    headers = twilio_headers(f"https://{PUBLIC_HOST}{PREFIX}{TARGET}", f"127.0.0.1:{backend}")
    headers.update(
        {
            "X-Forwarded-For": "198.51.100.7",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": PUBLIC_HOST,
            "X-Forwarded-Prefix": PREFIX,
        }
    )
    return send(backend, "POST", TARGET, headers, BODY)


def direct(backend: int) -> tuple[int, dict[str, str], bytes]:
    """A delivery signed for the backend's own URL, sent straight to it."""
    host = f"127.0.0.1:{backend}"
    return send(backend, "POST", TARGET, twilio_headers(f"http://{host}{TARGET}", host), BODY)


def accepted(answer: tuple[int, dict[str, str], bytes]) -> None:
    status, _, body = answer
    assert status == 200, body
    assert json.loads(body) == {"sha": body_sha(BODY), "scheme": "twilio"}


def refused(answer: tuple[int, dict[str, str], bytes], status: int, code: str) -> None:
    found, headers, body = answer
    assert found == status, body
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == code


# -- the tests ------------------------------------------------------------------------------------

pytestmark = pytest.mark.parametrize("adapter", sorted(ADAPTERS))


def test_trusting_the_proxy_verifies_the_url_the_provider_called(adapter: str) -> None:
    with ADAPTERS[adapter]({"trusted_proxies": [PROXY_SOURCE]}) as backend:
        accepted(via_proxy(backend, "x-forwarded"))
        accepted(via_proxy(backend, "forwarded"))
        accepted(direct(backend))  # a client that is not the proxy: its own URL
        refused(spoofed(backend), 401, "signature_mismatch")  # its headers are not believed
        refused(via_proxy(backend, "malformed"), 400, "malformed_header")


def test_a_public_url_verifies_the_url_the_provider_called(adapter: str) -> None:
    with ADAPTERS[adapter]({"public_url": f"https://{PUBLIC_HOST}{PREFIX}"}) as backend:
        accepted(via_proxy(backend, "x-forwarded"))
        accepted(via_proxy(backend, "malformed"))  # the proxy's headers are not read at all
        refused(direct(backend), 401, "signature_mismatch")


def test_without_proxy_configuration_the_forwarded_headers_are_ignored(adapter: str) -> None:
    with ADAPTERS[adapter]({}) as backend:
        refused(via_proxy(backend, "x-forwarded"), 401, "signature_mismatch")
        refused(via_proxy(backend, "forwarded"), 401, "signature_mismatch")
        refused(spoofed(backend), 401, "signature_mismatch")
        accepted(direct(backend))


def test_trusting_another_address_ignores_the_proxy(adapter: str) -> None:
    with ADAPTERS[adapter]({"trusted_proxies": ["10.9.9.0/24", "::1"]}) as backend:
        refused(via_proxy(backend, "x-forwarded"), 401, "signature_mismatch")
        refused(via_proxy(backend, "malformed"), 401, "signature_mismatch")  # not even read
