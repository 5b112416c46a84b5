"""The payments API's webhook secrets, imitated from ``payments-list-webhook-secrets.txt`` and
``payments-delete-webhook-secret.txt``.

HTTP Basic with the secret key as the user name (``-u skey_test_...:``); a public key, an
unknown key or no header is 401 ``authentication_failure``. A test key sees test-mode secrets
only, a live key live ones ("belongs to a different account" is a 404 like any unknown id).

- ``GET /webhooks/secrets``: ``limit`` 1 to 100 (default 20), ``offset`` >= 0 (default 0),
  ``order`` ``chronological`` | ``reverse_chronological``; a bad limit or offset is 400
  ``invalid_parameters``, a bad order 400 ``bad_request``. Never a value.
- ``DELETE /webhooks/secrets/{id}``: 400 ``bad_request`` unless the id starts with ``whsec_``,
  404 ``not_found`` for an unknown or already deleted one, else gone for good.
- ``POST /webhooks/secrets``: not documented on these pages; answers as the client's adapter
  expects (a ``webhook_secret`` object with the value, once, in ``secret``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._server import Answer, Received

PATH = "/webhooks/secrets"
_ALPHABET = string.ascii_lowercase + string.digits
_LOCATION = "https://www.omise.co/api-errors#"


@dataclass
class _Secret:
    id: str
    value: str
    livemode: bool
    created: float


class PaymentsApi:
    """Secret keys and webhook secrets of one account, behind the documented endpoints."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, bool] = {}
        self._secrets: list[_Secret] = []

    # -- set-up and changes -------------------------------------------------------------------

    def add_key(self, secret_key: str) -> None:
        """Accept this secret key; its mode comes from its prefix, as the provider's keys do."""
        with self._lock:
            self._keys[secret_key] = not secret_key.startswith("skey_test_")

    def add_secret(self, *, livemode: bool = False, value: str | None = None) -> tuple[str, str]:
        """A secret created in the dashboard: returns ``(id, value)``."""
        with self._lock:
            created = self._create(livemode, value)
            return created.id, created.value

    def signing_values(self, livemode: bool = False) -> list[str]:
        with self._lock:
            return [s.value for s in self._secrets if s.livemode == livemode]

    def ids(self, livemode: bool = False) -> list[str]:
        with self._lock:
            return [s.id for s in self._secrets if s.livemode == livemode]

    def _create(self, livemode: bool, value: str | None) -> _Secret:
        suffix = "".join(secrets.choice(_ALPHABET) for _ in range(19))
        secret = _Secret(
            ("whsec_" if livemode else "whsec_test_") + suffix,
            value if value is not None else secrets.token_urlsafe(32),
            livemode,
            self._clock(),
        )
        self._secrets.append(secret)
        return secret

    # -- the endpoints ------------------------------------------------------------------------

    def route(self, request: Received) -> Answer:
        with self._lock:
            livemode = self._mode(request.headers.get("authorization", ""))
            if livemode is None:
                return _error(401, "authentication_failure", "authentication failed")
            if request.path == PATH and request.method == "GET":
                return self._list(request, livemode)
            if request.path == PATH and request.method == "POST":
                return self._create_answer(livemode)
            if request.path.startswith(PATH + "/") and request.method == "DELETE":
                return self._delete(request.path[len(PATH) + 1 :], livemode)
        return _error(404, "not_found", "the requested resource was not found")

    def _mode(self, authorization: str) -> bool | None:
        if not authorization.startswith("Basic "):
            return None
        try:
            decoded = base64.b64decode(authorization[6:], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        key, _, _password = decoded.partition(":")
        return self._keys.get(key)

    def _list(self, request: Received, livemode: bool) -> Answer:
        limit = _integer(request.param("limit"), 20)
        offset = _integer(request.param("offset"), 0)
        order = request.param("order") or "chronological"
        if limit is None or not 1 <= limit <= 100 or offset is None or offset < 0:
            return _error(400, "invalid_parameters", "invalid pagination parameters")
        if order not in ("chronological", "reverse_chronological"):
            return _error(400, "bad_request", "order is invalid")
        mine = [s for s in self._secrets if s.livemode == livemode]
        if order == "reverse_chronological":
            mine.reverse()
        document = {
            "object": "list",
            "data": [_render(s) for s in mine[offset : offset + limit]],
            "limit": limit,
            "offset": offset,
            "total": len(mine),
            "order": order,
        }
        return Answer(200, json.dumps(document).encode())

    def _delete(self, secret_id: str, livemode: bool) -> Answer:
        if not secret_id.startswith("whsec_"):
            return _error(400, "bad_request", "webhook secret id format is invalid")
        found = next(
            (s for s in self._secrets if s.id == secret_id and s.livemode == livemode), None
        )
        if found is None:
            return _error(404, "not_found", f"webhook secret {secret_id} was not found")
        self._secrets.remove(found)
        document = {
            "object": "webhook_secret",
            "id": found.id,
            "deleted": True,
            "livemode": found.livemode,
        }
        return Answer(200, json.dumps(document).encode())

    def _create_answer(self, livemode: bool) -> Answer:
        created = self._create(livemode, None)
        document = {**_render(created), "secret": created.value}
        return Answer(200, json.dumps(document).encode())


def _render(secret: _Secret) -> dict[str, Any]:
    return {
        "object": "webhook_secret",
        "id": secret.id,
        "livemode": secret.livemode,
        "created_at": _time(secret.created),
    }


def _integer(raw: str | None, default: int) -> int | None:
    if raw is None:
        return default
    text = raw.lstrip("-")
    if not (text.isascii() and text.isdigit()):
        return None
    return int(raw)


def _error(status: int, code: str, message: str) -> Answer:
    body = {
        "object": "error",
        "location": _LOCATION + code.replace("_", "-"),
        "code": code,
        "message": message,
    }
    return Answer(status, json.dumps(body).encode())


def _time(epoch: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
