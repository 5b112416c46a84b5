"""Django: a middleware for the paths in ``settings.HOOKSEAL``, a per-view decorator, checks.

# settings.py
INSTALLED_APPS = [..., "hookseal.integrations.django"]   # adds the system checks
MIDDLEWARE = ["hookseal.integrations.django.WebhookVerificationMiddleware", ...]
HOOKSEAL = {"SECRETS": ["s3cr3t"], "SCHEME": "github", "PATHS": ["/webhooks/"]}

# or for one view: @verify_webhook(secrets="s3cr3t")
"""

from __future__ import annotations

try:
    import django  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised by a test that hides django
    from ..._extras import missing_extra

    raise missing_extra("hookseal.integrations.django", "django", "django") from exc

from .decorators import verify_webhook
from .middleware import WebhookVerificationMiddleware

__all__ = ["WebhookVerificationMiddleware", "verify_webhook"]
