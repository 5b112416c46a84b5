"""What the WSGI middleware adds per request, in-process: bare app vs the same app behind it.

    PYTHONPATH=src python benchmarks/wsgi_overhead.py [--requests 5000] [--repeat 15]

Each request is driven through the WSGI callable directly (no server, no socket): a fresh
environ with a 1 KiB signed JSON body, one secret, the Signature scheme. The view reads the
body in every variant, so the bare app pays for reading it too. Reported: the best of
``--repeat`` runs (bare and guarded interleaved) in µs per request, the ratio to the bare
app, µs added per request, and the guarded app's requests per second as % of the bare one.
Not a test: numbers depend on the machine; compare them within one run.
"""

from __future__ import annotations

import argparse
import gc
import io
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request

from hookseal.integrations.flask import HookSeal
from hookseal.testing import signed_request
from hookseal.wsgi import WebhookVerificationMiddleware

SECRET = "benchmark-secret"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_flask(**config: Any) -> Flask:
    app = Flask("bench")
    app.config.update(config)
    if config:
        HookSeal(app)

    @app.post("/webhooks/bench")
    def hook() -> tuple[str, int]:
        return str(len(request.get_data())), 200

    return app


def plain_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(len(body)).encode()]


def environ_for(body: bytes, headers: dict[str, str]) -> Callable[[], dict[str, Any]]:
    base: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/webhooks/bench",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
    }
    for name, value in headers.items():
        if name.lower() != "content-type":
            base["HTTP_" + name.upper().replace("-", "_")] = value

    def make() -> dict[str, Any]:
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(body)
        return environ

    return make


def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    if not status.startswith("200"):
        raise SystemExit(f"benchmark request failed: {status}")
    return None


def per_request(app: WSGIApp, make: Callable[[], dict[str, Any]], n: int) -> float:
    """Seconds per request over ``n`` requests."""
    gc.collect()
    started = time.perf_counter()
    for _ in range(n):
        result = app(make(), start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return (time.perf_counter() - started) / n


def compare(
    bare: WSGIApp, guarded: WSGIApp, make: Callable[[], dict[str, Any]], n: int, repeat: int
) -> tuple[float, float]:
    """Best-of-``repeat`` for each, runs interleaved so drift on a shared machine hits both."""
    per_request(guarded, make, 500)  # warm up: pre-keyed secrets, caches
    per_request(bare, make, 500)
    best_bare = best_guarded = float("inf")
    for _ in range(repeat):
        best_bare = min(best_bare, per_request(bare, make, n))
        best_guarded = min(best_guarded, per_request(guarded, make, n))
    return best_bare, best_guarded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    payload = {"event": "invoice.paid", "pad": ""}
    body, headers = signed_request(payload, SECRET)
    payload["pad"] = "x" * (1024 - len(body))
    body, headers = signed_request(payload, SECRET)
    assert len(body) == 1024
    make = environ_for(body, headers)

    bare_flask = make_flask().wsgi_app
    pairs: list[tuple[str, WSGIApp, WSGIApp]] = [
        (
            "Flask + hookseal.wsgi middleware",
            bare_flask,
            WebhookVerificationMiddleware(bare_flask, secrets=SECRET, paths=["/webhooks"]),
        ),
        (
            "Flask + HookSeal(app) extension",
            bare_flask,
            make_flask(HOOKSEAL_SECRETS=SECRET, HOOKSEAL_PATHS=["/webhooks"]).wsgi_app,
        ),
        (
            "plain WSGI app + middleware",
            plain_app,
            WebhookVerificationMiddleware(plain_app, secrets=SECRET, paths=["/webhooks"]),
        ),
    ]
    print(f"1 KiB body, one secret, {args.requests} requests, best of {args.repeat}")
    columns = ("bare µs", 9), ("guarded µs", 11), ("ratio", 7), ("added µs", 9), ("rps %", 6)
    print(f"{'variant':36}" + "".join(f" {title:>{width}}" for title, width in columns))
    for name, bare, guarded in pairs:
        bare_s, guarded_s = compare(bare, guarded, make, args.requests, args.repeat)
        print(
            f"{name:36} {bare_s * 1e6:9.2f} {guarded_s * 1e6:11.2f} "
            f"{guarded_s / bare_s:7.3f} {(guarded_s - bare_s) * 1e6:9.2f} "
            f"{100 * bare_s / guarded_s:6.1f}"
        )


if __name__ == "__main__":
    main()
