"""Twilio: ``X-Twilio-Signature: <base64>``, HMAC of the URL plus the sorted form parameters.

The signed content is the full URL Twilio requested (scheme, host, path, query) followed, for
a form-encoded POST, by every parameter name and value, names sorted, each name's values
sorted. For a JSON (or any non-form) body Twilio adds ``bodySHA256=<hex SHA-256 of the body>``
to the URL and signs the URL alone; the body must then hash to that value. The key is the
account's Auth Token (HMAC-SHA1), or a SharedKey secret when the request carries
``X-Twilio-Webhooks-Signature-Settings: key=...,algorithm=HMAC_SHA256``, which picks the hash.

Where Twilio's Python SDK (``twilio.request_validator.RequestValidator``) decides the details,
it wins: a value repeated under one name counts once (``sorted(set(values))``); the URL is
tried with and without its default port (":443"/":80"), because Twilio's own signing is not
consistent about it. The SDK strips a port with ``netloc.split(":")[0]``, which breaks IPv6 and
user-info hosts; here only the trailing ``:port`` is removed. A non-empty body without
``bodySHA256`` must be ``application/x-www-form-urlencoded`` (the SDK leaves that to the caller):
otherwise it would not be covered by the signature, so it is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import ParseResult, parse_qs, unquote, urlparse

from .._material import HmacMaterial, KeyMaterial, _any_equal
from ..errors import (
    BodyError,
    ConfigurationError,
    MalformedHeader,
    MalformedSignature,
    SignatureMismatch,
)
from ..headers import HeadersLike, read_header, read_headers
from ..secrets import Secret
from ._base import (
    Presented,
    Proof,
    RequestScheme,
    RequestTarget,
    decode_base64,
    require,
    require_url,
)

__all__ = ["Twilio", "form_content"]

_SIGNATURE = "X-Twilio-Signature"
_SETTINGS = "X-Twilio-Webhooks-Signature-Settings"
_NAMES = (_SIGNATURE.lower(), _SETTINGS.lower())
_FORM = "application/x-www-form-urlencoded"
_SIZES = {"HMAC_SHA1": 20, "HMAC_SHA256": 32}
MAX_FIELDS = 1000
"""More form fields than this is refused before any sorting (Twilio sends a few dozen)."""


@dataclass(frozen=True)
class Twilio(RequestScheme):
    """Twilio webhooks (Programmable Messaging and Voice, status callbacks, Studio, ...).

    ``algorithm`` is what :func:`hookseal.sign` uses (``twilio`` is SHA-1 with an Auth Token,
    ``twilio-sha256`` a SharedKey); verification follows each request's settings header.
    """

    algorithm: Literal["HMAC_SHA1", "HMAC_SHA256"] = "HMAC_SHA1"
    material_kind = "twilio"
    signs_request = True
    needs_body = True

    def __post_init__(self) -> None:
        if self.algorithm not in _SIZES:
            raise ConfigurationError("algorithm must be HMAC_SHA1 or HMAC_SHA256")
        name = "twilio" if self.algorithm == "HMAC_SHA1" else "twilio-sha256"
        object.__setattr__(self, "name", name)

    @property
    def header_names(self) -> tuple[str, ...]:
        return (_SIGNATURE, _SETTINGS)

    def derive(self, secret: Secret) -> KeyMaterial:
        return _TwilioMaterial(secret.reveal())

    def parse(self, headers: HeadersLike) -> Presented:
        return self.parse_request(headers, RequestTarget())

    def parse_request(self, headers: HeadersLike, target: RequestTarget) -> Presented:
        require_url(target, self.name)
        signature, settings = read_headers(headers, _NAMES, (_SIGNATURE, _SETTINGS))
        signature = require(signature, _SIGNATURE)
        size = _SIZES[_algorithm(settings)]
        return Presented(b"", (decode_base64(signature, size, _SIGNATURE),))

    def complete(
        self, presented: Presented, body: bytes, headers: HeadersLike, target: RequestTarget
    ) -> Proof:
        url = require_url(target, self.name)
        body_hash, variants = _url_facts(url)
        if body_hash is not None:
            expected = hashlib.sha256(body).hexdigest().encode("ascii")
            if not hmac.compare_digest(expected, body_hash.encode("utf-8")):
                raise SignatureMismatch(
                    "the body does not hash to the URL's bodySHA256", header=_SIGNATURE
                )
            params = b""
        elif body:
            kind = read_header(headers, "content-type", "Content-Type") or ""
            if kind.split(";")[0].strip().lower() != _FORM:
                raise BodyError(
                    "a body that is not a form needs bodySHA256 in the URL to be signed"
                )
            params = form_content(body)
        else:
            params = b""
        contents = tuple((variant, params, b"") for variant in variants)
        return Proof(presented, contents)

    def sign_request(
        self,
        body: bytes,
        materials: Sequence[KeyMaterial],
        *,
        timestamp: int,
        message_id: str,
        target: RequestTarget,
    ) -> dict[str, str]:
        url = require_url(target, self.name)
        headers: dict[str, str] = {}
        body_hash = _body_hash(_parse_url(url))
        if body_hash is not None:
            if body_hash != hashlib.sha256(body).hexdigest():
                raise ConfigurationError("the URL's bodySHA256 is not the SHA-256 of the body")
            params = b""
        elif body:
            params = form_content(body)
            headers["Content-Type"] = _FORM
        else:
            params = b""
        material = materials[0]
        if not isinstance(material, _TwilioMaterial):  # pragma: no cover - derive() made it
            raise ConfigurationError("twilio signs with its own key material")
        digest = material.pick(self.algorithm).sign(url.encode("utf-8") + params)
        headers[_SIGNATURE] = base64.b64encode(digest).decode("ascii")
        if self.algorithm != "HMAC_SHA1":
            headers[_SETTINGS] = f"algorithm={self.algorithm}"
        return headers


def form_content(body: bytes) -> bytes:
    """The form parameters as Twilio signs them: names sorted, each name's distinct values
    sorted, concatenated as name + value (a ``BodyError`` for a body that is not a form)."""
    try:
        pairs = _form_pairs(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyError("the form body could not be parsed") from exc
    fields: dict[str, set[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, set()).add(value)
    return "".join(
        name + value for name in sorted(fields) for value in sorted(fields[name])
    ).encode("utf-8")


def _form_pairs(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)``,
    field for field, with ``unquote`` called only on the parts that hold a percent-escape (the
    standard library calls it on every name and value, which is most of its time)."""
    if text and 1 + text.count("&") > MAX_FIELDS:
        raise ValueError("Max number of fields exceeded")
    pairs = []
    for field in text.split("&") if text else ():
        if not field:
            continue
        name, _, value = field.partition("=")
        name = name.replace("+", " ")
        value = value.replace("+", " ")
        if "%" in name:
            name = unquote(name, errors="strict")
        if "%" in value:
            value = unquote(value, errors="strict")
        pairs.append((name, value))
    return pairs


def _algorithm(settings: str | None) -> str:
    """The algorithm named in the settings header; none (or no ``algorithm=``) means SHA-1."""
    for part in (settings or "").split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip() == "algorithm" and value.strip():
            name = value.strip().upper()
            if name not in _SIZES:
                raise MalformedSignature(
                    f"the {_SETTINGS} header names an unknown algorithm", header=_SETTINGS
                )
            return name
    return "HMAC_SHA1"


_URL_FACTS: dict[str, tuple[str | None, tuple[bytes, ...]]] = {}
_URL_FACTS_MAX = 256
_URL_CACHED_LENGTH = 2048


def _url_facts(url: str) -> tuple[str | None, tuple[bytes, ...]]:
    """The URL's ``bodySHA256`` (or None) and its two spellings (without and with the default
    port), worked out once per URL: a webhook endpoint is called at one URL, again and again.
    A bounded cache (cleared when full, long URLs not kept); a URL that cannot be parsed is
    refused every time, never cached."""
    found = _URL_FACTS.get(url)
    if found is None:
        parsed = _parse_url(url)
        found = (_body_hash(parsed), _url_variants(parsed))
        if len(url) <= _URL_CACHED_LENGTH:
            if len(_URL_FACTS) >= _URL_FACTS_MAX:
                _URL_FACTS.clear()
            _URL_FACTS[url] = found
    return found


def _parse_url(url: str) -> ParseResult:
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:  # the host comes from the request: blame the request
        raise MalformedHeader("the request URL could not be parsed", header="Host") from exc
    return parsed


def _body_hash(parsed: ParseResult) -> str | None:
    try:
        query = parse_qs(parsed.query, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise MalformedHeader("the request URL has too many parameters", header="Host") from exc
    values = query.get("bodySHA256")
    return values[0] if values else None


def _url_variants(parsed: ParseResult) -> tuple[bytes, ...]:
    """The URL without and with its default port, as Twilio's SDK tries them."""
    netloc = parsed.netloc
    if parsed.port is not None:
        bare = parsed._replace(netloc=netloc[: netloc.rfind(":")]).geturl()
        ported = parsed.geturl()
    else:
        bare = parsed.geturl()
        port = "443" if parsed.scheme == "https" else "80"
        ported = parsed._replace(netloc=f"{netloc}:{port}").geturl()
    return (bare.encode("utf-8"), ported.encode("utf-8"))


class _TwilioMaterial:
    """The secret keyed for both hashes; a presented digest's length says which one it is."""

    __slots__ = ("_sha1", "_sha256")
    kind = "twilio"

    def __init__(self, key: bytes) -> None:
        self._sha1 = HmacMaterial(key, "sha1")
        self._sha256 = HmacMaterial(key, "sha256")

    def pick(self, algorithm: str) -> HmacMaterial:
        return self._sha1 if algorithm == "HMAC_SHA1" else self._sha256

    def matches(
        self, prefix: bytes, body: bytes, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]
    ) -> bool:
        found = False
        for signature in hmac_sigs:
            material = self._sha1 if len(signature) == 20 else self._sha256
            found |= _any_equal(material.digest(prefix, body), (signature,))
        return found

    def start(self, prefix: bytes) -> _Collect:
        return _Collect(self, prefix)

    def sign(self, message: bytes) -> bytes:
        return self._sha1.sign(message)

    def __repr__(self) -> str:
        return "_TwilioMaterial(<hidden>)"


class _Collect:
    __slots__ = ("_chunks", "_material")

    def __init__(self, material: _TwilioMaterial, prefix: bytes) -> None:
        self._material = material
        self._chunks = [prefix]

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._chunks.append(bytes(chunk))

    def matches(self, hmac_sigs: Sequence[bytes], ed25519_sigs: Sequence[bytes]) -> bool:
        return self._material.matches(b"", b"".join(self._chunks), hmac_sigs, ed25519_sigs)
