"""What every adapter (WSGI, Flask, Django) does the same way: build its Verifier, check limits.

Kept apart from the adapters so the rules for their shared options live in one place.
"""

from __future__ import annotations

from ._time import Clock
from .errors import ConfigurationError
from .replay import ReplayGuard
from .schemes import Scheme
from .secrets import DEFAULT_LEEWAY, SecretsLike
from .verifier import DEFAULT_TOLERANCE, Verifier

__all__ = ["DEFAULT_MAX_BODY_SIZE", "check_limit", "make_verifier"]

DEFAULT_MAX_BODY_SIZE = 1 << 20
"""1 MiB: larger than any provider's documented webhook payload."""


def check_limit(max_body_size: object) -> int:
    """``max_body_size`` as a positive int, or a ConfigurationError naming the mistake."""
    if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 1:
        raise ConfigurationError("max_body_size must be a positive int of bytes")
    return max_body_size


def make_verifier(
    secrets: SecretsLike | None,
    verifier: Verifier | None,
    *,
    scheme: Scheme | str | None = None,
    tolerance: float | None = None,
    leeway: float | None = None,
    replay_guard: ReplayGuard | None = None,
    clock: Clock | None = None,
) -> Verifier:
    """The Verifier an adapter uses: the one given, or one built from the same arguments.

    Exactly one of ``secrets`` and ``verifier`` must be given; options that a ready verifier
    already fixed are refused alongside it rather than silently ignored.
    """
    if verifier is not None:
        if secrets is not None:
            raise ConfigurationError("give either secrets or verifier, not both")
        if not isinstance(verifier, Verifier):
            raise ConfigurationError("verifier must be a hookseal.Verifier")
        given = (scheme, tolerance, leeway, replay_guard, clock)
        if any(option is not None for option in given):
            raise ConfigurationError(
                "scheme, tolerance, leeway, replay_guard and clock belong to the verifier; "
                "set them there"
            )
        return verifier
    if secrets is None:
        raise ConfigurationError("give secrets (or a ready verifier)")
    return Verifier(
        secrets,
        scheme=scheme,
        tolerance=DEFAULT_TOLERANCE if tolerance is None else tolerance,
        leeway=DEFAULT_LEEWAY if leeway is None else leeway,
        replay_guard=replay_guard,
        clock=clock,
    )
