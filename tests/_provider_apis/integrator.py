"""The integrator API's webhook secret, imitated from ``integrator-update-webhook-secret.txt``.

``PUT /v1/integrator/webhook-secret`` with ``{"secret": "..."}`` sets the secret; errors are
RFC 7807 problem documents (``application/problem+json``): 401 with ``realm`` and ``scope``
(no token, an unknown token, or one without the scope), 404 with ``resourceType`` and
``resourceId`` (the token's integrator is gone), 500. :meth:`IntegratorApi.deliver` sends a
webhook as the provider does: HMAC SHA256 of the exact body, hex, in ``Signature``, and no
``Signature`` header at all while no secret is set.

Not documented, chosen here: bearer tokens with scope ``webhooks:write``; a secret shorter than
1 character (or not a string) is a 400 problem document.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.error
import urllib.request
from typing import Any

from ._server import Answer, Received

PATH = "/v1/integrator/webhook-secret"
REALM = "integrator"
SCOPE = "webhooks:write"
PROBLEM = "application/problem+json"


class IntegratorApi:
    """Integrators, their tokens and their one webhook secret each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, frozenset[str]]] = {}
        self._secrets: dict[str, str | None] = {}

    def add_integrator(self, integrator_id: str) -> None:
        with self._lock:
            self._secrets[integrator_id] = None

    def remove_integrator(self, integrator_id: str) -> None:
        with self._lock:
            del self._secrets[integrator_id]

    def add_token(self, token: str, integrator_id: str, scopes: set[str] | None = None) -> None:
        with self._lock:
            self._tokens[token] = (integrator_id, frozenset({SCOPE} if scopes is None else scopes))

    def secret(self, integrator_id: str) -> str | None:
        with self._lock:
            return self._secrets.get(integrator_id)

    def deliver(self, integrator_id: str, url: str, body: bytes) -> tuple[int, bytes]:
        """POST ``body`` to ``url`` as the provider would; returns the status and the body."""
        secret = self.secret(integrator_id)
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers["Signature"] = digest
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return int(response.status), response.read()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read()

    # -- the endpoint -------------------------------------------------------------------------

    def route(self, request: Received) -> Answer:
        if request.path != PATH:
            return _problem(
                404, "Not Found", "no such resource", resourceType="path", resourceId=request.path
            )
        if request.method != "PUT":
            return _problem(405, "Method Not Allowed", "use PUT")
        auth = request.headers.get("authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        with self._lock:
            grant = self._tokens.get(token)
            if grant is None or SCOPE not in grant[1]:
                return _problem(
                    401,
                    "Unauthorized",
                    "a bearer token with the required scope is needed",
                    realm=REALM,
                    scope=SCOPE,
                )
            integrator_id = grant[0]
            if integrator_id not in self._secrets:
                return _problem(
                    404,
                    "Not Found",
                    "the integrator of this token does not exist",
                    resourceType="integrator",
                    resourceId=integrator_id,
                )
            secret = _secret(request.body)
            if secret is None:
                return _problem(
                    400, "Bad Request", "secret must be a string of at least 1 character"
                )
            self._secrets[integrator_id] = secret
        return Answer(200, b"", content_type="")


def _secret(body: bytes) -> str | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    secret = document.get("secret") if isinstance(document, dict) else None
    return secret if isinstance(secret, str) and len(secret) >= 1 else None


def _problem(status: int, title: str, detail: str, **extra: Any) -> Answer:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": PATH,
        **extra,
    }
    return Answer(status, json.dumps(body).encode(), content_type=PROBLEM)
