"""The billing API's ``POST /webhooks/list``, imitated from ``billing-list-webhook-endpoints.txt``.

Bearer auth (401 ``UNAUTHENTICATED`` without a known token, 403 ``PERMISSION_DENIED`` for a
token without the right to list webhooks); the request body ``{"pagination": {"page_size",
"next_page_token"?}}`` is validated (400 ``VALIDATION`` with ``context.constraints`` keyed by
field); pages are keyset pages whose token is base64 of ``{"LastID": "<uuid>"}``, the shape
of the page's own example token, and empty on the last page. Endpoints hold their secrets
(never listed) and carry ``rotate_at`` while a rotation is in progress; once ``rotate_at`` has
passed, the rotation is over and the previous secret is gone.

Not documented, chosen here: ``page_size`` from 1 to 100.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._server import Answer, Received

PATH = "/webhooks/list"
MAX_PAGE_SIZE = 100


@dataclass
class _Endpoint:
    uuid: str
    url: str
    name: str
    current: str
    created: float
    updated: float
    previous: str | None = None
    rotate_at: float | None = None
    status: str = "ACTIVE"
    event_types: list[str] = field(default_factory=lambda: ["INVOICE_CREATED"])

    @property
    def id(self) -> str:
        return f"wep_{self.uuid}"


class BillingApi:
    """Tokens and webhook endpoints, behind the documented listing."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, bool] = {}
        self._endpoints: list[_Endpoint] = []

    # -- set-up and changes -------------------------------------------------------------------

    def add_token(self, token: str, *, may_list: bool = True) -> None:
        with self._lock:
            self._tokens[token] = may_list

    def add_endpoint(self, url: str, secret: str | None = None, *, name: str = "endpoint") -> str:
        now = self._clock()
        with self._lock:
            endpoint = _Endpoint(
                str(uuid.uuid4()), url, name, secret or secrets.token_urlsafe(24), now, now
            )
            self._endpoints.append(endpoint)
            return endpoint.id

    def start_rotation(self, endpoint_id: str, new_secret: str, rotate_at: float) -> None:
        """The provider's rotation: the new secret signs from now on, the old one verifies
        until ``rotate_at``."""
        with self._lock:
            endpoint = self._find(endpoint_id)
            endpoint.previous, endpoint.current = endpoint.current, new_secret
            endpoint.rotate_at = rotate_at
            endpoint.updated = self._clock()

    def signing_value(self, endpoint_id: str) -> str:
        with self._lock:
            return self._find(endpoint_id).current

    def _find(self, endpoint_id: str) -> _Endpoint:
        return next(e for e in self._endpoints if e.id == endpoint_id)

    # -- the endpoint -------------------------------------------------------------------------

    def route(self, request: Received) -> Answer:
        if request.path != PATH:
            return Answer(404, b"", content_type="text/plain")
        if request.method != "POST":
            return Answer(405, b"", content_type="text/plain")
        auth = request.headers.get("authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        with self._lock:
            if token is None or token not in self._tokens:
                return _error(401, "UNAUTHENTICATED", "Credentials are invalid or missing")
            if not self._tokens[token]:
                return _error(403, "PERMISSION_DENIED", "Permission denied")
            problems, size, after = self._validate(request.body)
            if problems:
                return _error(
                    400,
                    "VALIDATION",
                    "One or more fields failed validation due to constraints",
                    {"constraints": problems},
                )
            self._end_finished_rotations()
            return self._page(size, after)

    def _validate(self, body: bytes) -> tuple[dict[str, Any], int, str | None]:
        try:
            document = json.loads(body)
        except ValueError:
            return {"body": _constraint("TYPE", "The body must be a JSON object")}, 0, None
        pagination = document.get("pagination") if isinstance(document, dict) else None
        if not isinstance(pagination, dict):
            return (
                {"pagination": _constraint("REQUIRED", "The 'pagination' field is required")},
                0,
                None,
            )
        problems: dict[str, Any] = {}
        size = pagination.get("page_size")
        if size is None:
            problems["pagination.page_size"] = _constraint("REQUIRED", "page_size is required")
        elif isinstance(size, bool) or not isinstance(size, int):
            problems["pagination.page_size"] = _constraint("TYPE", "page_size must be an integer")
        elif size < 1:
            problems["pagination.page_size"] = _constraint("MIN", "page_size must be at least 1")
        elif size > MAX_PAGE_SIZE:
            problems["pagination.page_size"] = _constraint(
                "MAX", f"page_size must be at most {MAX_PAGE_SIZE}"
            )
        after = self._last_id(pagination.get("next_page_token"))
        if after is False:
            problems["pagination.next_page_token"] = _constraint("TYPE", "invalid page token")
        return (
            problems,
            size if isinstance(size, int) else 0,
            after if isinstance(after, str) else None,
        )

    def _last_id(self, token: Any) -> str | bool | None:
        """The uuid a token points after; None for no token, False for a bad one."""
        if token is None or token == "":
            return None
        if not isinstance(token, str):
            return False
        try:
            decoded = json.loads(base64.b64decode(token, validate=True))
        except (binascii.Error, ValueError):
            return False
        last = decoded.get("LastID") if isinstance(decoded, dict) else None
        if not isinstance(last, str) or not any(e.uuid == last for e in self._endpoints):
            return False
        return last

    def _page(self, size: int, after: str | None) -> Answer:
        start = 0
        if after is not None:
            start = next(n for n, e in enumerate(self._endpoints) if e.uuid == after) + 1
        chosen = self._endpoints[start : start + size]
        more = start + size < len(self._endpoints)
        token = _token(chosen[-1].uuid) if more and chosen else ""
        document = {
            "items": [_render(e) for e in chosen],
            "pagination": {"page_size": len(chosen), "next_page_token": token},
        }
        return Answer(200, json.dumps(document).encode())

    def _end_finished_rotations(self) -> None:
        now = self._clock()
        for endpoint in self._endpoints:
            if endpoint.rotate_at is not None and endpoint.rotate_at <= now:
                endpoint.previous = endpoint.rotate_at = None


def _render(endpoint: _Endpoint) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": endpoint.id,
        "name": endpoint.name,
        "description": f"{endpoint.name} (imitation)",
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "status": endpoint.status,
        "created_at": _time(endpoint.created),
        "updated_at": _time(endpoint.updated),
    }
    if endpoint.rotate_at is not None:
        item["rotate_at"] = _time(endpoint.rotate_at)
    return item


def _token(last_uuid: str) -> str:
    return base64.b64encode(
        json.dumps({"LastID": last_uuid}, separators=(",", ":")).encode()
    ).decode()


def _constraint(kind: str, message: str) -> dict[str, str]:
    return {"type": kind, "message": message}


def _error(status: int, code: str, message: str, context: Any = None) -> Answer:
    body: dict[str, Any] = {"code": code, "message": message}
    if context is not None:
        body["context"] = context
    return Answer(status, json.dumps(body).encode())


def _time(epoch: float) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
