"""hookseal: verify signed webhooks in one line, and make secret rotation a non-event.

The public API is what this module exports; everything else may change.
"""

from __future__ import annotations

from . import schemes
from ._accel import speedups_enabled
from .errors import (
    BodyError,
    BodyTimeout,
    ConfigurationError,
    HandshakeRefused,
    HookSealError,
    IncompleteBody,
    LengthRequired,
    MalformedHandshake,
    MalformedHeader,
    MalformedMessageId,
    MalformedSignature,
    MalformedTimestamp,
    MissingMessageId,
    MissingSignature,
    MissingTimestamp,
    NoActiveSecret,
    PayloadTooLarge,
    Replayed,
    ReplayGuardUnavailable,
    RetryLater,
    SignatureMismatch,
    SigningKeyUnavailable,
    TimestampError,
    TimestampTooNew,
    TimestampTooOld,
    UntrustedSigningKey,
    VerificationError,
)
from .keyring import Keyring, KeyringStats
from .replay import InMemoryReplayGuard, RedisReplayGuard, ReplayGuard
from .secrets import Secret, SecretProvider, SecretSet
from .verifier import DEFAULT_TOLERANCE, PendingVerification, Verified, Verifier, sign, verify

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TOLERANCE",
    "BodyError",
    "BodyTimeout",
    "ConfigurationError",
    "HandshakeRefused",
    "HookSealError",
    "InMemoryReplayGuard",
    "IncompleteBody",
    "Keyring",
    "KeyringStats",
    "LengthRequired",
    "MalformedHandshake",
    "MalformedHeader",
    "MalformedMessageId",
    "MalformedSignature",
    "MalformedTimestamp",
    "MissingMessageId",
    "MissingSignature",
    "MissingTimestamp",
    "NoActiveSecret",
    "PayloadTooLarge",
    "PendingVerification",
    "RedisReplayGuard",
    "ReplayGuard",
    "ReplayGuardUnavailable",
    "Replayed",
    "RetryLater",
    "Secret",
    "SecretProvider",
    "SecretSet",
    "SignatureMismatch",
    "SigningKeyUnavailable",
    "TimestampError",
    "TimestampTooNew",
    "TimestampTooOld",
    "UntrustedSigningKey",
    "VerificationError",
    "Verified",
    "Verifier",
    "__version__",
    "schemes",
    "sign",
    "speedups_enabled",
    "verify",
]
