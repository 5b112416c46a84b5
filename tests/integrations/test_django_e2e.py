"""Django end to end on real servers: its WSGI handler under wsgiref and its ASGI handler under
uvicorn, with hookseal's middleware (``settings.HOOKSEAL``) and decorator.

- Twilio (signed by the twilio SDK) behind the reverse proxy of tests/_reverse_proxy.py:
  accepted with ``TRUSTED_PROXIES`` naming the proxy or with ``PUBLIC_URL``, refused without
  them or with another address, the same headers from a client that is not the proxy ignored.
- The five providers' endpoint handshakes (tests/_handshake_cases.py), through the middleware
  and through the decorator.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import override_settings
from django.urls import path

_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from _handshake_cases import SCHEMES, SECRETS, cases, exchange, handshake_option  # noqa: E402
from _proxy_cases import (  # noqa: E402
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
from _reverse_proxy import PROXY_SOURCE  # noqa: E402
from _uvicorn_server import uvicorn_server  # noqa: E402
from _wsgi_server import wsgi_server  # noqa: E402
from hookseal.integrations.django import verify_webhook  # noqa: E402

CALLS: list[str] = []


def sms(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"sha": body_sha(request.body), "scheme": request.hookseal.scheme})


def recorded(request: HttpRequest) -> HttpResponse:
    CALLS.append(f"{request.method} {request.path}")
    return HttpResponse(b"app", content_type="text/plain")


urlpatterns = [
    path("twilio/sms", sms),
    path("mw/hook", recorded),
    *(
        path(
            f"deco/{scheme}",
            verify_webhook(
                secrets=SECRETS[scheme], scheme=scheme, handshake=handshake_option(scheme)
            )(recorded),
        )
        for scheme in SCHEMES
    ),
]

Serve = Callable[[dict[str, Any]], AbstractContextManager[int]]


@contextmanager
def wsgi(hookseal: dict[str, Any]) -> Iterator[int]:
    with (
        override_settings(HOOKSEAL=hookseal, ROOT_URLCONF=__name__),
        wsgi_server(WSGIHandler(), "wsgiref") as port,
    ):
        yield port


@contextmanager
def asgi(hookseal: dict[str, Any]) -> Iterator[int]:
    with (
        override_settings(HOOKSEAL=hookseal, ROOT_URLCONF=__name__),
        uvicorn_server(ASGIHandler(), proxy_headers=False) as port,
    ):
        yield port


SERVERS: dict[str, Serve] = {"wsgi": wsgi, "asgi": asgi}
TWILIO = {"SECRETS": TOKEN, "SCHEME": "twilio", "PATHS": ["/twilio/"]}


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_twilio_behind_a_trusted_proxy(server: str) -> None:
    with SERVERS[server]({**TWILIO, "TRUSTED_PROXIES": [PROXY_SOURCE]}) as backend:
        accepted(via_proxy(backend, "x-forwarded"))
        accepted(via_proxy(backend, "forwarded"))
        accepted(direct(backend))
        refused(spoofed(backend), 401, "signature_mismatch")
        refused(via_proxy(backend, "malformed"), 400, "malformed_header")


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_twilio_with_a_public_url(server: str) -> None:
    with SERVERS[server]({**TWILIO, "PUBLIC_URL": f"https://{PUBLIC_HOST}{PREFIX}"}) as backend:
        accepted(via_proxy(backend, "x-forwarded"))
        refused(direct(backend), 401, "signature_mismatch")


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_twilio_behind_a_proxy_nobody_trusts(server: str) -> None:
    with SERVERS[server](TWILIO) as backend:
        refused(via_proxy(backend, "x-forwarded"), 401, "signature_mismatch")
        refused(spoofed(backend), 401, "signature_mismatch")
        accepted(direct(backend))
    with SERVERS[server]({**TWILIO, "TRUSTED_PROXIES": ["10.9.9.9"]}) as backend:
        refused(via_proxy(backend, "forwarded"), 401, "signature_mismatch")


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("server", sorted(SERVERS))
def test_handshakes_through_the_middleware_and_the_decorator(server: str, scheme: str) -> None:
    settings = {
        "SECRETS": SECRETS[scheme],
        "SCHEME": scheme,
        "PATHS": ["/mw/"],
        "HANDSHAKE": handshake_option(scheme),
    }
    mine = [case for case in cases() if case.scheme == scheme]
    CALLS.clear()
    with SERVERS[server](settings) as port:
        for case in mine:
            exchange(port, case, CALLS, "/mw/hook")
            exchange(port, case, CALLS, f"/deco/{scheme}")
    assert len(CALLS) == 2 * sum(case.reaches_app for case in mine)
