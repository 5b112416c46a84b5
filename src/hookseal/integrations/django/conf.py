"""Reading ``settings.HOOKSEAL`` into what the middleware needs, with one error per mistake.

Keys: ``SECRETS`` (required: a secret, a list of them, a SecretSet or a Keyring), ``SCHEME``
(a scheme name or instance; default the Signature scheme), ``PATHS`` (default: every path),
``MAX_BODY_SIZE`` (default 1 MiB), ``TOLERANCE``, ``LEEWAY``, ``REPLAY_GUARD``,
``PUBLIC_URL`` or ``TRUSTED_PROXIES`` (the URL the provider called, for the schemes that sign
it: :mod:`hookseal.forwarded`) and ``HANDSHAKE`` (:mod:`hookseal.handshakes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from django.conf import settings

from ..._adapter import DEFAULT_MAX_BODY_SIZE, build_verifier, check_limit
from ...errors import ConfigurationError
from ...forwarded import RequestURL
from ...handshakes import Handshake, handshake_for
from ...paths import PathMatcher
from ...schemes import Scheme, by_name
from ...secrets import SecretProvider, SecretSet, as_provider
from ...verifier import Verifier

__all__ = ["KEYS", "Config", "load", "raw_settings"]

KEYS = frozenset(
    {
        "SECRETS",
        "SCHEME",
        "PATHS",
        "MAX_BODY_SIZE",
        "TOLERANCE",
        "LEEWAY",
        "REPLAY_GUARD",
        "PUBLIC_URL",
        "TRUSTED_PROXIES",
        "HANDSHAKE",
    }
)


class Config(NamedTuple):
    """The middleware's settings, validated."""

    verifier: Verifier
    matcher: PathMatcher
    max_body_size: int
    request_url: RequestURL
    handshake: Handshake | None


def raw_settings() -> Any:
    """``settings.HOOKSEAL`` as written, or None when it is not set."""
    return getattr(settings, "HOOKSEAL", None)


def mapping(raw: Any) -> Mapping[str, Any]:
    """The setting as a non-empty mapping, or a ConfigurationError."""
    if raw is None:
        raise ConfigurationError("the HOOKSEAL setting is missing")
    if not isinstance(raw, Mapping):
        raise ConfigurationError("the HOOKSEAL setting must be a dict")
    if not raw:
        raise ConfigurationError("the HOOKSEAL setting is empty")
    return raw


def secrets(raw: Mapping[str, Any]) -> SecretProvider:
    """``SECRETS`` as a provider: present, not empty, every value usable."""
    value = raw.get("SECRETS")
    if value is None or (isinstance(value, (str, bytes, list, tuple)) and not value):
        raise ConfigurationError("HOOKSEAL['SECRETS'] is missing or empty")
    try:
        provider = as_provider(value)
    except ConfigurationError as exc:
        raise ConfigurationError(f"HOOKSEAL['SECRETS']: {exc}") from None
    if isinstance(provider, SecretSet) and not provider:
        raise ConfigurationError("HOOKSEAL['SECRETS'] is missing or empty")
    return provider


def scheme(raw: Mapping[str, Any]) -> Scheme | None:
    """``SCHEME`` as a Scheme, or None for the default."""
    value = raw.get("SCHEME")
    return None if value is None else by_name(value)


def paths(raw: Mapping[str, Any]) -> PathMatcher:
    """``PATHS`` as a matcher (every path when unset)."""
    value = raw.get("PATHS")
    if isinstance(value, (bytes, int, float)):
        raise ConfigurationError("HOOKSEAL['PATHS'] must be a list of paths")
    return PathMatcher(value)


def max_body_size(raw: Mapping[str, Any]) -> int:
    """``MAX_BODY_SIZE`` in bytes (1 MiB when unset)."""
    return check_limit(raw.get("MAX_BODY_SIZE", DEFAULT_MAX_BODY_SIZE))


def verifier(raw: Mapping[str, Any], scheme_override: Scheme | str | None = None) -> Verifier:
    """A Verifier from the setting's secrets and options (``scheme_override`` for one view)."""
    return build_verifier(
        secrets(raw),
        None,
        scheme=scheme(raw) if scheme_override is None else by_name(scheme_override),
        tolerance=raw.get("TOLERANCE"),
        leeway=raw.get("LEEWAY"),
        replay_guard=raw.get("REPLAY_GUARD"),
    )


def request_url(raw: Mapping[str, Any] | None) -> RequestURL:
    """``PUBLIC_URL`` / ``TRUSTED_PROXIES`` (either; neither: the request's own URL)."""
    if raw is None:
        return RequestURL()
    try:
        return RequestURL(raw.get("PUBLIC_URL"), raw.get("TRUSTED_PROXIES"))
    except ConfigurationError as exc:
        raise ConfigurationError(f"HOOKSEAL: {exc}") from None


def load(raw: Any = None) -> Config:
    """The validated settings (read from ``settings.HOOKSEAL`` when ``raw`` is None)."""
    found = mapping(raw_settings() if raw is None else raw)
    built = verifier(found)
    return Config(
        built,
        paths(found),
        max_body_size(found),
        request_url(found),
        handshake_for_verifier(found, built),
    )


def handshake_for_verifier(raw: Mapping[str, Any], built: Verifier) -> Handshake | None:
    """``HANDSHAKE`` for the scheme ``built`` verifies."""
    try:
        return handshake_for(built.scheme, raw.get("HANDSHAKE"))
    except ConfigurationError as exc:
        raise ConfigurationError(f"HOOKSEAL['HANDSHAKE']: {exc}") from None
