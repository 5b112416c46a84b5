"""FastAPI receiving signed webhooks, verified by hookseal before any route runs.

    .venv/bin/python examples/fastapi_app.py   # uvicorn on http://127.0.0.1:8000 (PORT to change)

Secrets come from HOOKSEAL_SECRETS (comma separated, several while rotating); without it the
example uses the development secret ``dev-secret-change-me``. Routes:

- ``POST /webhooks/events/{topic}``: guarded by the middleware (``Signature`` header); echoes
  the SHA-256 of the body it received and the id of the secret that matched.
- ``POST /webhooks/events/{topic}/stream?lines=N``: the same, as a streaming response.
- ``POST /webhooks/stripe``: guarded by the ``VerifiedWebhook`` dependency (Stripe format).
- ``GET /healthz``: unguarded; how many deliveries reached the routes.

Sign a delivery with ``.venv/bin/hookseal sign`` or ``hookseal.testing.signed_request``.
"""

# No ``from __future__ import annotations`` here: FastAPI must resolve the Annotated
# dependency below at run time, and it refers to a local variable.
import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import StreamingResponse

from hookseal import Verified
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.integrations.fastapi import VerifiedWebhook
from hookseal.secrets import SecretsLike

DEV_SECRET = "dev-secret-change-me"


def secrets_from_env() -> list[str]:
    """HOOKSEAL_SECRETS split on commas, or the development secret."""
    found = [s.strip() for s in os.environ.get("HOOKSEAL_SECRETS", "").split(",") if s.strip()]
    return found or [DEV_SECRET]


def create_app(secrets: SecretsLike | None = None, *, leeway: float = 60.0) -> FastAPI:
    """The example app; tests and the demo build their own with known secrets (or a Keyring)."""
    keys: SecretsLike = secrets if secrets is not None else secrets_from_env()
    app = FastAPI(title="hookseal FastAPI example")
    app.state.deliveries = 0
    app.add_middleware(
        WebhookVerificationMiddleware, secrets=keys, paths=["/webhooks/events"], leeway=leeway
    )
    stripe = VerifiedWebhook(keys, scheme="stripe", leeway=leeway)

    async def echo(request: Request, verified: Verified, **extra: Any) -> dict[str, Any]:
        request.app.state.deliveries += 1  # counted before reading: any call of the app shows
        body = await request.body()  # the same raw bytes hookseal verified
        return {
            "sha256": hashlib.sha256(body).hexdigest(),
            "length": len(body),
            "secret_id": verified.secret_id,
            "scheme": verified.scheme,
            **extra,
        }

    @app.post("/webhooks/events/{topic}")
    async def event(topic: str, request: Request) -> dict[str, Any]:
        return await echo(request, request.state.hookseal, topic=topic)

    @app.post("/webhooks/events/{topic}/stream")
    async def event_stream(topic: str, request: Request, lines: int = 3) -> StreamingResponse:
        summary = await echo(request, request.state.hookseal, topic=topic)

        async def produce() -> AsyncIterator[bytes]:
            for number in range(max(0, min(lines, 1000))):
                yield f"{number} {summary['sha256']}\n".encode()
                await asyncio.sleep(0)

        return StreamingResponse(produce(), media_type="text/plain")

    @app.post("/webhooks/stripe")
    async def stripe_event(
        request: Request, verified: Annotated[Verified, Depends(stripe)]
    ) -> dict[str, Any]:
        return await echo(request, verified, timestamp=verified.timestamp)

    @app.get("/healthz")
    async def healthz(request: Request) -> dict[str, Any]:
        return {"ok": True, "deliveries": request.app.state.deliveries}

    return app


app = create_app()

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
