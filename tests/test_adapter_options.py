"""The adapters' new options fail at construction, naming the mistake: a public_url that is no
base URL, trusted_proxies that are no addresses, both at once, a handshake for another scheme
(Django's settings: tests/integrations/test_django.py, hookseal.E007)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette

from hookseal import ConfigurationError
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.handshakes import MetaSubscription, TwitchChallenge, XeroIntentToReceive
from hookseal.integrations.fastapi import VerifiedWebhook
from hookseal.integrations.flask import HookSeal
from hookseal.wsgi import WebhookVerificationMiddleware as WSGIMiddleware

BAD = [
    {"public_url": "hooks.example.com"},
    {"public_url": "https://hooks.example.com/?x=1"},
    {"trusted_proxies": ["not-an-address"]},
    {"trusted_proxies": []},
    {"public_url": "https://a.example", "trusted_proxies": ["10.0.0.1"]},
    {"scheme": "zoom", "handshake": MetaSubscription(verify_token="t")},
    {"scheme": "meta", "handshake": True},
    {"scheme": "github", "handshake": True},
]


def asgi(options: dict[str, Any]) -> object:
    return WebhookVerificationMiddleware(Starlette(), secrets="s3cr3t", **options)


def wsgi(options: dict[str, Any]) -> object:
    return WSGIMiddleware(lambda environ, start_response: [], secrets="s3cr3t", **options)


def fastapi(options: dict[str, Any]) -> object:
    FastAPI()
    return VerifiedWebhook("s3cr3t", **options)


def flask(options: dict[str, Any]) -> object:
    app = Flask(__name__)
    app.config["HOOKSEAL_SECRETS"] = "s3cr3t"
    names = {"public_url": "PUBLIC_URL", "trusted_proxies": "TRUSTED_PROXIES"}
    for key, value in options.items():
        app.config["HOOKSEAL_" + names.get(key, key.upper())] = value
    return HookSeal(app)


@pytest.mark.parametrize("build", [asgi, wsgi, fastapi, flask])
@pytest.mark.parametrize("options", BAD, ids=repr)
def test_bad_options_fail_at_construction(
    build: Callable[[dict[str, Any]], object], options: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError):
        build(options)


def test_the_handshake_in_use_is_visible() -> None:
    assert isinstance(asgi({"scheme": "twitch"}).handshake, TwitchChallenge)  # type: ignore[attr-defined]
    assert asgi({"scheme": "twitch", "handshake": False}).handshake is None  # type: ignore[attr-defined]
    assert isinstance(wsgi({"scheme": "xero"}).handshake, XeroIntentToReceive)  # type: ignore[attr-defined]
    assert asgi({}).handshake is None  # type: ignore[attr-defined]


def test_flask_route_handshake_for_another_scheme_fails_at_decoration() -> None:
    seal = HookSeal(Flask(__name__))
    with pytest.raises(ConfigurationError):
        seal.verify(secrets="s", scheme="zoom", handshake=MetaSubscription(verify_token="t"))
