"""What a rotation raises. Every message names ids and steps, never a secret value."""

from __future__ import annotations

from ..errors import ConfigurationError

__all__ = ["RotationError", "RotationRefused", "RotationTimeout"]


class RotationError(Exception):
    """The rotation cannot go on; its state is kept, so ``--resume`` continues from there."""

    exit_code = 1


class RotationTimeout(RotationError):
    """A bounded wait ran out (replicas not serving the new secret, no traffic on it...)."""

    exit_code = 3


class RotationRefused(RotationError):
    """A safety rule refused the step (the old secret still verifies traffic; it is the only
    secret); ``--force`` overrides the rules that may be overridden."""

    exit_code = 4


RotationConfigurationError = ConfigurationError
