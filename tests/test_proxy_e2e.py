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

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from flask import Flask
from flask import request as flask_request
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from _proxy_cases import (
    PREFIX,
    PUBLIC_HOST,
    TOKEN,
    accepted,
    body_sha,
    direct,
    refused,
    spoofed,
    via_proxy,
)
from _reverse_proxy import PROXY_SOURCE
from _uvicorn_server import uvicorn_server
from _wsgi_server import wsgi_server
from hookseal import Verified
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.integrations.fastapi import VerifiedWebhook
from hookseal.integrations.flask import HookSeal
from hookseal.wsgi import WebhookVerificationMiddleware as WSGIMiddleware

# -- the apps, one per adapter ---------------------------------------------------------------------

Options = dict[str, Any]


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
