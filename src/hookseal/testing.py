"""Helpers for your own tests: build requests that hookseal (and the provider) would accept.

from hookseal.testing import signed_request
body, headers = signed_request({"event": "paid"}, "s3cr3t", scheme="stripe")
response = client.post("/webhooks/stripe", content=body, headers=headers)
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ._time import Instant
from .errors import ConfigurationError
from .schemes import Scheme
from .schemes._fetch import MAX_KEY_BYTES
from .secrets import SecretsLike
from .verifier import sign

__all__ = [
    "ManualClock",
    "encode_body",
    "fetch_from",
    "forged_request",
    "post_json_to",
    "signed_request",
    "tampered",
]


def encode_body(payload: Any) -> bytes:
    """Bytes as-is; str as UTF-8; anything else as compact JSON (what most providers send)."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def signed_request(
    payload: Any,
    secrets: SecretsLike,
    *,
    scheme: Scheme | str | None = None,
    timestamp: int | None = None,
    message_id: str | None = None,
    now: Instant | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> tuple[bytes, dict[str, str]]:
    """``(body, headers)`` for a delivery signed like the provider would sign it."""
    body = encode_body(payload)
    headers = {"Content-Type": "application/json"}
    headers.update(
        sign(body, secrets, scheme=scheme, timestamp=timestamp, message_id=message_id, now=now)
    )
    if extra_headers:
        headers.update(extra_headers)
    return body, headers


def forged_request(
    payload: Any,
    *,
    scheme: Scheme | str | None = None,
    timestamp: int | None = None,
    now: Instant | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A well-formed request signed with a random secret nobody has: it must be refused."""
    import secrets as stdlib_secrets

    wrong = "whsec_" + stdlib_secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")
    return signed_request(payload, wrong, scheme=scheme, timestamp=timestamp, now=now)


def tampered(body: bytes) -> bytes:
    """The same body with its last byte changed: the signature must no longer match."""
    if not body:
        return b"x"
    return body[:-1] + bytes([body[-1] ^ 0x01])


class ManualClock:
    """A clock a test moves by hand: pass it as ``clock=`` (wall time, for timestamps and
    ``rotate_at``) or as a keyring's ``monotonic=`` (for refresh intervals and cooldowns)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative number)."""
        self.now += seconds


_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def fetch_from(base_url: str, *, timeout: float = 5.0) -> Callable[[str], bytes]:
    """A key fetcher for tests: the path (and query) of each URL a scheme asks for, fetched from
    ``base_url`` instead, a server of yours on loopback (plain http allowed). Pass it as
    ``Sns(fetch=...)``; the scheme checks every certificate URL (https on SNS) before any
    fetcher sees it, so this replaces where keys come from, never which URLs are accepted."""
    base = _loopback(base_url)

    def fetch(url: str) -> bytes:
        wanted = urlsplit(url)
        target = base + wanted.path + (f"?{wanted.query}" if wanted.query else "")
        try:
            with urllib.request.urlopen(target, timeout=timeout) as response:  # noqa: S310
                data: bytes = response.read(MAX_KEY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()  # its response holds the socket
            raise OSError(f"HTTP {exc.code}") from None
        if len(data) > MAX_KEY_BYTES:
            raise OSError("the key document is too large")
        return data

    return fetch


def post_json_to(base_url: str, *, timeout: float = 5.0) -> Callable[[str, Any], Any]:
    """A JSON-posting key fetcher for tests (``Plaid(fetch=...)``): the path of each URL the
    scheme posts to, posted to ``base_url`` instead, a server of yours on loopback."""
    fetch = _loopback(base_url)

    def post(url: str, document: Any) -> Any:
        wanted = urlsplit(url)
        request = urllib.request.Request(  # noqa: S310 - loopback only, checked above
            fetch + wanted.path,
            data=json.dumps(document).encode("utf-8"),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                data: bytes = response.read(MAX_KEY_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise OSError(f"HTTP {exc.code}") from None
        if len(data) > MAX_KEY_BYTES:
            raise OSError("the key document is too large")
        return json.loads(data)

    return post


def _loopback(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or parts.netloc.rsplit(":", 1)[0] not in _LOOPBACK:
        raise ConfigurationError("the test fetchers are for tests: base_url must be on loopback")
    return base_url.rstrip("/")
