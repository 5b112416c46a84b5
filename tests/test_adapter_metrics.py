"""Refusals the adapters make before the verifier runs are counted by the verifier's observer:
a Content-Length over the limit (413), a body past its deadline (408), a body cut short (400),
a trusted proxy's malformed Forwarded header (400); the verifier's own refusals are counted
once, not twice. ASGI, WSGI, FastAPI, Flask here; Django's decorator in
tests/integrations/test_django_metrics.py."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Depends, FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from hookseal import Verifier, sign
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.integrations.fastapi import VerifiedWebhook
from hookseal.integrations.flask import HookSeal
from hookseal.metrics import Metrics
from hookseal.testing import ManualClock
from hookseal.wsgi import WebhookVerificationMiddleware as WSGIMiddleware

SECRET = "metrics-adapter-secret"
BODY = b'{"event":"counted"}'
LIMIT = 64


class Observer:
    """An observer that keeps what it was told."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.accepted = 0

    def verified(self, scheme: str, secret_id: str) -> None:
        self.accepted += 1

    def refused(self, scheme: str, code: str) -> None:
        self.codes.append(code)


def observed(scheme: str = "signature") -> tuple[Verifier, Observer]:
    observer = Observer()
    return Verifier(SECRET, scheme=scheme, observer=observer), observer


# -- ASGI ------------------------------------------------------------------------------------------


def run_asgi(
    app: Any,
    headers: list[tuple[bytes, bytes]],
    chunks: Sequence[bytes | None],
    *,
    client: str = "10.0.0.1",
    on_receive: Callable[[], None] = lambda: None,
) -> int:
    """Drive ``app`` with one request whose body comes as ``chunks`` (None: a disconnect)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/hooks",
        "raw_path": b"/hooks",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"app.internal"), *headers],
        "client": (client, 5000),
        "server": ("app.internal", 80),
    }
    pending = list(chunks)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        on_receive()
        if not pending:
            await asyncio.sleep(3600)
        chunk = pending.pop(0)
        if chunk is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    return int(starts[0]["status"]) if starts else 0


async def ok(request: Any) -> PlainTextResponse:
    return PlainTextResponse("ok")


def starlette() -> Starlette:
    return Starlette(routes=[Route("/hooks", ok, methods=["POST"])])


def signed_headers(body: bytes = BODY, secret: str = SECRET) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in sign(body, secret).items()]


def length(n: int) -> tuple[bytes, bytes]:
    return (b"content-length", str(n).encode())


def test_asgi_counts_its_own_refusals_once_each() -> None:
    verifier, observer = observed()
    clock = ManualClock(0)
    app = WebhookVerificationMiddleware(
        starlette(), verifier=verifier, max_body_size=LIMIT, body_timeout=5, monotonic=clock
    )
    assert run_asgi(app, [*signed_headers(), length(LIMIT + 1)], [b"x"]) == 413
    assert run_asgi(app, [*signed_headers(), length(len(BODY) + 5)], [BODY]) == 400
    assert run_asgi(app, [*signed_headers(), length(len(BODY))], [BODY[:3], None]) == 0
    drip = [BODY[:5], BODY[5:10], BODY[10:]]
    assert run_asgi(app, signed_headers(), drip, on_receive=lambda: clock.advance(3)) == 408
    assert run_asgi(app, signed_headers(BODY, "wrong"), [BODY]) == 401  # the verifier's
    assert run_asgi(app, signed_headers(), [BODY]) == 200
    assert observer.codes == [
        "payload_too_large",
        "incomplete_body",
        "incomplete_body",
        "body_timeout",
        "signature_mismatch",
    ]
    assert observer.accepted == 1


def test_asgi_counts_a_trusted_proxys_malformed_forwarded_header() -> None:
    verifier, observer = observed("twilio")
    app = WebhookVerificationMiddleware(starlette(), verifier=verifier, trusted_proxies="10.0.0.1")
    headers = [(b"forwarded", b"for;proto"), (b"x-twilio-signature", b"AAAA")]
    assert run_asgi(app, headers, [b""]) == 400
    assert run_asgi(app, headers, [b""], client="10.9.9.9") == 400  # not read: the verifier's
    assert observer.codes == ["malformed_header", "malformed_signature"]


def test_an_unobserved_adapter_counts_nothing_and_works() -> None:
    app = WebhookVerificationMiddleware(starlette(), secrets=SECRET, max_body_size=LIMIT)
    assert run_asgi(app, [*signed_headers(), length(LIMIT + 1)], [b"x"]) == 413


# -- WSGI and Flask --------------------------------------------------------------------------------


class DrippingInput(io.BytesIO):
    """A ``wsgi.input`` whose every read moves the clock (a slow sender)."""

    def __init__(self, body: bytes, clock: ManualClock) -> None:
        super().__init__(body)
        self.clock = clock

    def read1(self, size: int | None = -1) -> bytes:
        self.clock.advance(3)
        return super().read1(4 if size is None or size < 0 else min(size, 4))


def environ(body: bytes, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    made: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/hooks",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "app.internal",
        "SERVER_PORT": "80",
        "HTTP_HOST": "app.internal",
        "REMOTE_ADDR": "10.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        made["HTTP_" + name.upper().replace("-", "_")] = value
    made.update(extra)
    return made


def call_wsgi(app: Any, env: dict[str, Any]) -> int:
    statuses: list[str] = []
    result = app(env, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(result)
    getattr(result, "close", lambda: None)()
    return int(statuses[-1][:3])


def wsgi_ok(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


def test_wsgi_counts_its_own_refusals_once_each() -> None:
    verifier, observer = observed()
    clock = ManualClock(0)
    app = WSGIMiddleware(
        wsgi_ok, verifier=verifier, max_body_size=LIMIT, body_timeout=5, monotonic=clock
    )
    headers = sign(BODY, SECRET)
    assert call_wsgi(app, environ(BODY, headers, CONTENT_LENGTH=str(LIMIT + 1))) == 413
    assert call_wsgi(app, environ(BODY, headers, CONTENT_LENGTH=str(len(BODY) + 5))) == 400
    slow = environ(BODY, headers, **{"wsgi.input": DrippingInput(BODY, clock)})
    assert call_wsgi(app, slow) == 408
    assert call_wsgi(app, environ(BODY, sign(BODY, "wrong"))) == 401
    assert call_wsgi(app, environ(BODY, headers)) == 200
    assert observer.codes == [
        "payload_too_large",
        "incomplete_body",
        "body_timeout",
        "signature_mismatch",
    ]
    assert observer.accepted == 1

    twilio, counted = observed("twilio")
    proxied = WSGIMiddleware(wsgi_ok, verifier=twilio, trusted_proxies=["10.0.0.0/8"])
    bad = environ(b"", {"Forwarded": "proto=https;host", "X-Twilio-Signature": "AAAA"})
    assert call_wsgi(proxied, bad) == 400
    assert counted.codes == ["malformed_header"]


def test_flask_counts_its_own_refusals() -> None:
    verifier, observer = observed()
    app = Flask(__name__)
    seal = HookSeal(app)

    @app.post("/hooks")
    @seal.verify(verifier=verifier, max_body_size=LIMIT)
    def hook() -> str:
        return "ok"

    client = app.test_client()
    headers = sign(BODY, SECRET)
    assert client.post("/hooks", data=b"x" * (LIMIT + 1), headers=headers).status_code == 413
    assert client.post("/hooks", data=BODY, headers=sign(BODY, "wrong")).status_code == 401
    assert client.post("/hooks", data=BODY, headers=headers).status_code == 200
    assert observer.codes == ["payload_too_large", "signature_mismatch"]


# -- FastAPI ---------------------------------------------------------------------------------------


def test_fastapi_counts_its_own_refusals() -> None:
    verifier, observer = observed()
    clock = ManualClock(0)
    dependency = VerifiedWebhook(
        verifier=verifier, max_body_size=LIMIT, body_timeout=5, monotonic=clock
    )
    app = FastAPI()

    @app.post("/hooks", dependencies=[Depends(dependency)])
    async def hook() -> str:
        return "ok"

    assert run_asgi(app, [*signed_headers(), length(LIMIT + 1)], [b"x"]) == 413
    assert run_asgi(app, [*signed_headers(), length(len(BODY))], [BODY[:3], None]) == 400
    drip = [BODY[:5], BODY[5:10], BODY[10:]]
    assert run_asgi(app, signed_headers(), drip, on_receive=lambda: clock.advance(3)) == 408
    assert run_asgi(app, signed_headers(BODY, "wrong"), [BODY]) == 401
    assert observer.codes == [
        "payload_too_large",
        "incomplete_body",
        "body_timeout",
        "signature_mismatch",
    ]


def test_metrics_count_adapter_refusals_by_code() -> None:
    metrics = Metrics()
    verifier = Verifier(SECRET, observer=metrics)
    app = WebhookVerificationMiddleware(starlette(), verifier=verifier, max_body_size=LIMIT)
    assert run_asgi(app, [*signed_headers(), length(LIMIT + 1)], [b"x"]) == 413
    from prometheus_client import CollectorRegistry

    from hookseal.metrics import PrometheusExporter

    text = PrometheusExporter(metrics, registry=CollectorRegistry()).exposition().decode()
    assert 'hookseal_refusals_total{code="payload_too_large",scheme="signature"} 1.0' in text


def test_observed_verifiers_keep_the_one_pass_path_and_are_told_once() -> None:
    """An observed verifier of the default scheme keeps the adapters' one-pass path (it used
    to lose it, and with it most of the middleware's speed); what that path decides reaches
    the observer exactly once, in one chunk or several, in ASGI and WSGI alike."""
    verifier, observer = observed()
    assert verifier._lean is not None
    asgi = WebhookVerificationMiddleware(starlette(), verifier=verifier)
    assert asgi._lean is not None
    assert run_asgi(asgi, signed_headers(), [BODY]) == 200
    assert run_asgi(asgi, signed_headers(), [BODY[:4], BODY[4:9], BODY[9:]]) == 200
    assert run_asgi(asgi, signed_headers(BODY, "wrong"), [BODY]) == 401
    wsgi = WSGIMiddleware(wsgi_ok, verifier=verifier)
    assert call_wsgi(wsgi, environ(BODY, sign(BODY, SECRET))) == 200
    assert call_wsgi(wsgi, environ(BODY, sign(BODY, "wrong"))) == 401
    assert observer.accepted == 3
    assert observer.codes == ["signature_mismatch", "signature_mismatch"]
