"""Peak memory of a request through the ASGI and the WSGI middleware, as a multiple of the body.

For 1 MiB and 16 MiB bodies: one request through a minimal app that reads the whole body
(ASGI: its chunks joined, as Starlette's ``Request.body()`` does; WSGI: ``wsgi.input.read()``),
bare and behind the middleware. The body's chunks (ASGI) or the input stream (WSGI) exist
before tracing starts, as they would in a server's buffers; ``tracemalloc`` reports the peak
of everything allocated during the request. The bare app's one copy of the body is in both
figures. Not timed, so not interleaved: allocation sizes do not depend on the machine's load.
"""

from __future__ import annotations

import asyncio
import gc
import io
import tracemalloc
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from typing import Any

from hookseal.asgi import WebhookVerificationMiddleware as AsgiMiddleware
from hookseal.wsgi import WebhookVerificationMiddleware as WsgiMiddleware

from ..model import KIB, MIB, Config, Outcome, Row, count_outcome, size_label
from . import apps
from .inputs import body_of

__all__ = ["TITLE", "measure", "tables", "targets"]

TITLE = "Peak memory through the middleware"

SIZES: tuple[int, ...] = (MIB, 16 * MIB)
CHUNK = 64 * KIB


async def _asgi_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(parts)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


def _wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(len(body)).encode()]


def _peak(run: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _asgi_peak(app: Any, body: bytes) -> int:
    headers = apps.asgi_headers(body)
    chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
    loop = asyncio.new_event_loop()
    try:
        return _peak(lambda: loop.run_until_complete(apps.drive_asgi(app, headers, chunks, 1)))
    finally:
        loop.close()


def _wsgi_peak(app: Any, body: bytes) -> int:
    environ = apps.wsgi_environ(body)()
    # A buffered reader returns new bytes per read, as a server's socket file does (a bare
    # BytesIO would hand the app its own buffer without a copy, which no server does).
    environ["wsgi.input"] = io.BufferedReader(io.BytesIO(body))
    return _peak(lambda: apps.drive_wsgi(app, lambda: environ))


def measure(config: Config) -> list[Row]:
    """Peak bytes per (interface, size, bare or guarded)."""
    rows = []
    for size in SIZES:
        body = body_of(size)
        limit = 2 * size
        variants: list[tuple[str, Any, Any, Callable[[Any, bytes], int]]] = [
            (
                "ASGI",
                _asgi_app,
                AsgiMiddleware(_asgi_app, secrets=apps.SECRET, max_body_size=limit),
                _asgi_peak,
            ),
            (
                "WSGI",
                _wsgi_app,
                WsgiMiddleware(_wsgi_app, secrets=apps.SECRET, max_body_size=limit),
                _wsgi_peak,
            ),
        ]
        for interface, bare, mw, peak in variants:
            for name, app in (("bare", bare), ("guarded", mw)):
                peak_bytes = peak(app, body)
                rows.append(
                    Row(
                        "memory",
                        f"{interface} {name}",
                        0.0,
                        f"{interface} body size",
                        peak_bytes / size,
                        {"interface": interface, "size": size},
                        {"peak_bytes": peak_bytes},
                    )
                )
    return rows


def tables(rows: Sequence[Row]) -> list[str]:
    """Markdown: peak as a multiple of the body, bare and guarded."""
    found = [r for r in rows if r.group == "memory"]
    if not found:
        return []
    lines = [
        "### Peak memory per request (tracemalloc), multiple of the body size",
        "",
        "| interface | body | bare app peak | guarded peak | bare / body | guarded / body "
        "| added by hookseal / body |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for interface in ("ASGI", "WSGI"):
        for size in sorted({r.params["size"] for r in found}):
            got = {
                r.contender.split()[1]: r
                for r in found
                if r.params["interface"] == interface and r.params["size"] == size
            }
            bare, guarded = got["bare"], got["guarded"]
            lines.append(
                f"| {interface} | {size_label(size)} "
                f"| {bare.extra['peak_bytes'] / MIB:.1f} MiB "
                f"| {guarded.extra['peak_bytes'] / MIB:.1f} MiB | {bare.ratio:.2f}x "
                f"| {guarded.ratio:.2f}x | {guarded.ratio - bare.ratio:.2f}x |"
            )
    lines += [
        "",
        f"ASGI bodies arrive in {CHUNK // KIB} KiB chunks made before tracing (a server's "
        "buffers); the app joins them. WSGI bodies come from a buffered reader made before "
        "tracing that returns new bytes per read, as a socket file does; the app reads it whole. "
        "Limit: 2x the body plus one 64 KiB chunk.",
    ]
    return ["\n".join(lines)]


def targets(rows: Sequence[Row]) -> list[Outcome]:
    """Peak at most about 2x the body: 2x plus one 64 KiB read's worth of slack. A gate:
    tracemalloc counts bytes, which no load on the machine changes."""
    found = []
    for row in rows:
        if row.group == "memory" and row.contender.endswith("guarded"):
            size = row.params["size"]
            found.append(
                count_outcome(
                    f"{row.params['interface']} middleware peak memory / body, {size_label(size)} "
                    "(the app's own copy included; 2x + one 64 KiB chunk)",
                    row.ratio,
                    2.0 + CHUNK / size,
                    unit="x",
                )
            )
    return found
