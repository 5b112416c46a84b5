"""The retail API's ``get-webhook-signatures``, imitated from ``retail-get-webhook-signatures.txt``.

``GET /internal/get-webhook-signatures?chain_id=&exclude_inactive=`` with an admin session
(``X-Spaaza-Session-User-Id`` and ``X-Spaaza-Session-Key``, as Spaaza's authentication page
describes). Answers the documented envelope with integer ids; errors are the API's error
envelope with the documented codes: 3 ``http_vars_missing`` (400), 6 ``no_valid_session``
(401), 68 ``permission_denied_or_non_existent`` (403), 76 ``chain_id_invalid`` (400).
Deleted keys stay listed with ``"deleted": true`` (the field exists for a reason); a test moves
keys through active, inactive and deleted with the methods below.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ._server import Answer, Received

PATH = "/internal/get-webhook-signatures"
ERRORS = {
    "http_vars_missing": (3, 400, "Required parameter chain_id is missing"),
    "no_valid_session": (6, 401, "No valid session key provided or session has expired"),
    "permission_denied_or_non_existent": (
        68,
        403,
        "User has insufficient permissions or the chain does not exist",
    ),
    "chain_id_invalid": (76, 400, "The chain_id passed must be an integer"),
}


@dataclass
class _Key:
    id: int
    chain_id: int
    value: str
    active: bool
    deleted: bool
    created: float
    modified: float


class RetailApi:
    """Chains, admin sessions and signature keys, behind the documented endpoint."""

    def __init__(self, clock: Callable[[], float] = time.time, first_id: int = 56) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._chains: dict[int, str] = {}
        self._sessions: dict[str, tuple[str, frozenset[int]]] = {}
        self._keys: list[_Key] = []
        self._next_id = first_id

    # -- set-up and changes, as the provider's console would make them ------------------------

    def add_chain(self, chain_id: int, name: str) -> None:
        with self._lock:
            self._chains[chain_id] = name

    def add_session(self, user_id: str, session_key: str, chains: set[int]) -> None:
        """An admin user logged in, with read access to ``chains``."""
        with self._lock:
            self._sessions[user_id] = (session_key, frozenset(chains))

    def add_key(self, chain_id: int, value: str | None = None, *, active: bool = True) -> int:
        """A new signature key (32 hex characters unless given); returns its id."""
        now = self._clock()
        with self._lock:
            key = _Key(
                self._next_id,
                chain_id,
                value if value is not None else secrets.token_hex(16),
                active,
                False,
                now,
                now,
            )
            self._next_id += 1
            self._keys.append(key)
            return key.id

    def set_active(self, key_id: int, active: bool) -> None:
        self._change(key_id, active=active)

    def delete_key(self, key_id: int) -> None:
        self._change(key_id, deleted=True)

    def signing_values(self, chain_id: int) -> list[str]:
        """The values of the keys the provider may sign with (active, not deleted)."""
        with self._lock:
            return [
                k.value for k in self._keys if k.chain_id == chain_id and k.active and not k.deleted
            ]

    def _change(self, key_id: int, **fields: bool) -> None:
        with self._lock:
            key = next(k for k in self._keys if k.id == key_id)
            for name, value in fields.items():
                setattr(key, name, value)
            key.modified = self._clock()

    # -- the endpoint -------------------------------------------------------------------------

    def route(self, request: Received) -> Answer:
        if request.path != PATH:
            return Answer(404, b"", content_type="text/plain")
        if request.method != "GET":
            return Answer(405, b"", content_type="text/plain")
        with self._lock:
            session = self._sessions.get(request.headers.get("x-spaaza-session-user-id", ""))
            if session is None or not secrets.compare_digest(
                session[0].encode(), request.headers.get("x-spaaza-session-key", "").encode()
            ):
                return _error("no_valid_session")
            raw_chain = request.param("chain_id")
            if raw_chain is None or raw_chain == "":
                return _error("http_vars_missing")
            if not (raw_chain.isascii() and raw_chain.isdigit()):
                return _error("chain_id_invalid")
            chain_id = int(raw_chain)
            if chain_id not in self._chains or chain_id not in session[1]:
                return _error("permission_denied_or_non_existent")
            only_active = request.param("exclude_inactive") in ("true", "1")
            keys = [
                k for k in self._keys if k.chain_id == chain_id and (k.active or not only_active)
            ]
            document = {
                "result": {"code": 1, "status": "ok"},
                "results": {
                    "webhook_signatures": [self._render(k) for k in keys],
                    "result_type": "get-webhook-signatures",
                },
            }
        return Answer(200, json.dumps(document, indent=4).encode())

    def _render(self, key: _Key) -> dict[str, object]:
        return {
            "active": key.active,
            "chain": {"id": key.chain_id, "name": self._chains[key.chain_id]},
            "created_date": _time(key.created),
            "deleted": key.deleted,
            "id": key.id,
            "last_modified_date": _time(key.modified),
            "value": key.value,
        }


def error_body(name: str) -> bytes:
    code, _, description = ERRORS[name]
    return json.dumps(
        {
            "result": {"code": 2, "status": "error"},
            "error": {"code": code, "name": name, "description": description},
        }
    ).encode()


def _error(name: str) -> Answer:
    return Answer(ERRORS[name][1], error_body(name))


def _time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).isoformat()
