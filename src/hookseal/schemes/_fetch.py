"""The production fetchers of the schemes whose public key is fetched (SNS, Plaid).

HTTPS only, the system's certificate store, no redirects (a redirect could lead anywhere, and
the host was checked on purpose), a read bounded in bytes, and a socket timeout; the whole
fetch is bounded by the key cache's ``fetch_timeout`` on top of that (see
:mod:`hookseal._keycache`). Tests replace these with a fetcher of their own (see
:func:`hookseal.testing.fetch_from`); the host checks the schemes make come before any fetcher.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.error import HTTPError

from ..errors import ConfigurationError

__all__ = ["MAX_KEY_BYTES", "https_get", "https_post_json"]

MAX_KEY_BYTES = 65_536
"""A certificate or a JWK is a few kilobytes; more is not a key."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError for the 3xx: a failed fetch


def _opener() -> urllib.request.OpenerDirector:
    context = ssl.create_default_context()
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect)


def _read(request: urllib.request.Request, timeout: float) -> bytes:
    if not request.full_url.startswith("https://"):
        raise ConfigurationError("the production fetchers speak https only")
    try:
        with _opener().open(request, timeout=timeout) as response:
            data: bytes = response.read(MAX_KEY_BYTES + 1)
    except HTTPError as exc:
        exc.close()
        raise OSError(f"HTTP {exc.code}") from None
    if len(data) > MAX_KEY_BYTES:
        raise OSError("the key document is too large")
    return data


def https_get(url: str, *, timeout: float = 5.0) -> bytes:
    """GET ``url`` (https) and return the body; raises OSError (or ValueError) on failure."""
    return _read(urllib.request.Request(url, method="GET"), timeout)  # noqa: S310 - https only


def https_post_json(
    url: str, document: Mapping[str, Any], *, timeout: float = 5.0
) -> dict[str, Any]:
    """POST ``document`` as JSON to ``url`` (https) and return the JSON object answered."""
    request = urllib.request.Request(  # noqa: S310 - _read() refuses all but https
        url,
        data=json.dumps(dict(document)).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    found = json.loads(_read(request, timeout))
    if not isinstance(found, dict):
        raise ValueError("the answer is not a JSON object")
    return found
