"""The providers' endpoint handshakes answered end to end through real servers: the ASGI
middleware and the FastAPI dependency under uvicorn, the WSGI middleware under wsgiref, the
Flask extension under Werkzeug's server (Django: tests/integrations/test_django_e2e.py).

One server per adapter guards five paths, one per provider (Zoom, Twitch, Meta, Xero, Okta);
the cases are in tests/_handshake_cases.py: each handshake is answered by the adapter and never
reaches the app, forgeries are refused, the providers' ordinary deliveries reach the app.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from flask import Flask
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from _handshake_cases import SCHEMES, SECRETS, cases, exchange, handshake_option
from _reverse_proxy import send
from _uvicorn_server import uvicorn_server
from _wsgi_server import wsgi_server
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.integrations.fastapi import VerifiedWebhook
from hookseal.integrations.flask import HookSeal
from hookseal.wsgi import WebhookVerificationMiddleware as WSGIMiddleware

Calls = list[str]


def starlette_app(calls: Calls) -> Any:
    async def hook(request: Any) -> PlainTextResponse:
        calls.append(f"{request.method} {request.url.path}")
        await request.body()
        return PlainTextResponse("app")

    paths = [f"/hooks/{scheme}" for scheme in SCHEMES]
    app: Any = Starlette(routes=[Route(p, hook, methods=["GET", "POST"]) for p in paths])
    for scheme in SCHEMES:
        app = WebhookVerificationMiddleware(
            app,
            secrets=SECRETS[scheme],
            scheme=scheme,
            paths=[f"=/hooks/{scheme}"],
            handshake=handshake_option(scheme),
        )
    return app


def fastapi_app(calls: Calls) -> FastAPI:
    app = FastAPI()
    for scheme in SCHEMES:
        verified = VerifiedWebhook(
            SECRETS[scheme], scheme=scheme, handshake=handshake_option(scheme)
        )

        async def hook(request: Request) -> PlainTextResponse:
            calls.append(f"{request.method} {request.url.path}")
            return PlainTextResponse("app")

        app.add_api_route(
            f"/hooks/{scheme}", hook, methods=["GET", "POST"], dependencies=[Depends(verified)]
        )
    return app


def wsgi_app(calls: Calls) -> Any:
    def hook(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        calls.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"app"]

    app: Any = hook
    for scheme in SCHEMES:
        app = WSGIMiddleware(
            app,
            secrets=SECRETS[scheme],
            scheme=scheme,
            paths=[f"=/hooks/{scheme}"],
            handshake=handshake_option(scheme),
        )
    return app


def flask_app(calls: Calls) -> Flask:
    from flask import request

    app = Flask(__name__)
    seal = HookSeal(app)
    for scheme in SCHEMES:

        @seal.verify(secrets=SECRETS[scheme], scheme=scheme, handshake=handshake_option(scheme))
        def hook() -> str:
            calls.append(f"{request.method} {request.path}")
            return "app"

        app.add_url_rule(f"/hooks/{scheme}", f"hook_{scheme}", hook, methods=["GET", "POST"])
    return app


Serve = Callable[[Calls], AbstractContextManager[int]]


def _asgi(factory: Callable[[Calls], Any]) -> Serve:
    @contextmanager
    def serve(calls: Calls) -> Iterator[int]:
        with uvicorn_server(factory(calls)) as port:
            yield port

    return serve


def _wsgi(factory: Callable[[Calls], Any], kind: Any) -> Serve:
    @contextmanager
    def serve(calls: Calls) -> Iterator[int]:
        with wsgi_server(factory(calls), kind) as port:
            yield port

    return serve


ADAPTERS: dict[str, Serve] = {
    "asgi": _asgi(starlette_app),
    "fastapi": _asgi(fastapi_app),
    "wsgi": _wsgi(wsgi_app, "wsgiref"),
    "flask": _wsgi(flask_app, "werkzeug"),
}


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_every_handshake_through_a_real_server(adapter: str) -> None:
    calls: Calls = []
    with ADAPTERS[adapter](calls) as port:
        for case in cases():
            exchange(port, case, calls, f"/hooks/{case.scheme}")
    assert len(calls) == sum(case.reaches_app for case in cases())


def test_handshake_false_leaves_the_handshake_to_the_app() -> None:
    """An app that answers Zoom's validation itself can say so."""
    calls: Calls = []

    async def hook(request: Any) -> PlainTextResponse:
        calls.append("app")
        return PlainTextResponse(json.dumps({"from": "app"}))

    app = Starlette(routes=[Route("/hooks/zoom", hook, methods=["POST"])])
    guarded = WebhookVerificationMiddleware(
        app, secrets=SECRETS["zoom"], scheme="zoom", handshake=False
    )
    validation = next(c for c in cases() if c.name == "zoom validation")
    with uvicorn_server(guarded) as port:
        headers = {"Host": f"127.0.0.1:{port}", **validation.headers}
        status, _, body = send(port, "POST", "/hooks/zoom", headers, validation.body)
    assert (status, json.loads(body), calls) == (200, {"from": "app"}, ["app"])


class Notification(BaseModel):
    event: dict[str, str]


def test_the_fastapi_router_answers_before_the_body_is_parsed() -> None:
    """Routes on ``verified.router()`` verify (and answer a handshake) before FastAPI parses
    the body into the endpoint's parameters: Twitch's challenge never reaches the model."""
    verified = VerifiedWebhook(SECRETS["twitch"], scheme="twitch")
    hooks = verified.router()

    @hooks.post("/hooks/twitch")
    async def hook(notification: Notification) -> dict[str, str]:
        return notification.event

    app = FastAPI()
    app.include_router(hooks)
    client = TestClient(app)
    for case in cases():
        if case.scheme == "twitch":
            headers = {"Content-Type": "application/json", **case.headers}  # as Twitch sends
            answer = client.post("/hooks/twitch", content=case.body, headers=headers)
            assert answer.status_code == case.status, (case.name, answer.text)
            if case.check is not None:
                case.check(dict(answer.headers), answer.content)
