"""System checks: a missing secret or a typo in ``settings.HOOKSEAL`` fails at start-up.

hookseal.E001  HOOKSEAL missing, empty or not a dict while the middleware is installed
hookseal.E002  SECRETS missing, empty or unusable
hookseal.E003  SCHEME unknown
hookseal.E004  PATHS malformed
hookseal.E005  MAX_BODY_SIZE not a positive int
hookseal.E006  TOLERANCE, LEEWAY or REPLAY_GUARD invalid
hookseal.E007  PUBLIC_URL, TRUSTED_PROXIES or HANDSHAKE invalid
hookseal.W001  keys hookseal does not know (a typo?)
hookseal.W002  no PATHS: every request to the site must be signed
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from ...errors import ConfigurationError
from . import conf

MIDDLEWARE_PATHS = frozenset(
    {
        "hookseal.integrations.django.WebhookVerificationMiddleware",
        "hookseal.integrations.django.middleware.WebhookVerificationMiddleware",
    }
)
_FIX = "See hookseal's Django documentation for the HOOKSEAL setting."


def check_settings(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Validate ``settings.HOOKSEAL``; only required when the middleware is installed."""
    raw = conf.raw_settings()
    middleware_used = _middleware_installed()
    if raw is None and not middleware_used:
        return []  # decorator-only use with secrets given per view
    try:
        found = conf.mapping(raw)
    except ConfigurationError as exc:
        return [Error(str(exc), hint=_FIX, id="hookseal.E001")]
    messages: list[CheckMessage] = []
    parts: list[tuple[str, Callable[[Any], object]]] = [
        ("hookseal.E002", conf.secrets),
        ("hookseal.E003", conf.scheme),
        ("hookseal.E004", conf.paths),
        ("hookseal.E005", conf.max_body_size),
    ]
    for check_id, part in parts:
        _collect(messages, check_id, part, found)
    if not messages:  # the parts are sound; now the secrets' values and the other options
        _collect(messages, "hookseal.E006", conf.verifier, found)
    _collect(messages, "hookseal.E007", conf.request_url, found)
    if not messages:
        _collect(messages, "hookseal.E007", _handshake, found)
    unknown = sorted(str(key) for key in found if key not in conf.KEYS)
    if unknown:
        messages.append(
            Warning(
                f"HOOKSEAL has keys hookseal does not know: {', '.join(unknown)}",
                hint=f"Known keys: {', '.join(sorted(conf.KEYS))}.",
                id="hookseal.W001",
            )
        )
    if middleware_used and found.get("PATHS") is None:
        messages.append(
            Warning(
                "HOOKSEAL has no PATHS: the middleware requires a signature on every request",
                hint='Set HOOKSEAL["PATHS"], e.g. ["/webhooks/"].',
                id="hookseal.W002",
            )
        )
    return messages


def _collect(
    messages: list[CheckMessage],
    check_id: str,
    part: Callable[[Any], object],
    found: Any,
) -> None:
    try:
        part(found)
    except ConfigurationError as exc:
        messages.append(Error(str(exc), hint=_FIX, id=check_id))


def _handshake(found: Any) -> object:
    return conf.handshake_for_verifier(found, conf.verifier(found))


def _middleware_installed() -> bool:
    return not MIDDLEWARE_PATHS.isdisjoint(getattr(settings, "MIDDLEWARE", None) or ())
