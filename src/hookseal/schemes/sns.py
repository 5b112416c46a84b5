"""Amazon SNS over HTTP/S: an RSA signature inside the JSON body, checked with a certificate
fetched from AWS.

What AWS documents ("Verifying the signatures of Amazon SNS messages", and the HTTP/HTTPS
notification and subscription confirmation JSON formats of the SNS developer guide):

* The body is a JSON object; ``Type`` is ``Notification``, ``SubscriptionConfirmation`` or
  ``UnsubscribeConfirmation``. ``Signature`` is base64 of an RSA PKCS #1 v1.5 signature:
  SHA1withRSA when ``SignatureVersion`` is ``1``, SHA256withRSA when it is ``2``.
* The string to sign is ``name\\nvalue\\n`` for each signed field, in byte order of the
  names: ``Message``, ``MessageId``, ``Subject`` (only when present), ``Timestamp``,
  ``TopicArn``, ``Type`` for a notification; ``Message``, ``MessageId``, ``SubscribeURL``,
  ``Timestamp``, ``Token``, ``TopicArn``, ``Type`` for the two confirmations. The values are
  the JSON strings decoded (escapes turned back into their characters).
* ``SigningCertURL`` names the X.509 certificate whose public key verifies. AWS: fetch it over
  HTTPS only, only from SNS. hookseal accepts exactly ``https://sns.<region>.amazonaws.com``
  (or ``.amazonaws.com.cn``), no port, no credentials, no query, a path ending in ``.pem``;
  anything else is :class:`~hookseal.errors.UntrustedSigningKey` (400) before any fetch. The
  path rule also keeps a request from making the receiver call an SNS *action* URL.
* AWS: "Reject any message with an unexpected TopicArn". So the secrets of this scheme are
  the topic ARNs you subscribed (``arn:aws:sns:<region>:<account>:<topic>``): a message from
  another topic is refused (401) before any certificate is fetched. Anyone can create an SNS
  topic and subscribe your URL to it; the signature alone only proves that AWS sent it.

The certificate is fetched once per URL (:class:`hookseal._keycache.KeyCache`: single
flight, bounded size and TTL, last known good, backoff, a fetch budget); a failed fetch is a
503 (:class:`~hookseal.errors.SigningKeyUnavailable`), so SNS retries rather than drops.
``Timestamp`` is the signed moment: SNS resends a failed delivery with its original timestamp
and signature, so the default tolerance (3600 s) must cover the retry span of your delivery
policy. ``MessageId`` is the replay key (the same on SNS's retries).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from .._keycache import KeyCache
from .._material import KeyMaterial, TokenMaterial
from ..errors import (
    BodyError,
    ConfigurationError,
    MalformedMessageId,
    MalformedSignature,
    MissingSignature,
    PayloadTooLarge,
    SignatureMismatch,
    UntrustedSigningKey,
)
from ..headers import HeadersLike
from ..secrets import Secret
from ._base import Presented, Proof, RequestTarget, Scheme
from ._fetch import https_get
from ._record import parse_rfc3339, valid_message_id

__all__ = [
    "MAX_BODY",
    "Sns",
    "check_certificate_url",
    "confirm_subscription",
    "signed_message",
    "string_to_sign",
    "subscribe_url",
]

MAX_BODY = 1_048_576
"""SNS messages are at most 256 KiB; JSON escaping can double that. More is refused (413)."""

_WHERE = "Signature (in the body)"
_TYPES = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_TYPES["UnsubscribeConfirmation"] = _TYPES["SubscriptionConfirmation"]
_HASHES = {"1": "sha1", "2": "sha256"}
_CONTENT = ("Message", "Subject")  # the publisher's text: signed even when empty
_HOST = re.compile(r"sns\.[a-z0-9]+(?:-[a-z0-9]+)+\.amazonaws\.com(?:\.cn)?")
_PATH = re.compile(r"/[A-Za-z0-9._-]{1,200}\.pem")
_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:sns:[a-z0-9-]{1,32}:\d{12}:[A-Za-z0-9_.-]{1,256}")


def check_certificate_url(url: object) -> str:
    """``url`` if it is an SNS certificate URL hookseal will fetch, else UntrustedSigningKey."""
    if not isinstance(url, str) or not url.isascii() or len(url) > 512:
        raise UntrustedSigningKey("SigningCertURL must be an https URL on SNS", header=_WHERE)
    parts = urlsplit(url)
    if (
        parts.scheme != "https"
        or parts.query
        or parts.fragment
        or url.endswith(("?", "#"))
        or _HOST.fullmatch(parts.netloc) is None  # no user info, no port, nothing after
        or _PATH.fullmatch(parts.path) is None
    ):
        raise UntrustedSigningKey(
            "SigningCertURL must be https://sns.<region>.amazonaws.com/<name>.pem",
            header=_WHERE,
        )
    return url


class _Signature:
    """The RSA check, run once the topic matched (so an unexpected topic costs no fetch)."""

    __slots__ = ("_algorithm", "_keys", "_message", "_signature", "_url")

    def __init__(
        self, keys: KeyCache[Any], url: str, algorithm: str, signature: bytes, message: bytes
    ) -> None:
        self._keys = keys
        self._url = url
        self._algorithm = algorithm
        self._signature = signature
        self._message = message

    def run(self, secret: Secret) -> None:
        self._check(self._keys.get(self._url))

    async def arun(self, secret: Secret) -> None:
        self._check(await self._keys.aget(self._url))

    def _check(self, public: Any) -> None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        chosen = hashes.SHA1() if self._algorithm == "sha1" else hashes.SHA256()  # noqa: S303
        try:
            public.verify(self._signature, self._message, padding.PKCS1v15(), chosen)
        except (InvalidSignature, ValueError):
            raise SignatureMismatch(
                "the SNS signature does not match the message", header=_WHERE
            ) from None


class Sns(Scheme):
    """Amazon SNS HTTP/S deliveries; the secrets are the topic ARNs you subscribed.

    ``fetch(url) -> bytes`` fetches a certificate (PEM); the default is an HTTPS GET with the
    system's trust store and no redirects. It is only ever given a URL that passed
    :func:`check_certificate_url`. The other options tune the certificate cache
    (:class:`hookseal._keycache.KeyCache`).
    """

    name = "sns"
    timestamped = True
    needs_body = True
    fetches_keys = True
    material_kind = "sns-topic"
    default_tolerance = 3600.0

    def __init__(
        self,
        *,
        fetch: Callable[[str], bytes] | None = None,
        ttl: float = 86_400.0,
        max_entries: int = 32,
        fetch_timeout: float = 5.0,
        budget: int = 30,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = https_get if fetch is None else fetch
        self._clock = clock
        self.certificates: KeyCache[Any] = KeyCache(
            self._load,
            name="sns",
            ttl=ttl,
            max_entries=max_entries,
            fetch_timeout=fetch_timeout,
            budget=budget,
            monotonic=monotonic,
        )

    def __repr__(self) -> str:
        return "Sns()"

    @property
    def header_names(self) -> tuple[str, ...]:
        return ()

    @property
    def signature_header(self) -> str:
        return _WHERE

    def parse(self, headers: HeadersLike) -> Presented:
        return Presented(b"", ())  # nothing in the headers: see complete()

    def complete(
        self, presented: Presented, body: bytes, headers: HeadersLike, target: RequestTarget
    ) -> Proof:
        if len(body) > MAX_BODY:
            raise PayloadTooLarge()
        message = _document(body)
        kind = _field(message, "Type")
        signed = _TYPES.get(kind)
        if signed is None:
            raise MalformedSignature("Type is not an SNS message type", header=_WHERE)
        version = _field(message, "SignatureVersion")
        algorithm = _HASHES.get(version)
        if algorithm is None:
            raise MalformedSignature("SignatureVersion must be 1 or 2", header=_WHERE)
        signature = _signature(_field(message, "Signature"))
        url = check_certificate_url(_field(message, "SigningCertURL"))
        stamp = parse_rfc3339(_field(message, "Timestamp"), "Timestamp (in the body)")
        message_id = _field(message, "MessageId")
        if not valid_message_id(message_id):
            raise MalformedMessageId(header="MessageId (in the body)")
        topic = _field(message, "TopicArn")
        claims = Presented(
            b"", (hashlib.sha256(topic.encode("utf-8")).digest(),), (), stamp, message_id
        )
        check = _Signature(self.certificates, url, algorithm, signature, _canonical(message, kind))
        return Proof(claims, ((b"", b"", b""),), check)

    def derive(self, secret: Secret) -> KeyMaterial:
        """A topic ARN, compared (as a digest) with the message's ``TopicArn``."""
        raw = secret.reveal()
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if _ARN.fullmatch(text) is None:
            raise ConfigurationError(
                f"secret {secret.id}: the sns scheme's secrets are the topic ARNs you "
                "subscribed, such as arn:aws:sns:us-east-1:123456789012:orders"
            )
        return TokenMaterial(raw)

    def sign(
        self, body: bytes, materials: Sequence[KeyMaterial], *, timestamp: int, message_id: str
    ) -> dict[str, str]:
        raise ConfigurationError(
            "an SNS signature lives in the body and needs AWS's private key: build a test "
            "message with hookseal.schemes.sns.signed_message(...)"
        )

    def _load(self, url: str) -> Any:
        """Fetch and read a certificate: RSA, at least 2048 bits, valid now."""
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import rsa

        certificate = x509.load_pem_x509_certificate(self._fetch(url))
        public = certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey) or public.key_size < 2048:
            raise ValueError("the certificate does not hold an RSA key of 2048 bits or more")
        now = self._clock()
        start = certificate.not_valid_before_utc.timestamp()
        end = certificate.not_valid_after_utc.timestamp()
        if not start <= now < end:
            raise ValueError("the certificate is not valid now")
        return public


def string_to_sign(message: Mapping[str, Any]) -> bytes:
    """The bytes SNS signs for ``message`` (a parsed SNS JSON object), per its ``Type``."""
    kind = _field(message, "Type")
    if kind not in _TYPES:
        raise MalformedSignature("Type is not an SNS message type", header=_WHERE)
    return _canonical(message, kind)


def _canonical(message: Mapping[str, Any], kind: str) -> bytes:
    parts: list[str] = []
    for name in _TYPES[kind]:
        if name == "Subject" and name not in message:
            continue  # signed only when present
        parts.append(f"{name}\n{_field(message, name, empty=name in _CONTENT)}\n")
    return "".join(parts).encode("utf-8")


def subscribe_url(body: bytes) -> str | None:
    """The ``SubscribeURL`` of a *verified* SubscriptionConfirmation body (None for any other
    message), checked to be https on SNS: visit it (GET) to confirm the subscription."""
    message = _document(body)
    if message.get("Type") != "SubscriptionConfirmation":
        return None
    url = _field(message, "SubscribeURL")
    parts = urlsplit(url)
    if parts.scheme != "https" or _HOST.fullmatch(parts.netloc) is None or parts.path != "/":
        raise UntrustedSigningKey("SubscribeURL is not an https URL on SNS", header=_WHERE)
    return url


def confirm_subscription(url: str, *, timeout: float = 5.0) -> None:
    """Visit a ``SubscribeURL`` (HTTPS GET, no redirects) to confirm an SNS subscription; for
    :class:`hookseal.handshakes.SnsSubscription`. Checked again here: https on SNS only."""
    parts = urlsplit(url)
    if parts.scheme != "https" or _HOST.fullmatch(parts.netloc) is None or parts.path != "/":
        raise UntrustedSigningKey("SubscribeURL is not an https URL on SNS", header=_WHERE)
    https_get(url, timeout=timeout)


def signed_message(
    private_key: Any,
    *,
    certificate_url: str,
    topic_arn: str,
    message: str = "hello",
    kind: str = "Notification",
    subject: str | None = None,
    message_id: str = "2b5a4b0c-9b7e-4f4e-8f4a-0d7c1e2f3a4b",
    timestamp: int | None = None,
    version: str = "2",
    token: str = "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a",  # noqa: S107
) -> bytes:
    """A message as SNS sends it, signed with ``private_key`` (an RSA key of the
    ``cryptography`` package): for tests, and for a sender imitating SNS."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    stamp = time.time() if timestamp is None else timestamp
    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else "us-east-1"
    document: dict[str, str] = {
        "Type": kind,
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(stamp)),
        "SignatureVersion": version,
        "SigningCertURL": certificate_url,
    }
    if kind == "Notification":
        if subject is not None:
            document["Subject"] = subject
        document["UnsubscribeURL"] = (
            f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}"
        )
    else:
        document["Token"] = token
        action = "ConfirmSubscription"
        document["SubscribeURL"] = (
            f"https://sns.{region}.amazonaws.com/?Action={action}&TopicArn={topic_arn}&Token={token}"
        )
    chosen = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303
    raw = private_key.sign(_canonical(document, kind), padding.PKCS1v15(), chosen)
    document["Signature"] = base64.b64encode(raw).decode("ascii")
    return json.dumps(document, indent=2).encode("utf-8")


def _document(body: bytes) -> dict[str, Any]:
    """The body as a JSON object with no repeated name (a repeat would let the signed value
    and the value an app's parser reads differ)."""
    try:
        found = json.loads(body, object_pairs_hook=_unique)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise BodyError("the body is not an SNS JSON message") from exc
    if not isinstance(found, dict):
        raise BodyError("the body is not an SNS JSON message")
    return found


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise ValueError("a repeated name")
        found[name] = value
    return found


def _field(message: Mapping[str, Any], name: str, *, empty: bool = False) -> str:
    value = message.get(name)
    if not isinstance(value, str) or not (value or empty):
        raise MissingSignature(f"the SNS message has no {name}", header=_WHERE)
    return value


def _signature(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not 128 <= len(raw) <= 1024:  # RSA 1024 to 8192 bits
        raise MalformedSignature("Signature must be base64 of an RSA signature", header=_WHERE)
    return raw
