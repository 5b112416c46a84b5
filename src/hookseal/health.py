"""Readiness for Kubernetes probes: ready when a usable secret set is held.

A replica that cannot verify anything (a cold keyring, a source down past ``max_stale``, a
set whose every secret has expired) answers 503 to every delivery; its readiness probe should
fail too, so the load balancer sends deliveries to a replica that can verify them. The check
never waits for a fetch: a probe must answer at once.

    from starlette.routing import Route
    routes = [Route("/readyz", ReadinessEndpoint(keyring))]     # Starlette: an ASGI endpoint
    flask_app.wsgi_app = DispatcherMiddleware(app, {"/readyz": readiness_wsgi_app(keyring)})

``readinessProbe: {httpGet: {path: /readyz, port: 8000}, periodSeconds: 5}``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, VerificationError
from .secrets import SecretProvider, SecretsLike, as_provider

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

__all__ = ["Readiness", "ReadinessEndpoint", "readiness", "readiness_wsgi_app"]


@dataclass(frozen=True)
class Readiness:
    """The answer: ``ready``, and ``reason`` when not; how many secrets verify now and the
    age of the set in seconds (None for a static set or before the first fetch)."""

    ready: bool
    reason: str = ""
    valid_secrets: int = 0
    snapshot_age: float | None = None

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, separators=(",", ":")).encode()


def readiness(secrets: SecretsLike, *, clock: Callable[[], float] = time.time) -> Readiness:
    """Whether ``secrets`` (a Keyring, a SecretSet...) holds a secret valid now, without
    waiting for any fetch."""
    provider: SecretProvider = as_provider(secrets)
    age: float | None = None
    stats = getattr(provider, "stats", None)
    if callable(stats):
        age = getattr(stats(), "snapshot_age", None)
        if age is None:
            return Readiness(False, "no secret set fetched yet")
        max_stale = getattr(provider, "max_stale", None)
        if isinstance(max_stale, (int, float)) and age > max_stale:
            return Readiness(False, "the secret set is older than max_stale", 0, age)
    try:
        held = provider.secret_set()
    except VerificationError as exc:
        return Readiness(False, exc.code, 0, age)
    valid = len(held.candidates(clock(), 0.0))
    if not valid:
        return Readiness(False, "no secret is valid now", 0, age)
    return Readiness(True, "", valid, age)


class ReadinessEndpoint:
    """An ASGI app answering any GET or HEAD with 200 (ready) or 503 (not) and a small JSON
    body (counts and a reason, never an id or a value)."""

    def __init__(self, secrets: SecretsLike, *, clock: Callable[[], float] = time.time) -> None:
        self.secrets = as_provider(secrets)
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            raise ConfigurationError("ReadinessEndpoint serves http only")
        status, headers, body = _answer(self.secrets, self._clock, scope.get("method", "GET"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def readiness_wsgi_app(
    secrets: SecretsLike, *, clock: Callable[[], float] = time.time
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The same endpoint as a WSGI app."""
    provider = as_provider(secrets)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        status, headers, body = _answer(provider, clock, environ.get("REQUEST_METHOD", "GET"))
        phrase = "200 OK" if status == 200 else "503 Service Unavailable"
        start_response(phrase, [(k.decode(), v.decode()) for k, v in headers])
        return [body]

    return app


def _answer(
    provider: SecretProvider, clock: Callable[[], float], method: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    if method not in ("GET", "HEAD"):
        return 405, [(b"allow", b"GET, HEAD"), (b"content-length", b"0")], b""
    result = readiness(provider, clock=clock)
    body = result.to_json() if method == "GET" else b""
    headers = [
        (b"content-type", b"application/json"),
        (b"cache-control", b"no-store"),
        (b"content-length", str(len(body)).encode()),
    ]
    return (200 if result.ready else 503), headers, body
