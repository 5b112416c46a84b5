"""Plaid: an ES256 JWT in ``Plaid-Verification`` whose key is fetched by its ``kid``.

What Plaid documents ("Verify webhooks", plaid.com/docs/api/webhooks/webhook-verification/,
and ``/webhook_verification_key/get`` in the API reference):

* The header's value is a JWT. Its header's ``alg`` must be ``ES256`` ("reject the webhook if
  this is not the case"); its ``kid`` names the key. hookseal refuses every other ``alg``
  before anything else (``none``, ``HS256`` with the public key as an HMAC secret: the classic
  confusions) and never reads a key from the token itself (``jwk``, ``jku``, ``x5u``).
* The key is a JWK (``kty`` EC, ``crv`` P-256, ``x``, ``y``, ``expired_at``) from
  ``POST /webhook_verification_key/get`` with your ``client_id``, ``secret`` and the
  ``key_id``. A key with ``expired_at`` set is not used (Plaid's example rejects it).
* The payload's ``iat`` must not be older than 5 minutes (hookseal's tolerance: 300 s either
  way), and its ``request_body_sha256`` is the hex SHA-256 of the raw body, compared in
  constant time.

The secrets of this scheme are your Plaid API secret(s): each fetch is authenticated with the
one that is valid now (a rotation works as for any secret). Your ``client_id`` is set on the
scheme: ``Plaid(client_id="...")``. Keys are cached per ``kid``
(:class:`hookseal._keycache.KeyCache`); a failed fetch is a 503, so Plaid's retry comes back.
The replay key is a hash of the token's signed part (ECDSA signatures are malleable, so the
signature itself cannot be the key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from .._keycache import KeyCache
from .._material import Digester, KeyMaterial
from ..errors import (
    ConfigurationError,
    MalformedSignature,
    SignatureMismatch,
)
from ..headers import HeadersLike, read_header
from ..secrets import Secret
from ._base import Presented, Proof, RequestTarget, Scheme, require
from ._fetch import https_post_json

__all__ = ["ENVIRONMENTS", "Plaid", "signed_headers"]

ENVIRONMENTS = {
    "production": "https://production.plaid.com",
    "sandbox": "https://sandbox.plaid.com",
}
"""Plaid's API hosts; the key endpoint is ``<host>/webhook_verification_key/get``."""

_HEADER = "Plaid-Verification"
_PATH = "/webhook_verification_key/get"
_MAX_TOKEN = 4096
_PART = re.compile(r"[A-Za-z0-9_-]+")
_KID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_REFUSED_HEADERS = ("jwk", "jku", "x5u", "x5c", "crit")

PostJson = Callable[[str, Mapping[str, Any]], Mapping[str, Any]]


class _Key(NamedTuple):
    public: Any  # an EllipticCurvePublicKey
    expired: bool


class _Credential:
    """The Plaid API secret as key material: it authenticates the key fetch and judges
    nothing itself (the ES256 check, run once a secret is at hand, does)."""

    __slots__ = ("_secret",)
    kind = "plaid-api-secret"

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def matches(
        self, prefix: bytes, body: bytes, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]
    ) -> bool:
        return True

    def start(self, prefix: bytes) -> Digester:
        raise ConfigurationError("the plaid scheme is checked on the whole body")

    def sign(self, message: bytes) -> bytes:
        raise ConfigurationError("Plaid signs with its own private key")

    def __repr__(self) -> str:
        return "PlaidCredential(<hidden>)"


class _Signature:
    """The ES256 check, with the key fetched by kid using the API secret that is valid now."""

    __slots__ = ("_kid", "_scheme", "_signature", "_signing_input")

    def __init__(self, scheme: Plaid, kid: str, signing_input: bytes, signature: bytes) -> None:
        self._scheme = scheme
        self._kid = kid
        self._signing_input = signing_input
        self._signature = signature

    def run(self, secret: Secret) -> None:
        self._check(self._scheme.keys.get(self._kid, self._scheme._fetcher(secret)))

    async def arun(self, secret: Secret) -> None:
        self._check(await self._scheme.keys.aget(self._kid, self._scheme._fetcher(secret)))

    def _check(self, key: _Key) -> None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        if key.expired:
            raise SignatureMismatch("the token's key has expired", header=_HEADER)
        r = int.from_bytes(self._signature[:32], "big")
        s = int.from_bytes(self._signature[32:], "big")
        try:
            key.public.verify(
                encode_dss_signature(r, s), self._signing_input, ec.ECDSA(hashes.SHA256())
            )
        except (InvalidSignature, ValueError):
            raise SignatureMismatch(
                "the Plaid-Verification signature does not match", header=_HEADER
            ) from None


class Plaid(Scheme):
    """Plaid webhooks; the secrets are your Plaid API secret(s).

    ``client_id``: yours (Dashboard → Developers → Keys). ``environment``: ``production`` or
    ``sandbox``. ``fetch(url, document) -> dict``: POSTs JSON, answers the JSON object; the
    default is an HTTPS POST with the system's trust store and no redirects. The other options
    tune the key cache (:class:`hookseal._keycache.KeyCache`).
    """

    name = "plaid"
    timestamped = True
    needs_body = True
    fetches_keys = True
    default_tolerance = 300.0

    def __init__(
        self,
        client_id: str | None = None,
        *,
        environment: str = "production",
        fetch: PostJson | None = None,
        ttl: float = 3600.0,
        max_entries: int = 32,
        fetch_timeout: float = 5.0,
        budget: int = 30,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if client_id is not None and (not isinstance(client_id, str) or not client_id.strip()):
            raise ConfigurationError("client_id must be your Plaid client_id (a non-empty str)")
        if environment not in ENVIRONMENTS:
            raise ConfigurationError(f"environment must be one of {', '.join(ENVIRONMENTS)}")
        self.client_id = None if client_id is None else client_id.strip()
        self.environment = environment
        self._post: PostJson = _post if fetch is None else fetch
        # one material cache slot per configuration: two Plaid schemes never share a material
        self.material_kind = f"plaid:{environment}:{self.client_id}:{id(self)}"
        self.keys: KeyCache[_Key] = KeyCache(
            self._no_fetch,
            name="plaid",
            ttl=ttl,
            max_entries=max_entries,
            fetch_timeout=fetch_timeout,
            budget=budget,
            monotonic=monotonic,
        )

    def __repr__(self) -> str:
        return f"Plaid(client_id={self.client_id!r}, environment={self.environment!r})"

    @property
    def header_names(self) -> tuple[str, ...]:
        return (_HEADER,)

    def parse(self, headers: HeadersLike) -> Presented:
        return self._read(headers)[0]

    def complete(
        self, presented: Presented, body: bytes, headers: HeadersLike, target: RequestTarget
    ) -> Proof:
        presented, kid, signing_input, signature = self._read(headers)
        digest = hashlib.sha256(body).digest()
        if not hmac.compare_digest(digest, presented.hmac_signatures[0]):
            raise SignatureMismatch(
                "request_body_sha256 is not the SHA-256 of the body", header=_HEADER
            )
        check = _Signature(self, kid, signing_input, signature)
        return Proof(presented, ((b"", b"", b""),), check)

    def _read(self, headers: HeadersLike) -> tuple[Presented, str, bytes, bytes]:
        token = require(read_header(headers, "plaid-verification", _HEADER), _HEADER)
        if len(token) > _MAX_TOKEN or token.count(".") != 2:
            raise MalformedSignature("Plaid-Verification is not a JWT", header=_HEADER)
        head, body, tail = token.split(".")
        header = _json_part(head)
        if header.get("alg") != "ES256":
            raise MalformedSignature("the JWT's alg must be ES256", header=_HEADER)
        if any(name in header for name in _REFUSED_HEADERS):
            raise MalformedSignature("the JWT names a key or critical extension", header=_HEADER)
        kid = header.get("kid")
        if not isinstance(kid, str) or _KID.fullmatch(kid) is None:
            raise MalformedSignature("the JWT's kid is missing or malformed", header=_HEADER)
        claims = _json_part(body)
        issued = claims.get("iat")
        if isinstance(issued, bool) or not isinstance(issued, int) or not 0 <= issued < 10**12:
            raise MalformedSignature("the JWT's iat must be epoch seconds", header=_HEADER)
        claimed = claims.get("request_body_sha256")
        if not isinstance(claimed, str) or len(claimed) != 64:
            raise MalformedSignature("request_body_sha256 must be 64 hex digits", header=_HEADER)
        try:
            digest = bytes.fromhex(claimed)
        except ValueError:
            raise MalformedSignature(
                "request_body_sha256 must be 64 hex digits", header=_HEADER
            ) from None
        signature = _b64url(tail)
        if len(signature) != 64:
            raise MalformedSignature("the JWT's signature is not ES256 (r || s)", header=_HEADER)
        signing_input = f"{head}.{body}".encode("ascii")
        token_id = "jwt-" + hashlib.sha256(signing_input).hexdigest()[:40]
        presented = Presented(b"", (digest,), (), issued, token_id)
        return presented, kid, signing_input, signature

    def derive(self, secret: Secret) -> KeyMaterial:
        """The Plaid API secret (printable ASCII, as the dashboard shows it)."""
        raw = secret.reveal()
        if not raw.isascii() or not raw.decode("ascii").isprintable() or raw.startswith(b"whpk_"):
            raise ConfigurationError(
                f"secret {secret.id}: the plaid scheme's secret is your Plaid API secret"
            )
        return _Credential(raw)

    def sign(
        self, body: bytes, materials: Sequence[KeyMaterial], *, timestamp: int, message_id: str
    ) -> dict[str, str]:
        raise ConfigurationError(
            "Plaid signs with its own private key: build a test token with "
            "hookseal.schemes.plaid.signed_headers(...)"
        )

    # -- the key fetch ------------------------------------------------------------------------

    def _fetcher(self, secret: Secret) -> Callable[[str], _Key]:
        client_id = self.client_id
        if client_id is None:
            raise ConfigurationError(
                "the plaid scheme fetches its key with your client_id: use "
                'scheme=hookseal.schemes.Plaid(client_id="...")'
            )
        url = ENVIRONMENTS[self.environment] + _PATH

        def fetch(kid: str) -> _Key:
            document = {"client_id": client_id, "secret": secret.reveal().decode(), "key_id": kid}
            return _jwk(self._post(url, document), kid)

        return fetch

    @staticmethod
    def _no_fetch(kid: str) -> _Key:
        raise ConfigurationError("a Plaid key is fetched with an API secret")  # never used


def _post(url: str, document: Mapping[str, Any]) -> Mapping[str, Any]:
    return https_post_json(url, document)


def _jwk(answer: Mapping[str, Any], kid: str) -> _Key:
    """The EC P-256 public key of a /webhook_verification_key/get answer (ValueError if not)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    key = answer.get("key") if isinstance(answer, Mapping) else None
    if not isinstance(key, Mapping):
        raise ValueError("the answer holds no key")
    if key.get("kty") != "EC" or key.get("crv") != "P-256" or key.get("kid") != kid:
        raise ValueError("the key is not the EC P-256 key asked for")
    if key.get("alg", "ES256") != "ES256" or key.get("use", "sig") != "sig":
        raise ValueError("the key is not an ES256 signing key")
    x, y = (_b64url(str(key.get(name, ""))) for name in ("x", "y"))
    if len(x) != 32 or len(y) != 32:
        raise ValueError("the key's coordinates are not 32 bytes")
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(x, "big"), int.from_bytes(y, "big"), ec.SECP256R1()
    )
    return _Key(numbers.public_key(), key.get("expired_at") is not None)


def _b64url(part: str) -> bytes:
    if not part or len(part) % 4 == 1 or _PART.fullmatch(part) is None:
        return b""
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return b""


def _json_part(part: str) -> dict[str, Any]:
    raw = _b64url(part)
    try:
        found = json.loads(raw) if raw else None
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        found = None
    if not isinstance(found, dict):
        raise MalformedSignature("Plaid-Verification is not a JWT", header=_HEADER)
    return found


def signed_headers(
    private_key: Any, body: bytes, *, kid: str, issued_at: int | None = None
) -> dict[str, str]:
    """``{"Plaid-Verification": <ES256 JWT>}`` for ``body``, signed with ``private_key`` (an
    EC P-256 key of the ``cryptography`` package): for tests, imitating Plaid."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    header = {"alg": "ES256", "kid": kid, "typ": "JWT"}
    claims = {
        "iat": int(time.time()) if issued_at is None else issued_at,
        "request_body_sha256": hashlib.sha256(body).hexdigest(),
    }
    signing_input = f"{_encode(header)}.{_encode(claims)}"
    r, s = decode_dss_signature(private_key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    signature = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return {_HEADER: f"{signing_input}.{signature}"}


def _encode(document: Mapping[str, Any]) -> str:
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
