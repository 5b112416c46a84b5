"""Endpoint handshakes: the requests a provider sends to check an endpoint before (and while)
it delivers to it, answered by the adapters so the app never has to.

=========  ===============================  ==========================================  =======
scheme     the request                      the answer                                  default
=========  ===============================  ==========================================  =======
zoom       ``endpoint.url_validation``      ``{"plainToken", "encryptedToken"}`` (JSON)  on
           (signed POST)                    HMAC-SHA256 of the token, hex, after the
                                            signature is verified
twitch     ``webhook_callback_verification``  the ``challenge`` as ``text/plain``, after  on
           (signed POST)                    the signature is verified
meta       ``GET ?hub.mode=subscribe&...``  ``hub.challenge`` as ``text/plain`` when     opt-in
           (unsigned)                       ``hub.verify_token`` is the configured one
                                            (constant time), else 403
xero       intent to receive: signed POSTs  200 with no body for a correctly signed one   on
           with ``"events": []``            (the app never sees it), 401 with no body
                                            for a wrongly signed one
okta       ``GET`` with                     ``{"verification": <the header's value>}``    on
           ``X-Okta-Verification-Challenge``  after the shared secret header is checked
sns        ``SubscriptionConfirmation``     200 with no body, after the signature is      opt-in
           (signed POST)                    verified and ``confirm(SubscribeURL)`` (your
                                            callable) returned
=========  ===============================  ==========================================  =======

An adapter takes ``handshake=``: None (the default) answers the scheme's handshake where the
provider requires one (all but Meta, whose verify token only the app knows, and SNS, whose
``SubscribeURL`` hookseal never visits unless told to), False answers none, and a
:class:`Handshake` (``MetaSubscription(verify_token=...)``, ``SnsSubscription(confirm=...)``)
answers that one. Without it, a verified SNS confirmation reaches the app like any message.
Handshakes are plain objects with no I/O: :meth:`Handshake.before` may answer a request before
any verification (only Meta's, which the provider does not sign), :meth:`Handshake.after`
answers a verified one instead of the app.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from typing import ClassVar, NamedTuple
from urllib.parse import parse_qsl

from .errors import ConfigurationError, HandshakeRefused, MalformedHandshake, RetryLater
from .headers import HeadersLike, read_header
from .schemes import Scheme
from .secrets import SecretProvider
from .verifier import Verified

__all__ = [
    "Handshake",
    "HandshakeRequest",
    "MetaSubscription",
    "OktaVerification",
    "Reply",
    "SnsSubscription",
    "TwitchChallenge",
    "XeroIntentToReceive",
    "ZoomUrlValidation",
    "handshake_for",
]

MAX_CHALLENGE = 4096
"""Longer challenges are refused: providers send a few dozen characters."""
_SMALL_BODY = 8192  # a handshake body is small; a larger one is an ordinary delivery


class HandshakeRequest(NamedTuple):
    """What a handshake needs to know of a request: its method, raw query string, headers."""

    method: str
    query: str
    headers: HeadersLike


class Reply(NamedTuple):
    """The adapter's answer to a handshake, instead of calling the app."""

    status: int
    body: bytes = b""
    content_type: str | None = None

    def header_list(self) -> list[tuple[str, str]]:
        """The response headers (lower-case names): type and length, never cached."""
        headers = [("content-length", str(len(self.body))), ("cache-control", "no-store")]
        if self.content_type is not None:
            headers.insert(0, ("content-type", self.content_type))
            headers.append(("x-content-type-options", "nosniff"))
        return headers


class Handshake:
    """A provider's endpoint handshake (see the module docstring)."""

    __slots__ = ()
    scheme: ClassVar[str]
    """The name of the scheme whose requests this handshake answers."""
    quiet_refusals: ClassVar[bool] = False
    """Refusals are answered without a body (Xero checks that responses have none)."""

    def before(self, request: HandshakeRequest) -> Reply | None:
        """The answer to an unsigned handshake, before any verification; None for the rest.
        Raises a VerificationError for a handshake that must be refused."""
        return None

    def after(
        self, request: HandshakeRequest, verified: Verified, body: bytes, secrets: SecretProvider
    ) -> Reply | None:
        """The answer to a verified handshake, instead of the app; None for a delivery."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ZoomUrlValidation(Handshake):
    """Zoom's ``endpoint.url_validation`` (on adding the endpoint, then every 72 hours)."""

    scheme = "zoom"

    def after(
        self, request: HandshakeRequest, verified: Verified, body: bytes, secrets: SecretProvider
    ) -> Reply | None:
        if len(body) > _SMALL_BODY or b"endpoint.url_validation" not in body:
            return None  # an ordinary event: not parsed here
        event = _json_object(body)
        if event is None or event.get("event") != "endpoint.url_validation":
            return None
        payload = event.get("payload")
        token = payload.get("plainToken") if isinstance(payload, dict) else None
        token = _challenge(token, "payload.plainToken")
        # The secret that verified this request: the snapshot the verifier just used is warm.
        secret = secrets.secret_set().get(verified.secret_id)
        if secret is None:  # pragma: no cover - the keyring dropped it in between
            return None
        encrypted = hmac.new(secret.reveal(), token.encode("ascii"), hashlib.sha256).hexdigest()
        document = {"plainToken": token, "encryptedToken": encrypted}
        return Reply(200, json.dumps(document).encode("ascii"), "application/json")


class TwitchChallenge(Handshake):
    """Twitch EventSub's ``webhook_callback_verification`` (after each new subscription)."""

    scheme = "twitch"

    def after(
        self, request: HandshakeRequest, verified: Verified, body: bytes, secrets: SecretProvider
    ) -> Reply | None:
        kind = read_header(
            request.headers, "twitch-eventsub-message-type", "Twitch-Eventsub-Message-Type"
        )
        if kind != "webhook_callback_verification":
            return None  # notification or revocation: for the app
        message = _json_object(body) if len(body) <= _SMALL_BODY * 4 else None
        challenge = _challenge(None if message is None else message.get("challenge"), "challenge")
        return Reply(200, challenge.encode("ascii"), "text/plain")


class MetaSubscription(Handshake):
    """Meta's (Facebook, Instagram, WhatsApp) verification request: ``GET`` with
    ``hub.mode=subscribe``, ``hub.challenge`` and ``hub.verify_token``, unsigned; answered only
    when the token is one of ``verify_token`` (a str, or several during a change)."""

    scheme = "meta"
    __slots__ = ("_tokens",)

    def __init__(self, verify_token: str | Iterable[str]) -> None:
        tokens = [verify_token] if isinstance(verify_token, str) else list(verify_token)
        if not tokens or any(not isinstance(t, str) or not t for t in tokens):
            raise ConfigurationError("verify_token must be a non-empty str (or a list of them)")
        # Compared as digests: the time taken says nothing about the tokens' length or content.
        self._tokens = tuple(hashlib.sha256(t.encode("utf-8")).digest() for t in tokens)

    def __repr__(self) -> str:
        return f"MetaSubscription(verify_token=<{len(self._tokens)} hidden>)"

    def before(self, request: HandshakeRequest) -> Reply | None:
        if request.method != "GET" or "hub.mode" not in request.query:
            return None
        try:
            pairs = parse_qsl(
                request.query, keep_blank_values=True, errors="strict", max_num_fields=16
            )
        except (ValueError, UnicodeDecodeError):
            raise MalformedHandshake("the verification request's query cannot be read") from None
        fields: dict[str, str] = {}
        for name, value in pairs:
            if name in fields:
                raise MalformedHandshake(f"the verification request repeats {name}")
            fields[name] = value
        if fields.get("hub.mode") != "subscribe":
            raise MalformedHandshake("hub.mode must be subscribe")
        presented = hashlib.sha256(fields.get("hub.verify_token", "").encode("utf-8")).digest()
        matched = False
        for token in self._tokens:  # every one, whatever matched
            matched |= hmac.compare_digest(presented, token)
        if not matched:
            raise HandshakeRefused("hub.verify_token is not the verify token configured")
        challenge = _challenge(fields.get("hub.challenge"), "hub.challenge")
        return Reply(200, challenge.encode("ascii"), "text/plain")


class XeroIntentToReceive(Handshake):
    """Xero's intent to receive: signed POSTs whose ``events`` list is empty. A correctly
    signed one gets 200 with no body (the app never sees it), a wrongly signed one 401 with
    no body (a refusal, as for any delivery: Xero checks that responses carry no body)."""

    scheme = "xero"
    quiet_refusals = True

    def after(
        self, request: HandshakeRequest, verified: Verified, body: bytes, secrets: SecretProvider
    ) -> Reply | None:
        if len(body) > _SMALL_BODY or b'"events"' not in body:
            return None
        payload = _json_object(body)
        if payload is None or payload.get("events") != []:
            return None
        return Reply(200)


class OktaVerification(Handshake):
    """Okta event hooks' one-time verification: a ``GET`` carrying
    ``X-Okta-Verification-Challenge`` (and the hook's shared secret header, checked first),
    answered with ``{"verification": <the challenge>}``."""

    scheme = "okta"

    def after(
        self, request: HandshakeRequest, verified: Verified, body: bytes, secrets: SecretProvider
    ) -> Reply | None:
        if request.method != "GET":
            return None
        challenge = read_header(
            request.headers, "x-okta-verification-challenge", "X-Okta-Verification-Challenge"
        )
        if challenge is None:
            return None
        challenge = _challenge(challenge, "X-Okta-Verification-Challenge")
        return Reply(200, json.dumps({"verification": challenge}).encode(), "application/json")


class SnsSubscription(Handshake):
    """Amazon SNS's ``SubscriptionConfirmation``, opt-in: once the message's signature is
    verified, ``confirm`` is called with its ``SubscribeURL`` (checked: https on
    ``sns.<region>.amazonaws.com``) and the request is answered 200; the app never sees it.

    ``confirm`` runs in the request: :func:`hookseal.schemes.sns.confirm_subscription` (an
    HTTPS GET, bounded) suits a threaded server; in an async app, hand the URL to a queue or
    a thread instead. An exception from it is a 503, so SNS sends the confirmation again
    (with a replay guard, that retry carries the same MessageId and is refused as a replay:
    there, prefer a ``confirm`` that only queues the URL).
    """

    scheme = "sns"
    __slots__ = ("_confirm",)

    def __init__(self, confirm: Callable[[str], object]) -> None:
        if not callable(confirm):
            raise ConfigurationError("confirm must be a callable taking the SubscribeURL")
        self._confirm = confirm

    def after(
        self, request: HandshakeRequest, verified: Verified, body: bytes, secrets: SecretProvider
    ) -> Reply | None:
        if b"SubscriptionConfirmation" not in body:
            return None  # a notification (or an unsubscribe confirmation): for the app
        from .schemes.sns import subscribe_url

        url = subscribe_url(body)
        if url is None:
            return None
        try:
            self._confirm(url)
        except Exception as exc:
            raise RetryLater("the subscription could not be confirmed; retry later") from exc
        return Reply(200)


_DEFAULTS: dict[str, Handshake] = {
    handshake.scheme: handshake
    for handshake in (
        ZoomUrlValidation(),
        TwitchChallenge(),
        XeroIntentToReceive(),
        OktaVerification(),
    )
}
"""The handshakes a provider requires of every endpoint: answered unless ``handshake=False``."""


def handshake_for(scheme: Scheme, option: Handshake | bool | None = None) -> Handshake | None:
    """The handshake an adapter guarding ``scheme`` answers (see the module docstring)."""
    if option is None:
        return _DEFAULTS.get(scheme.name)
    if option is False:
        return None
    if option is True:
        found = _DEFAULTS.get(scheme.name)
        if found is None:
            if scheme.name == "meta":
                raise ConfigurationError(
                    "Meta's handshake needs the verify token you chose in the app dashboard: "
                    "handshake=MetaSubscription(verify_token=...)"
                )
            if scheme.name == "sns":
                raise ConfigurationError(
                    "SNS's confirmation is answered only with your say-so on the SubscribeURL: "
                    "handshake=SnsSubscription(confirm=hookseal.schemes.sns.confirm_subscription)"
                )
            raise ConfigurationError(f"the {scheme.name} scheme has no endpoint handshake")
        return found
    if not isinstance(option, Handshake):
        raise ConfigurationError("handshake must be a hookseal.handshakes.Handshake, or a bool")
    if option.scheme != scheme.name:
        raise ConfigurationError(
            f"{type(option).__name__} answers {option.scheme}'s handshake, but the scheme "
            f"guarded is {scheme.name}"
        )
    return option


def _json_object(body: bytes) -> dict[str, object] | None:
    try:
        found = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return found if isinstance(found, dict) else None


def _challenge(value: object, name: str) -> str:
    """A challenge to echo: printable ASCII text, 1 to MAX_CHALLENGE characters."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= MAX_CHALLENGE
        or not value.isascii()
        or not value.isprintable()
    ):
        raise MalformedHandshake(f"the handshake's {name} is missing or not printable text")
    return value
