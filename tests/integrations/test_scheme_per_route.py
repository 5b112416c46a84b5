"""Two routes guarded with differently configured instances of one scheme keep their own
configuration, in every integration that builds verifiers from shared settings.

Flask cached the app's verifiers by the scheme's *name*, so the second route verified with the
first one's header and encoding (issue 8, item 9). Django's decorator and FastAPI's dependency
build one verifier per view or instance; they are checked here for the same class of bug.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.http import HttpRequest, JsonResponse
from django.test import Client, override_settings
from django.urls import path
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from flask import Flask, g

from hookseal import Verified, schemes
from hookseal.integrations.django import verify_webhook
from hookseal.integrations.fastapi import VerifiedWebhook
from hookseal.integrations.flask import HookSeal

SECRET = "one-secret-two-formats"
BODY = b'{"event": "paid"}'
SCHEME_A = schemes.Signature(header="X-A-Sig")
SCHEME_B = schemes.Signature(header="X-B-Sig", encoding="base64")


def mac() -> bytes:
    return hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()


HEADERS_A = {"X-A-Sig": mac().hex(), "Content-Type": "application/json"}
HEADERS_B = {"X-B-Sig": base64.b64encode(mac()).decode(), "Content-Type": "application/json"}


# -- Flask -----------------------------------------------------------------------------------


def flask_app() -> Flask:
    app = Flask(__name__)
    app.config["HOOKSEAL_SECRETS"] = SECRET
    seal = HookSeal(app)

    @app.post("/a")
    @seal.verify(scheme=SCHEME_A)
    def route_a() -> dict[str, Any]:
        return {"scheme": g.hookseal.scheme}

    @app.post("/b")
    @seal.verify(scheme=SCHEME_B)
    def route_b() -> dict[str, Any]:
        return {"scheme": g.hookseal.scheme}

    return app


@pytest.mark.parametrize("first", ["/a", "/b"])
def test_flask_routes_keep_their_own_scheme_configuration(first: str) -> None:
    client = flask_app().test_client()
    order = [first, "/b" if first == "/a" else "/a"]
    for url in order:  # whichever route is used first, the other keeps its own configuration
        headers = HEADERS_A if url == "/a" else HEADERS_B
        assert client.post(url, data=BODY, headers=headers).status_code == 200, url
    assert client.post("/a", data=BODY, headers=HEADERS_B).status_code == 401
    assert client.post("/b", data=BODY, headers=HEADERS_A).status_code == 401


# -- Django ----------------------------------------------------------------------------------


@verify_webhook(scheme=SCHEME_A)
def django_a(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@verify_webhook(scheme=SCHEME_B)
def django_b(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("hooks/a", django_a), path("hooks/b", django_b)]


@pytest.fixture
def django_urls() -> Iterator[None]:
    hookseal = {"SECRETS": [SECRET], "PATHS": ["/webhooks/"]}
    with override_settings(ROOT_URLCONF=sys.modules[__name__], HOOKSEAL=hookseal):
        yield


@pytest.mark.usefixtures("django_urls")
def test_django_decorated_views_keep_their_own_scheme_configuration() -> None:
    client = Client()
    for url, headers in (("/hooks/b", HEADERS_B), ("/hooks/a", HEADERS_A)):
        extra = {k: v for k, v in headers.items() if k != "Content-Type"}
        response = client.post(url, BODY, "application/json", headers=extra)
        assert response.status_code == 200, url
    wrong = {"X-A-Sig": HEADERS_A["X-A-Sig"]}
    assert client.post("/hooks/b", BODY, "application/json", headers=wrong).status_code == 401


# -- FastAPI ---------------------------------------------------------------------------------


def test_fastapi_dependencies_keep_their_own_scheme_configuration() -> None:
    app = FastAPI()
    verified_a = VerifiedWebhook(SECRET, scheme=SCHEME_A)
    verified_b = VerifiedWebhook(SECRET, scheme=SCHEME_B)

    @app.post("/a")
    async def route_a(event: Verified = Depends(verified_a)) -> dict[str, str]:  # noqa: B008
        return {"scheme": event.scheme}

    @app.post("/b")
    async def route_b(event: Verified = Depends(verified_b)) -> dict[str, str]:  # noqa: B008
        return {"scheme": event.scheme}

    client = TestClient(app)
    assert client.post("/b", content=BODY, headers=HEADERS_B).status_code == 200
    assert client.post("/a", content=BODY, headers=HEADERS_A).status_code == 200
    assert client.post("/a", content=BODY, headers=HEADERS_B).status_code == 401
