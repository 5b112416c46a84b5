"""Post signed (and deliberately bad) webhook deliveries to a running example app.

    python examples/fastapi_app.py &                     # or starlette_app.py, flask_app.py ...
    python examples/send.py --url http://127.0.0.1:8000/webhooks/events/invoice --secret-env S
    python examples/send.py --url ... --scheme stripe --kind stale

Each kind is what a provider (or an attacker) might send: ``valid`` is signed with the secret,
``unsigned`` has no signature header, ``forged`` is signed with a secret nobody has,
``tampered`` has its body changed after signing, ``stale`` carries a timestamp ten minutes old
(timestamped schemes only: stripe, slack, standard),
``oversized`` is larger than the default 1 MiB limit. ``--kind all`` sends one of each.
The functions here are reused by ``examples/demo.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

from hookseal import schemes, sign
from hookseal.secrets import SecretsLike
from hookseal.testing import encode_body, forged_request, tampered

KINDS = ("valid", "unsigned", "forged", "tampered", "stale", "oversized")


@dataclass
class Outcome:
    """What the app answered to one delivery."""

    status: int
    code: str | None
    secret_id: str | None
    body_intact: bool | None


def build(
    kind: str, payload: Any, secrets: SecretsLike, scheme: str | None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery of the given kind."""
    body = encode_body(payload)
    now = time.time()
    if kind == "valid":
        return body, sign(body, secrets, scheme=scheme)
    if kind == "unsigned":
        return body, {}
    if kind == "forged":
        return forged_request(payload, scheme=scheme)
    if kind == "tampered":
        return tampered(body), sign(body, secrets, scheme=scheme)
    if kind == "stale":
        return body, sign(body, secrets, scheme=scheme, timestamp=int(now) - 600)
    if kind == "oversized":
        big = b'{"padding":"' + b"x" * (1 << 20) + b'"}'
        return big, sign(big, secrets, scheme=scheme)
    raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")


def deliver(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST one delivery and read what the app (or hookseal in front of it) answered."""
    import hashlib

    response = client.post(
        url, content=body, headers={"Content-Type": "application/json", **headers}
    )
    try:
        data = response.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    intact = None
    if "sha256" in data:  # the example apps echo the SHA-256 of the body they received
        intact = data["sha256"] == hashlib.sha256(body).hexdigest()
    return Outcome(response.status_code, data.get("code"), data.get("secret_id"), intact)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument(
        "--secret-env",
        default="HOOKSEAL_SECRETS",
        help="environment variable holding the secret (default HOOKSEAL_SECRETS;"
        " the first of a comma-separated list is used)",
    )
    parser.add_argument("--scheme", default=None)
    parser.add_argument("--kind", default="valid", choices=(*KINDS, "all"))
    args = parser.parse_args()
    raw = os.environ.get(args.secret_env, "dev-secret-change-me")
    secret = raw.split(",")[0].strip()
    payload = {"type": "invoice.paid", "id": "evt_1", "amount": 4200}
    with httpx.Client(timeout=10) as client:
        timestamped = schemes.by_name(args.scheme or "signature").timestamped
        for kind in KINDS if args.kind == "all" else (args.kind,):
            if kind == "stale" and not timestamped:
                print(json.dumps({"kind": kind, "skipped": "this scheme signs no timestamp"}))
                continue
            body, headers = build(kind, payload, secret, args.scheme)
            outcome = deliver(client, args.url, body, headers)
            print(json.dumps({"kind": kind, **outcome.__dict__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
