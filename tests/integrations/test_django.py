"""The Django middleware, decorator and system checks, through Django's own test clients."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, JsonResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path

from hookseal import Secret, SecretSet
from hookseal.integrations.django import verify_webhook
from hookseal.testing import forged_request, signed_request

DJANGO_SECRETS: list[str] = list(settings.HOOKSEAL["SECRETS"])  # configured in conftest.py

VIEW_SECRET = "per-view-secret"


def _echo(request: HttpRequest) -> dict[str, Any]:
    verified = getattr(request, "hookseal", None)
    return {
        "sha256": hashlib.sha256(request.body).hexdigest(),
        "post": request.POST.dict(),
        "secret_id": verified.secret_id if verified else None,
        "request_class": type(request).__name__,
    }


def echo(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_echo(request))


async def async_echo(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_echo(request))


@verify_webhook(secrets=VIEW_SECRET)
def decorated(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_echo(request))


@verify_webhook(secrets=VIEW_SECRET, scheme="github")
async def decorated_async(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_echo(request))


@verify_webhook
def decorated_from_settings(request: HttpRequest) -> JsonResponse:
    return JsonResponse(_echo(request))


urlpatterns = [
    path("webhooks/echo", echo),
    path("webhooks/async", async_echo),
    path("hooks/decorated", decorated),
    path("hooks/decorated-async", decorated_async),
    path("hooks/settings", decorated_from_settings),
    path("open", echo),
    path("webhooks/<str:name>", lambda request, name: echo(request)),
]


@pytest.fixture(autouse=True)
def _urls() -> Iterator[None]:
    with override_settings(ROOT_URLCONF=sys.modules[__name__]):
        yield


def post(client: Client, url: str, body: bytes, headers: dict[str, str]) -> Any:
    content_type = headers.pop("Content-Type", "application/json")
    return client.post(url, data=body, content_type=content_type, headers=headers)


async def apost(client: AsyncClient, url: str, body: bytes, headers: dict[str, str]) -> Any:
    content_type = headers.pop("Content-Type", "application/json")
    return await client.post(url, data=body, content_type=content_type, headers=headers)


# -- the middleware, sync (WSGI) ---------------------------------------------------------------


def test_signed_request_reaches_the_view() -> None:
    body, headers = signed_request({"event": "paid"}, DJANGO_SECRETS[1])
    response = post(Client(), "/webhooks/echo", body, headers)
    assert response.status_code == 200
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert response.json()["secret_id"] == Secret(DJANGO_SECRETS[1]).id
    assert response.json()["request_class"] == "WSGIRequest"


def test_forged_request_gets_problem_json() -> None:
    body, headers = forged_request({"event": "paid"})
    response = post(Client(), "/webhooks/echo", body, headers)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "signature_mismatch"
    assert "WWW-Authenticate" in response
    assert all(secret not in response.content.decode() for secret in DJANGO_SECRETS)


def test_form_body_is_parsed_after_verification() -> None:
    form = urlencode({"command": "/deploy", "text": "prod now"}).encode()
    body, headers = signed_request(form, DJANGO_SECRETS[0])
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = post(Client(), "/webhooks/echo", body, headers)
    assert response.status_code == 200
    assert response.json()["post"] == {"command": "/deploy", "text": "prod now"}
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_csrf_enforcing_site_accepts_the_verified_webhook() -> None:
    client = Client(enforce_csrf_checks=True)
    body, headers = signed_request({"a": 1}, DJANGO_SECRETS[0])
    assert post(client, "/webhooks/echo", body, dict(headers)).status_code == 200
    assert post(client, "/open", body, dict(headers)).status_code == 403  # CSRF still on elsewhere


@pytest.mark.parametrize("url", ["/Webhooks/echo", "/webhooks//echo", "/x/../webhooks/echo"])
def test_path_spellings_are_guarded(url: str) -> None:
    response = Client().post(url, data=b"{}", content_type="application/json")
    assert response.status_code == 401


def test_unguarded_path_is_untouched() -> None:
    response = Client().post("/open", data=b"{}", content_type="application/json")
    assert response.status_code == 200
    assert response.json()["secret_id"] is None


def test_oversized_body_is_413() -> None:
    with override_settings(HOOKSEAL={**_base(), "MAX_BODY_SIZE": 100}):
        body, headers = signed_request(b"x" * 101, DJANGO_SECRETS[0])
        response = post(Client(), "/webhooks/echo", body, headers)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_djangos_own_upload_limit_is_413() -> None:
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10):
        body, headers = signed_request(b"x" * 50, DJANGO_SECRETS[0])
        response = post(Client(), "/webhooks/echo", body, headers)
    assert response.status_code == 413


def test_chunked_body_under_wsgi_is_411() -> None:
    body, headers = signed_request({"a": 1}, DJANGO_SECRETS[0])
    response = post(Client(), "/webhooks/echo", body, {**headers, "Transfer-Encoding": "chunked"})
    assert response.status_code == 411


def test_no_active_secret_is_503() -> None:
    expired = SecretSet([Secret(DJANGO_SECRETS[0], id="old", expires_at=1_000_000)])
    with override_settings(HOOKSEAL={**_base(), "SECRETS": expired}):
        body, headers = signed_request({"a": 1}, DJANGO_SECRETS[0])
        response = post(Client(), "/webhooks/echo", body, headers)
    assert response.status_code == 503
    assert response["Retry-After"].isdigit()


def test_broken_settings_fail_at_middleware_load() -> None:
    with override_settings(HOOKSEAL={"PATHS": ["/webhooks/"]}), pytest.raises(ImproperlyConfigured):
        Client().get("/open")


# -- the middleware, async (ASGI) --------------------------------------------------------------


async def test_async_signed_request() -> None:
    body, headers = signed_request({"event": "paid"}, DJANGO_SECRETS[0])
    response = await apost(AsyncClient(), "/webhooks/async", body, headers)
    assert response.status_code == 200
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert response.json()["request_class"] == "ASGIRequest"


async def test_async_forged_request() -> None:
    body, headers = forged_request({"event": "paid"})
    response = await apost(AsyncClient(), "/webhooks/async", body, headers)
    assert response.status_code == 401
    assert response.json()["code"] == "signature_mismatch"


async def test_async_form_body_and_csrf() -> None:
    form = urlencode({"k": "v"}).encode()
    body, headers = signed_request(form, DJANGO_SECRETS[0])
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = await apost(AsyncClient(enforce_csrf_checks=True), "/webhooks/async", body, headers)
    assert response.status_code == 200
    assert response.json()["post"] == {"k": "v"}


# -- the decorator -----------------------------------------------------------------------------


def test_decorator_on_a_sync_view_is_csrf_exempt() -> None:
    client = Client(enforce_csrf_checks=True)
    body, headers = signed_request({"a": 1}, VIEW_SECRET)
    response = post(client, "/hooks/decorated", body, dict(headers))
    assert response.status_code == 200
    assert response.json()["secret_id"] == Secret(VIEW_SECRET).id
    body, headers = signed_request({"a": 1}, DJANGO_SECRETS[0])  # the site's secret: not here
    assert post(client, "/hooks/decorated", body, headers).status_code == 401


async def test_decorator_on_an_async_view() -> None:
    client = AsyncClient(enforce_csrf_checks=True)
    body, headers = signed_request({"zen": 1}, VIEW_SECRET, scheme="github")
    response = await apost(client, "/hooks/decorated-async", body, dict(headers))
    assert response.status_code == 200
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
    body, headers = forged_request({"zen": 1}, scheme="github")
    assert (await apost(client, "/hooks/decorated-async", body, headers)).status_code == 401


async def test_decorator_on_a_sync_view_under_asgi() -> None:
    body, headers = signed_request({"a": 1}, VIEW_SECRET)
    response = await apost(AsyncClient(), "/hooks/decorated", body, dict(headers))
    assert response.status_code == 200
    assert response.json()["request_class"] == "ASGIRequest"
    body, headers = forged_request({"a": 1})
    assert (await apost(AsyncClient(), "/hooks/decorated", body, headers)).status_code == 401


def test_bare_decorator_uses_the_settings() -> None:
    body, headers = signed_request({"a": 1}, DJANGO_SECRETS[0])
    response = post(Client(), "/hooks/settings", body, dict(headers))
    assert response.status_code == 200
    assert response.json()["secret_id"] == Secret(DJANGO_SECRETS[0]).id
    body, headers = signed_request({"a": 1}, VIEW_SECRET)
    assert post(Client(), "/hooks/settings", body, headers).status_code == 401


# -- system checks -----------------------------------------------------------------------------


def _base() -> dict[str, Any]:
    return {"SECRETS": DJANGO_SECRETS, "PATHS": ["/webhooks/"]}


def _ids() -> list[str]:
    return [m.id for m in run_checks() if m.id and m.id.startswith("hookseal.")]


def test_checks_pass_on_good_settings() -> None:
    assert _ids() == []


@pytest.mark.parametrize(
    ("hookseal_setting", "expected"),
    [
        ({}, "hookseal.E001"),
        (["s3cr3t"], "hookseal.E001"),
        ({"PATHS": ["/webhooks/"]}, "hookseal.E002"),
        ({"SECRETS": [], "PATHS": ["/webhooks/"]}, "hookseal.E002"),
        ({"SECRETS": [""], "PATHS": ["/webhooks/"]}, "hookseal.E002"),
        ({"SECRETS": "s", "SCHEME": "nope", "PATHS": ["/webhooks/"]}, "hookseal.E003"),
        ({"SECRETS": "s", "PATHS": ["webhooks"]}, "hookseal.E004"),
        ({"SECRETS": "s", "PATHS": []}, "hookseal.E004"),
        ({"SECRETS": "s", "PATHS": ["/w/"], "MAX_BODY_SIZE": 0}, "hookseal.E005"),
        ({"SECRETS": "s", "PATHS": ["/w/"], "TOLERANCE": -1}, "hookseal.E006"),
        ({"SECRETS": "s", "PATHS": ["/w/"], "PUBLIC_URL": "example.com"}, "hookseal.E007"),
        ({"SECRETS": "s", "PATHS": ["/w/"], "TRUSTED_PROXIES": ["10.0.0.300"]}, "hookseal.E007"),
        (
            {
                "SECRETS": "s",
                "PATHS": ["/w/"],
                "PUBLIC_URL": "https://a.example",
                "TRUSTED_PROXIES": ["10.0.0.1"],
            },
            "hookseal.E007",
        ),
        ({"SECRETS": "s", "SCHEME": "meta", "PATHS": ["/w/"], "HANDSHAKE": True}, "hookseal.E007"),
        ({"SECRETS": "s", "PATHS": ["/w/"], "SECRET": "typo"}, "hookseal.W001"),
        ({"SECRETS": "s"}, "hookseal.W002"),
    ],
)
def test_checks_catch_bad_settings(hookseal_setting: Any, expected: str) -> None:
    with override_settings(HOOKSEAL=hookseal_setting):
        assert expected in _ids()


def test_checks_catch_a_missing_setting() -> None:
    with override_settings():
        del settings.HOOKSEAL
        assert _ids() == ["hookseal.E001"]


def test_checks_see_the_middleware_by_its_module_path() -> None:
    middleware = ["hookseal.integrations.django.middleware.WebhookVerificationMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        del settings.HOOKSEAL
        assert _ids() == ["hookseal.E001"]


def test_no_setting_is_fine_without_the_middleware() -> None:
    with override_settings(MIDDLEWARE=[]):
        del settings.HOOKSEAL
        assert _ids() == []


def test_check_messages_never_show_a_secret() -> None:
    with override_settings(HOOKSEAL={"SECRETS": ["whsec_!!notbase64"], "SCHEME": "standard"}):
        messages = [str(m) for m in run_checks()]
    assert any("hookseal.E00" in message for message in messages)
    assert all("notbase64" not in message for message in messages)


# -- imports -----------------------------------------------------------------------------------


def test_import_hookseal_does_not_import_frameworks() -> None:
    code = (
        "import sys, hookseal, hookseal.wsgi\n"
        "assert not {'django', 'flask', 'werkzeug'} & set(sys.modules), sys.modules.keys()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("framework", "module", "extra"),
    [
        ("django", "hookseal.integrations.django", ".[django]"),
        ("flask", "hookseal.integrations.flask", ".[flask]"),
    ],
)
def test_missing_framework_names_the_extra(framework: str, module: str, extra: str) -> None:
    code = (
        f"import sys; sys.modules[{framework!r}] = None\n"
        "try:\n"
        f"    import {module}\n"
        "except ImportError as exc:\n"
        f"    assert {extra!r} in str(exc), exc\n"
        "else:\n"
        "    raise SystemExit('imported without the framework')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dot_dot_under_a_guarded_path_is_still_guarded() -> None:
    """Django routes '/webhooks/..' to 'webhooks/<str:name>' (name='..') without resolving it."""
    response = Client().post("/webhooks/..", data=b"{}", content_type="application/json")
    assert response.status_code == 401
