"""Django is configured once per process, here, for every integration test that needs it."""

from __future__ import annotations

import django
from django.conf import settings

DJANGO_SECRETS = ["django-webhook-secret", "django-previous-secret"]

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="hookseal-tests-only",
        ALLOWED_HOSTS=["testserver", "127.0.0.1", "localhost"],
        ROOT_URLCONF=None,  # each Django test module sets its own urlpatterns
        INSTALLED_APPS=["hookseal.integrations.django"],
        MIDDLEWARE=[
            "hookseal.integrations.django.WebhookVerificationMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
        ],
        HOOKSEAL={"SECRETS": DJANGO_SECRETS, "PATHS": ["/webhooks/"]},
        DATABASES={},
        USE_TZ=True,
    )
    django.setup()
