"""Post signed (and deliberately bad) webhook deliveries to a running example app, and check
that each one is accepted or refused as it should be.

    .venv/bin/python examples/fastapi_app.py             # in one shell (or starlette_app.py ...)
    .venv/bin/python examples/send.py --url http://127.0.0.1:8000/webhooks/events/invoice
    .venv/bin/python examples/send.py --url ... --scheme stripe --kind stale

Each kind is what a provider (or an attacker) might send: ``valid`` is signed with the secret,
``unsigned`` has no signature header, ``forged`` is signed with a secret nobody has,
``tampered`` has its body changed after signing, ``stale`` carries a timestamp ten minutes old
(timestamped schemes only: stripe, slack, standard),
``oversized`` is larger than the default 1 MiB limit. ``--kind all`` sends one of each.

For each delivery it prints what it expected and what it got. Exit status: 0 when every answer
was the expected one, 1 on any surprise, 2 when the app could not be reached.
The functions here are reused by ``examples/demo.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

from hookseal import schemes, sign
from hookseal.secrets import SecretsLike
from hookseal.testing import encode_body, forged_request, tampered

DEV_SECRET = "dev-secret-change-me"  # what the example apps use without HOOKSEAL_SECRETS
KINDS = ("valid", "unsigned", "forged", "tampered", "stale", "oversized")
EXPECTED: dict[str, tuple[int, str | None]] = {
    "valid": (200, None),
    "unsigned": (401, "missing_signature"),
    "forged": (401, "signature_mismatch"),
    "tampered": (401, "signature_mismatch"),
    "stale": (401, "timestamp_too_old"),
    "oversized": (413, "payload_too_large"),
}
"""What hookseal in front of an example app answers to each kind: status and problem code."""


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


def verdict(kind: str, outcome: Outcome) -> tuple[bool, str, str]:
    """Whether ``outcome`` is what ``kind`` should get, and both in words."""
    status, code = EXPECTED[kind]
    if code is None:
        expected = f"{status}, the body intact"
        good = outcome.status == status and outcome.body_intact is not False
        got = f"{outcome.status}"
        if outcome.status == 200:
            got += f", secret {outcome.secret_id}" if outcome.secret_id else ""
            got += {True: ", body intact", False: ", BODY CHANGED", None: ""}[outcome.body_intact]
        elif outcome.code:
            got += f" {outcome.code}"
        return good, expected, got
    got = f"{outcome.status} {outcome.code or ''}".rstrip()
    if outcome.status == 200:
        got += " (the app accepted it)"
    return outcome.status == status and outcome.code == code, f"{status} {code}", got


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument(
        "--secret-env",
        default="HOOKSEAL_SECRETS",
        help="environment variable holding the secret (default HOOKSEAL_SECRETS; the first of a"
        " comma-separated list is used; unset: the examples' development secret)",
    )
    parser.add_argument("--scheme", default=None)
    parser.add_argument("--kind", default="all", choices=(*KINDS, "all"))
    args = parser.parse_args()
    raw = os.environ.get(args.secret_env, "") or DEV_SECRET
    secret = raw.split(",")[0].strip()
    payload = {"type": "invoice.paid", "id": "evt_1", "amount": 4200}
    timestamped = schemes.by_name(args.scheme or "signature").timestamped
    surprises = sent = 0
    with httpx.Client(timeout=10) as client:
        for kind in KINDS if args.kind == "all" else (args.kind,):
            if kind == "stale" and not timestamped:
                print(
                    f"skip      {kind:<10} the {args.scheme or 'signature'} scheme signs no "
                    "timestamp"
                )
                continue
            body, headers = build(kind, payload, secret, args.scheme)
            try:
                outcome = deliver(client, args.url, body, headers)
            except httpx.TransportError as exc:
                print(f"cannot reach {args.url} ({type(exc).__name__}): is the app running?")
                return 2
            good, expected, got = verdict(kind, outcome)
            sent += 1
            surprises += not good
            mark = "ok" if good else "SURPRISE"
            print(f"{mark:<9} {kind:<10} expected {expected:<28} got {got}")
    print(f"{sent} deliveries: {sent - surprises} as expected, {surprises} surprise(s)")
    return 1 if surprises else 0


if __name__ == "__main__":
    sys.exit(main())
