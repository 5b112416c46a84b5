"""What every web adapter (ASGI, WSGI, FastAPI, Flask, Django) shares: one verifier from its
options, the body-size limit and the declared body length, so the rules live in one place."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._time import Clock
from .errors import BodyError, ConfigurationError
from .replay import ReplayGuard
from .schemes import Scheme
from .secrets import SecretsLike
from .verifier import Verifier

__all__ = ["DEFAULT_MAX_BODY_SIZE", "build_verifier", "check_limit", "content_length"]

DEFAULT_MAX_BODY_SIZE = 1 << 20
"""1 MiB: larger than any provider's documented webhook payload."""

_MAX_LENGTH_DIGITS = 18  # a Content-Length longer than this is nonsense, not a big number


def build_verifier(
    secrets: SecretsLike | None,
    verifier: Verifier | None,
    *,
    scheme: Scheme | str | None = None,
    tolerance: float | None = None,
    leeway: float | None = None,
    replay_guard: ReplayGuard | None = None,
    clock: Clock | None = None,
) -> Verifier:
    """The verifier from exactly one of ``secrets`` or ``verifier``; mixing them is refused."""
    if verifier is not None:
        if secrets is not None:
            raise ConfigurationError("give either secrets or verifier, not both")
        if not isinstance(verifier, Verifier):
            raise ConfigurationError("verifier must be a hookseal.Verifier")
        given = (scheme, tolerance, leeway, replay_guard, clock)
        if any(option is not None for option in given):
            raise ConfigurationError(
                "scheme, tolerance, leeway, replay_guard and clock belong to the Verifier "
                "when one is given"
            )
        return verifier
    if secrets is None:
        raise ConfigurationError("give secrets or a verifier")
    options: dict[str, Any] = {}
    if tolerance is not None:
        options["tolerance"] = tolerance
    if leeway is not None:
        options["leeway"] = leeway
    return Verifier(secrets, scheme=scheme, replay_guard=replay_guard, clock=clock, **options)


def check_limit(max_body_size: object) -> int:
    """``max_body_size`` as a positive int, or a ConfigurationError naming the mistake."""
    if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 1:
        raise ConfigurationError("max_body_size must be a positive int of bytes")
    return max_body_size


def content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """The declared body length in an ASGI header list, None when absent.

    A malformed or repeated one is refused (400): guessing which of two lengths is meant is how
    request smuggling starts.
    """
    found: int | None = None
    for name, value in headers:
        if len(name) != 14 or name.lower() != b"content-length":  # lower() only what may match
            continue
        text = value.strip()
        if found is not None or not text.isdigit() or len(text) > _MAX_LENGTH_DIGITS:
            raise BodyError("the Content-Length header is malformed", header="Content-Length")
        found = int(text)
    return found
