"""The Flask extension, through Flask's own test client."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask, g, request

from hookseal import ConfigurationError, Secret
from hookseal.integrations.flask import HookSeal
from hookseal.testing import forged_request, signed_request

SECRET = "s3cr3t"
APP_SECRET = "app-wide-secret"


def echo() -> dict[str, Any]:
    data = request.get_data()
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "json": request.get_json(silent=True),
        "form": request.form.to_dict(),
        "secret_id": g.hookseal.secret_id,
        "scheme": g.hookseal.scheme,
    }


def make_app(**config: Any) -> tuple[Flask, HookSeal]:
    flask_app = Flask(__name__)
    flask_app.config.update(config)
    seal = HookSeal(flask_app)

    @flask_app.post("/hooks/billing")
    @seal.verify(secrets=SECRET)
    def billing() -> dict[str, Any]:
        return echo()

    @flask_app.post("/hooks/app")
    @seal.verify()
    def app_secrets() -> dict[str, Any]:
        return echo()

    @flask_app.post("/hooks/github")
    @seal.verify(scheme="github")
    def github() -> dict[str, Any]:
        return echo()

    @flask_app.post("/webhooks/plain")
    def plain() -> dict[str, Any]:
        return echo()

    @flask_app.post("/webhooks/own")
    @seal.verify(secrets=SECRET)
    def own() -> dict[str, Any]:
        return echo()

    @flask_app.post("/hooks/async")
    @seal.verify(secrets=SECRET)
    async def async_view() -> dict[str, Any]:
        return echo()

    @flask_app.post("/open")
    def open_route() -> str:
        return "open"

    return flask_app, seal


@pytest.fixture
def client() -> Any:
    flask_app, _ = make_app(HOOKSEAL_SECRETS=[APP_SECRET], HOOKSEAL_PATHS=["/webhooks"])
    return flask_app.test_client()


def test_route_decorator_accepts_a_signed_request(client: Any) -> None:
    body, headers = signed_request({"event": "paid"}, SECRET)
    response = client.post("/hooks/billing", data=body, headers=headers)
    assert response.status_code == 200
    assert response.json["sha256"] == hashlib.sha256(body).hexdigest()
    assert response.json["json"] == {"event": "paid"}  # get_json after verification
    assert response.json["secret_id"] == Secret(SECRET).id


def test_route_decorator_refuses_forgery_with_problem_json(client: Any) -> None:
    body, headers = forged_request({"event": "paid"})
    response = client.post("/hooks/billing", data=body, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "signature_mismatch"
    assert "WWW-Authenticate" in response.headers


def test_route_secret_is_not_the_app_secret(client: Any) -> None:
    body, headers = signed_request({"event": "paid"}, APP_SECRET)
    assert client.post("/hooks/billing", data=body, headers=headers).status_code == 401


def test_decorator_without_arguments_uses_app_config(client: Any) -> None:
    body, headers = signed_request([1, 2, 3], APP_SECRET)
    response = client.post("/hooks/app", data=body, headers=headers)
    assert response.status_code == 200
    assert response.json["secret_id"] == Secret(APP_SECRET).id


def test_route_scheme_with_app_secrets(client: Any) -> None:
    body, headers = signed_request({"zen": "x"}, APP_SECRET, scheme="github")
    response = client.post("/hooks/github", data=body, headers=headers)
    assert response.status_code == 200
    assert response.json["scheme"] == "github"
    body, headers = signed_request({"zen": "x"}, APP_SECRET)  # the default scheme: refused
    assert client.post("/hooks/github", data=body, headers=headers).status_code == 401


def test_configured_paths_guard_undecorated_routes(client: Any) -> None:
    body, headers = signed_request({"a": 1}, APP_SECRET)
    response = client.post("/webhooks/plain", data=body, headers=headers)
    assert response.status_code == 200
    assert response.json["sha256"] == hashlib.sha256(body).hexdigest()
    forged_body, forged_headers = forged_request({"a": 1})
    assert (
        client.post("/webhooks/plain", data=forged_body, headers=forged_headers).status_code == 401
    )


@pytest.mark.parametrize(
    "path", ["/webhooks/nowhere", "/WEBHOOKS/plain", "/webhooks//plain", "/x/../webhooks/plain"]
)
def test_configured_paths_guard_every_spelling_and_unknown_routes(client: Any, path: str) -> None:
    response = client.post(path, data=b"{}")
    assert response.status_code == 401
    assert response.json["code"] == "missing_signature"


def test_decorated_route_under_a_guarded_path_uses_its_own_secret(client: Any) -> None:
    body, headers = signed_request({"a": 1}, SECRET)
    assert client.post("/webhooks/own", data=body, headers=headers).status_code == 200
    body, headers = signed_request({"a": 1}, APP_SECRET)
    assert client.post("/webhooks/own", data=body, headers=headers).status_code == 401


def test_other_routes_are_untouched(client: Any) -> None:
    assert client.post("/open", data=b"anything").data == b"open"


def test_form_body_is_readable_after_verification(client: Any) -> None:
    form = urlencode({"token": "abc", "text": "hello world"}).encode()
    body, headers = signed_request(form, SECRET)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = client.post("/hooks/billing", data=body, headers=headers)
    assert response.status_code == 200
    assert response.json["form"] == {"token": "abc", "text": "hello world"}


def test_async_view(client: Any) -> None:
    body, headers = signed_request({"a": 1}, SECRET)
    response = client.post("/hooks/async", data=body, headers=headers)
    assert response.status_code == 200
    assert response.json["sha256"] == hashlib.sha256(body).hexdigest()


def test_max_content_length_is_respected() -> None:
    flask_app, _ = make_app(HOOKSEAL_SECRETS=APP_SECRET, MAX_CONTENT_LENGTH=100)
    client = flask_app.test_client()
    body, headers = signed_request(b"x" * 101, SECRET)
    response = client.post("/hooks/billing", data=body, headers=headers)
    assert response.status_code == 413
    assert response.json is not None
    assert response.json["code"] == "payload_too_large"
    body, headers = signed_request(b"x" * 100, SECRET)
    assert client.post("/hooks/billing", data=body, headers=headers).status_code == 200


def test_hookseal_max_body_size_wins() -> None:
    flask_app, _ = make_app(HOOKSEAL_SECRETS=APP_SECRET, HOOKSEAL_MAX_BODY_SIZE=50)
    body, headers = signed_request(b"x" * 51, SECRET)
    response = flask_app.test_client().post("/hooks/billing", data=body, headers=headers)
    assert response.status_code == 413


def test_route_max_body_size() -> None:
    flask_app = Flask(__name__)
    seal = HookSeal(flask_app)

    @flask_app.post("/small")
    @seal.verify(secrets=SECRET, max_body_size=10)
    def small() -> str:
        return "ok"

    body, headers = signed_request(b"x" * 11, SECRET)
    assert flask_app.test_client().post("/small", data=body, headers=headers).status_code == 413


def test_body_read_by_an_earlier_hook_is_still_verified() -> None:
    flask_app, _ = make_app(HOOKSEAL_SECRETS=APP_SECRET)

    @flask_app.before_request
    def peek() -> None:
        request.get_data()  # cached by Werkzeug

    client = flask_app.test_client()
    body, headers = signed_request({"a": 1}, SECRET)
    response = client.post("/hooks/billing", data=body, headers=headers)
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["sha256"] == hashlib.sha256(body).hexdigest()
    tampered_body = body.replace(b"1", b"2")
    assert client.post("/hooks/billing", data=tampered_body, headers=headers).status_code == 401


def test_init_app_factory_keeps_apps_apart() -> None:
    seal = HookSeal()
    apps = []
    for secret in ("first-secret", "second-secret"):
        flask_app = Flask(__name__)
        flask_app.config["HOOKSEAL_SECRETS"] = secret
        seal.init_app(flask_app)

        @flask_app.post("/hook")
        @seal.verify()
        def hook() -> str:
            return g.hookseal.secret_id  # type: ignore[no-any-return]

        apps.append(flask_app)
    body, headers = signed_request({"a": 1}, "second-secret")
    assert apps[0].test_client().post("/hook", data=body, headers=headers).status_code == 401
    response = apps[1].test_client().post("/hook", data=body, headers=headers)
    assert response.text == Secret("second-secret").id


def test_decorator_without_any_secrets_fails_loudly() -> None:
    flask_app = Flask(__name__)
    seal = HookSeal(flask_app)

    @flask_app.post("/hook")
    @seal.verify()
    def hook() -> str:
        return "never"

    flask_app.testing = True
    with pytest.raises(ConfigurationError):
        flask_app.test_client().post("/hook", data=b"{}")


@pytest.mark.parametrize(
    "config",
    [
        {"HOOKSEAL_PATHS": ["/webhooks"]},
        {"HOOKSEAL_SECRETS": SECRET, "HOOKSEAL_SCHEME": "nope"},
        {"HOOKSEAL_SECRETS": ""},
        {"HOOKSEAL_SECRETS": SECRET, "HOOKSEAL_PATHS": ["no-slash"]},
        {"HOOKSEAL_SECRETS": SECRET, "HOOKSEAL_MAX_BODY_SIZE": -1},
        {"HOOKSEAL_SECRETS": SECRET, "HOOKSEAL_TOLERANCE": 0},
    ],
)
def test_bad_config_fails_at_init(config: dict[str, Any]) -> None:
    flask_app = Flask(__name__)
    flask_app.config.update(config)
    with pytest.raises(ConfigurationError):
        HookSeal(flask_app)


@pytest.mark.parametrize("path", ["/webhooks/..", "/webhooks/%2e%2e"])
def test_dot_dot_under_a_guarded_path_is_still_guarded(path: str) -> None:
    """Werkzeug routes '/webhooks/..' to '/webhooks/<name>' (name='..') without resolving it."""
    flask_app = Flask(__name__)
    flask_app.config.update(HOOKSEAL_SECRETS=[APP_SECRET], HOOKSEAL_PATHS=["/webhooks"])
    HookSeal(flask_app)

    @flask_app.post("/webhooks/<name>")
    def any_hook(name: str) -> str:
        return "reached " + name

    response = flask_app.test_client().post(path, data=b"{}")
    assert response.status_code == 401
