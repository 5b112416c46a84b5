"""A Flask app that only accepts signed webhooks on /webhooks/...

Run it (from the repository root):

    HOOKSEAL_SECRETS=s3cr3t .venv/bin/python examples/flask_app.py   # http://127.0.0.1:8000

Without HOOKSEAL_SECRETS it uses the development secret below (never use it in production).
Several secrets, comma separated, are all accepted, as during a rotation:
HOOKSEAL_SECRETS=new-secret,old-secret. HOOKSEAL_SCHEME picks the header format (default
"signature"; also github, standard, stripe, slack, shopify).

Each webhook answers with the SHA-256 of the body the view received and the id of the secret
that matched, so a sender can see the body arrived intact. Try it:

    python -c "from hookseal.testing import signed_request; import httpx; \
b, h = signed_request({'event': 'paid'}, 's3cr3t'); \
print(httpx.post('http://127.0.0.1:8000/webhooks/billing', content=b, headers=h).json())"
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from flask import Flask, g, request

from hookseal.integrations.flask import HookSeal

DEV_SECRET = "dev-secret-change-me"
"""Used only when HOOKSEAL_SECRETS is not set, so the example runs with no set-up."""


def secrets_from_env() -> list[str]:
    """The secrets from HOOKSEAL_SECRETS (comma separated), or the development secret."""
    raw = os.environ.get("HOOKSEAL_SECRETS", DEV_SECRET)
    return [part.strip() for part in raw.split(",") if part.strip()]


def create_app(secrets: list[str] | None = None) -> Flask:
    """The example app; every path under /webhooks must carry a valid signature."""
    app = Flask(__name__)
    app.config.update(
        HOOKSEAL_SECRETS=secrets if secrets is not None else secrets_from_env(),
        HOOKSEAL_SCHEME=os.environ.get("HOOKSEAL_SCHEME", "signature"),
        HOOKSEAL_PATHS=["/webhooks"],
        HOOKSEAL_MAX_BODY_SIZE=int(os.environ.get("HOOKSEAL_MAX_BODY_SIZE", 1 << 20)),
    )
    HookSeal(app)

    @app.post("/webhooks/<source>")
    def receive(source: str) -> dict[str, Any]:
        body = request.get_data()
        return {
            "source": source,
            "sha256": hashlib.sha256(body).hexdigest(),
            "length": len(body),
            "secret_id": g.hookseal.secret_id,
            "scheme": g.hookseal.scheme,
        }

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


app = create_app()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")), threaded=True)
