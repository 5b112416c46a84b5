"""The app users add to INSTALLED_APPS so Django runs hookseal's system checks at start-up."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class HookSealConfig(AppConfig):  # type: ignore[misc]
    """``INSTALLED_APPS = [..., "hookseal.integrations.django"]``; it has no models."""

    name = "hookseal.integrations.django"
    label = "hookseal"
    verbose_name = "hookseal webhook verification"

    def ready(self) -> None:
        from .checks import check_settings

        checks.register(check_settings, checks.Tags.security)
