"""Every way a webhook can fail verification, as one family of typed errors.

Each error carries a stable machine-readable ``code``, the HTTP ``status`` an adapter answers
with, a short ``title`` and a ``detail`` that is safe to show the caller: no secret and no
expected signature ever appears in any of them, nor in ``args``.

    HookSealError
    ├── ConfigurationError            (also a ValueError: a programming mistake, raised at set-up)
    └── VerificationError             (the request is refused; .code, .status)
        ├── MissingSignature          401  missing_signature
        ├── MalformedSignature        400  malformed_signature
        ├── MalformedHeader           400  malformed_header
        ├── SignatureMismatch         401  signature_mismatch
        ├── TimestampError
        │   ├── MissingTimestamp      400  timestamp_missing
        │   ├── MalformedTimestamp    400  timestamp_malformed
        │   ├── TimestampTooOld       401  timestamp_too_old
        │   └── TimestampTooNew       401  timestamp_too_new
        ├── MissingMessageId          400  message_id_missing
        ├── MalformedMessageId        400  message_id_malformed
        ├── Replayed                  409  replayed
        ├── HandshakeRefused          403  handshake_refused
        ├── MalformedHandshake        400  handshake_malformed
        ├── UntrustedSigningKey       400  signing_key_untrusted
        ├── RetryLater                503  (with Retry-After)
        │   ├── NoActiveSecret             no_active_secret
        │   ├── SigningKeyUnavailable      signing_key_unavailable
        │   └── ReplayGuardUnavailable     replay_guard_unavailable
        └── BodyError
            ├── PayloadTooLarge       413  payload_too_large
            ├── LengthRequired        411  length_required
            ├── IncompleteBody        400  incomplete_body
            └── BodyTimeout           408  body_timeout
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BodyError",
    "BodyTimeout",
    "ConfigurationError",
    "HandshakeRefused",
    "HookSealError",
    "IncompleteBody",
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
    "ReplayGuardUnavailable",
    "Replayed",
    "RetryLater",
    "SignatureMismatch",
    "SigningKeyUnavailable",
    "TimestampError",
    "TimestampTooNew",
    "TimestampTooOld",
    "UntrustedSigningKey",
    "VerificationError",
]


class HookSealError(Exception):
    """Base of everything hookseal raises on purpose."""


class ConfigurationError(HookSealError, ValueError):
    """hookseal was set up wrongly (an empty secret, an unknown scheme, a bad option)."""


class VerificationError(HookSealError):
    """A request could not be verified; it must not reach the application.

    ``detail`` is safe to return to the sender. ``header`` names the request header at fault,
    where there is one, so a person debugging a delivery knows where to look.
    """

    code: ClassVar[str] = "verification_failed"
    status: ClassVar[int] = 401
    title: ClassVar[str] = "Webhook verification failed"
    default_detail: ClassVar[str] = "The webhook could not be verified."

    def __init__(self, detail: str | None = None, *, header: str | None = None) -> None:
        self.detail = detail if detail is not None else self.default_detail
        self.header = header
        super().__init__(self.detail)

    def response_headers(self) -> dict[str, str]:
        """Extra HTTP headers an adapter should send with this error's response."""
        if self.status == 401:
            return {"WWW-Authenticate": 'Signature realm="webhooks"'}
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class MissingSignature(VerificationError):
    code = "missing_signature"
    status = 401
    title = "Missing webhook signature"
    default_detail = "The request carries no signature."


class MalformedSignature(VerificationError):
    code = "malformed_signature"
    status = 400
    title = "Malformed webhook signature"
    default_detail = "The signature header could not be parsed."


class MalformedHeader(VerificationError):
    code = "malformed_header"
    status = 400
    title = "Malformed header"
    default_detail = "A header needed for verification could not be read."


class SignatureMismatch(VerificationError):
    code = "signature_mismatch"
    status = 401
    title = "Webhook signature mismatch"
    default_detail = "No signature matches any active secret."


class TimestampError(VerificationError):
    """Something is wrong with the signed timestamp."""

    code = "timestamp_invalid"
    status = 400
    title = "Invalid webhook timestamp"


class MissingTimestamp(TimestampError):
    code = "timestamp_missing"
    status = 400
    title = "Missing webhook timestamp"
    default_detail = "The request carries no timestamp."


class MalformedTimestamp(TimestampError):
    code = "timestamp_malformed"
    status = 400
    title = "Malformed webhook timestamp"
    default_detail = "The timestamp must be 1 to 12 ASCII digits of Unix time."


class TimestampTooOld(TimestampError):
    code = "timestamp_too_old"
    status = 401
    title = "Webhook timestamp too old"
    default_detail = "The timestamp is older than the allowed tolerance."


class TimestampTooNew(TimestampError):
    code = "timestamp_too_new"
    status = 401
    title = "Webhook timestamp too far in the future"
    default_detail = "The timestamp is further in the future than the allowed tolerance."


class MissingMessageId(VerificationError):
    code = "message_id_missing"
    status = 400
    title = "Missing webhook message id"
    default_detail = "The request carries no message id."


class MalformedMessageId(VerificationError):
    code = "message_id_malformed"
    status = 400
    title = "Malformed webhook message id"
    default_detail = "The message id must be 1 to 256 printable ASCII characters."


class Replayed(VerificationError):
    code = "replayed"
    status = 409
    title = "Webhook already received"
    default_detail = "This signed delivery was already accepted once."


class HandshakeRefused(VerificationError):
    """An endpoint handshake that is not the provider's (Meta's ``hub.verify_token`` is not the
    one configured): the subscription is not confirmed."""

    code = "handshake_refused"
    status = 403
    title = "Webhook handshake refused"
    default_detail = "The handshake does not carry the expected verify token."


class MalformedHandshake(VerificationError):
    """A provider's endpoint handshake that cannot be answered (no challenge, or one that is
    not text)."""

    code = "handshake_malformed"
    status = 400
    title = "Malformed webhook handshake"
    default_detail = "The handshake request carries no usable challenge."


class UntrustedSigningKey(VerificationError):
    """The request names a signing key somewhere hookseal will not fetch from (an SNS
    certificate URL that is not https on ``sns.<region>.amazonaws.com``): refused before any
    fetch, so a request can never make the receiver call a host of the sender's choosing."""

    code = "signing_key_untrusted"
    status = 400
    title = "Untrusted signing key location"
    default_detail = "The request names its signing key at a location that is not trusted."


class RetryLater(VerificationError):
    """Nothing is wrong with the request, but it cannot be checked now: fail closed with 503 and
    ``Retry-After``, so the provider retries instead of dropping the event."""

    status = 503

    def __init__(
        self, detail: str | None = None, *, header: str | None = None, retry_after: int = 30
    ) -> None:
        super().__init__(detail, header=header)
        self.retry_after = retry_after

    def response_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ReplayGuardUnavailable(RetryLater):
    """The shared replay store could not be asked (a delivery that cannot be checked for
    replay is not let through)."""

    code = "replay_guard_unavailable"
    title = "Replay check unavailable"
    default_detail = "The replay check is unavailable right now; retry later."


class NoActiveSecret(RetryLater):
    """No secret is available to verify with (cold start, source down past max_stale)."""

    code = "no_active_secret"
    title = "No webhook secret available"
    default_detail = "No signing secret is available right now; retry later."


class SigningKeyUnavailable(RetryLater):
    """The provider's public key could not be fetched (network, timeout, backoff, budget):
    the request may be genuine, so it is answered 503 and the provider retries."""

    code = "signing_key_unavailable"
    title = "Signing key unavailable"
    default_detail = "The provider's signing key is unavailable right now; retry later."


class BodyError(VerificationError):
    """The request body could not be read within the limits."""

    code = "body_invalid"
    status = 400
    title = "Invalid request body"


class PayloadTooLarge(BodyError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"
    default_detail = "The request body exceeds the allowed size."


class LengthRequired(BodyError):
    code = "length_required"
    status = 411
    title = "Length required"
    default_detail = "A Content-Length header is required for this request."


class IncompleteBody(BodyError):
    code = "incomplete_body"
    status = 400
    title = "Incomplete request body"
    default_detail = "The request body ended before its declared length."


class BodyTimeout(BodyError):
    """The body did not arrive within the adapter's ``body_timeout`` (a slow or stalled sender);
    nothing else bounds how long a request may hold the secrets' validity open."""

    code = "body_timeout"
    status = 408
    title = "Request body timeout"
    default_detail = "The request body did not arrive in time."
