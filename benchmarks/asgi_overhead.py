"""Per-request cost of the ASGI middleware, in-process: a bare Starlette app against the same
app behind WebhookVerificationMiddleware (1 KiB body, one secret, Signature scheme).

A third app verifies by hand in its handler, which splits the cost into verification itself
and the middleware's own share (path matching, Content-Length, the replaying receive). All
three are driven through the ASGI callable in one event loop, with no server and no sockets.
Rounds alternate between the apps; the best round of each is reported (the one least
disturbed by other work on the machine).

    PYTHONPATH=src python benchmarks/asgi_overhead.py [--requests 20000] [--rounds 7] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hookseal import Verifier
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.testing import signed_request

SECRET = "benchmark-secret"
Message = MutableMapping[str, Any]


VERIFIER = Verifier(SECRET)


async def handler(request: Request) -> Response:
    body = await request.body()
    return Response(b"ok" if body else b"empty", media_type="text/plain")


async def verifying_handler(request: Request) -> Response:
    """The same handler verifying by hand: the cost of verification without the middleware."""
    body = await request.body()
    await VERIFIER.averify(body, request.scope["headers"])
    return Response(b"ok" if body else b"empty", media_type="text/plain")


def build(kind: str) -> Any:
    endpoint = verifying_handler if kind == "by hand" else handler
    app = Starlette(routes=[Route("/webhooks/event", endpoint, methods=["POST"])])
    if kind == "middleware":
        app.add_middleware(WebhookVerificationMiddleware, secrets=SECRET, paths=["/webhooks"])
    return app


async def run(app: Any, requests: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> float:
    """Seconds for ``requests`` sequential requests through ``app``."""
    status = 0

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    start = time.perf_counter()
    for _ in range(requests):
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/webhooks/event",
            "raw_path": b"/webhooks/event",
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
        }
        await app(scope, receive, send)
    elapsed = time.perf_counter() - start
    if status != 200:
        raise SystemExit(f"unexpected status {status}: the benchmark is not measuring success")
    return elapsed


async def main(requests: int, rounds: int) -> None:
    body, signed = signed_request(b"x" * 1024, SECRET)
    headers = [(k.lower().encode(), v.encode()) for k, v in signed.items()]
    headers.append((b"content-length", str(len(body)).encode()))
    apps = {kind: build(kind) for kind in ("bare", "by hand", "middleware")}
    best = {name: float("inf") for name in apps}
    for app in apps.values():  # warm up: build middleware stacks, fill caches
        await run(app, min(requests, 500), body, headers)
    for _ in range(rounds):
        for name, app in apps.items():
            best[name] = min(best[name], await run(app, requests, body, headers))
    per_request = {name: seconds / requests * 1e6 for name, seconds in best.items()}
    ratio = best["bare"] / best["middleware"]
    print(f"1 KiB body, one secret, {requests} requests x {rounds} rounds (best round)")
    for name in apps:
        rps = requests / best[name]
        print(f"  {name:<11} {per_request[name]:8.2f} us/request  {rps:10.0f} requests/s")
    print(f"  overhead    {per_request['middleware'] - per_request['bare']:8.2f} us/request (all)")
    own = per_request["middleware"] - per_request["by hand"]
    print(f"  middleware  {own:8.2f} us/request beyond verifying by hand in the handler")
    print(f"  ratio       {ratio:8.3f}  (middleware requests/s as a fraction of bare; aim >= 0.80)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="2000 requests x 3 rounds")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds = 2000, 3
    asyncio.run(main(args.requests, args.rounds))
