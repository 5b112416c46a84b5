"""Starlette receiving signed webhooks, verified by hookseal's pure ASGI middleware.

    .venv/bin/python examples/starlette_app.py   # uvicorn on http://127.0.0.1:8000 (PORT to change)

Secrets come from HOOKSEAL_SECRETS (comma separated, several while rotating); without it the
example uses the development secret ``dev-secret-change-me``. ``POST /webhooks/{topic}`` is
guarded (``Signature`` header) and echoes the SHA-256 of the body it received and the id of
the secret that matched; ``GET /healthz`` is not guarded.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hookseal.asgi import WebhookVerificationMiddleware

DEV_SECRET = "dev-secret-change-me"


def secrets_from_env() -> list[str]:
    """HOOKSEAL_SECRETS split on commas, or the development secret."""
    found = [s.strip() for s in os.environ.get("HOOKSEAL_SECRETS", "").split(",") if s.strip()]
    return found or [DEV_SECRET]


async def webhook(request: Request) -> JSONResponse:
    request.app.state.deliveries += 1  # counted before reading: any call of the app shows
    body = await request.body()  # the same raw bytes the middleware verified
    return JSONResponse(
        {
            "topic": request.path_params["topic"],
            "sha256": hashlib.sha256(body).hexdigest(),
            "length": len(body),
            "secret_id": request.state.hookseal.secret_id,
        }
    )


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True, "deliveries": request.app.state.deliveries})


def create_app(secrets: Sequence[str] | None = None) -> Starlette:
    """The example app; tests build their own with known secrets."""
    keys = list(secrets) if secrets else secrets_from_env()
    app = Starlette(
        routes=[
            Route("/webhooks/{topic}", webhook, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )
    app.state.deliveries = 0
    app.add_middleware(WebhookVerificationMiddleware, secrets=keys, paths=["/webhooks"])
    return app


app = create_app()

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
