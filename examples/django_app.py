"""A one-file Django project that only accepts signed webhooks on /webhooks/...

Run it (from the repository root):

    HOOKSEAL_SECRETS=s3cr3t .venv/bin/python examples/django_app.py runserver 127.0.0.1:8000

Without HOOKSEAL_SECRETS it uses the development secret below (never use it in production);
several secrets, comma separated, are all accepted, as during a rotation. ``.venv/bin/python
examples/django_app.py check`` runs hookseal's system checks. The module also serves as a
WSGI (``application``) or ASGI (``asgi_application``) app for a production server, e.g.
``uvicorn --app-dir examples django_app:asgi_application``.

/webhooks/<source>   guarded by the middleware (settings.HOOKSEAL["PATHS"])
/hooks/per-view      guarded by @verify_webhook with its own secret (DEV_VIEW_SECRET)

Each answers with the SHA-256 of the body the view received and the id of the matched secret.
"""

from __future__ import annotations

import hashlib
import os
import sys

import django
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path

DEV_SECRET = "dev-secret-change-me"
"""Used only when HOOKSEAL_SECRETS is not set, so the example runs with no set-up."""

DEV_VIEW_SECRET = os.environ.get("HOOKSEAL_VIEW_SECRET", "hookseal-dev-view-secret")


def secrets_from_env() -> list[str]:
    """The secrets from HOOKSEAL_SECRETS (comma separated), or the development secret."""
    raw = os.environ.get("HOOKSEAL_SECRETS", DEV_SECRET)
    return [part.strip() for part in raw.split(",") if part.strip()]


if not settings.configured:
    settings.configure(
        DEBUG=os.environ.get("DJANGO_DEBUG") == "1",
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret"),
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["hookseal.integrations.django"],  # registers the system checks
        MIDDLEWARE=[
            "hookseal.integrations.django.WebhookVerificationMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
        ],
        HOOKSEAL={
            "SECRETS": secrets_from_env(),
            "SCHEME": os.environ.get("HOOKSEAL_SCHEME", "signature"),
            "PATHS": ["/webhooks/"],
            "MAX_BODY_SIZE": 1 << 20,
        },
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()

from hookseal.integrations.django import verify_webhook  # noqa: E402  (after settings)


def _answer(request: HttpRequest, source: str) -> JsonResponse:
    return JsonResponse(
        {
            "source": source,
            "sha256": hashlib.sha256(request.body).hexdigest(),
            "length": len(request.body),
            "secret_id": request.hookseal.secret_id,
            "scheme": request.hookseal.scheme,
        }
    )


def receive(request: HttpRequest, source: str) -> JsonResponse:
    """Any /webhooks/<source>: the middleware verified it before this runs."""
    return _answer(request, source)


@verify_webhook(secrets=DEV_VIEW_SECRET)
def per_view(request: HttpRequest) -> JsonResponse:
    """One view with its own secret, verified by the decorator (and CSRF-exempt)."""
    return _answer(request, "per-view")


urlpatterns = [
    path("webhooks/<str:source>", receive),
    path("hooks/per-view", per_view),
]


def _applications() -> tuple[object, object]:
    from django.core.asgi import get_asgi_application
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application(), get_asgi_application()


application, asgi_application = _applications()

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
