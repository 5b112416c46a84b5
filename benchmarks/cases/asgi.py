"""The ASGI middleware and the FastAPI dependency: what they add per request.

Three measurements, each against the same app without hookseal measured in the same run:

- ``asgi``, in-process at 1 KiB: bare Starlette, Starlette behind
  :class:`hookseal.asgi.WebhookVerificationMiddleware`, bare FastAPI and FastAPI with the
  :class:`~hookseal.integrations.fastapi.VerifiedWebhook` dependency, driven through the ASGI
  callables in one event loop (no server, no socket); each timed call sends
  :data:`PER_CALL` requests. Reference: bare Starlette.
- ``asgi-1mib``: a 1 MiB body in 64 KiB chunks (as servers deliver it) through bare and
  guarded Starlette, and the floor: one pre-keyed HMAC pass over the chunks plus one copy of
  the body. The target compares what the middleware adds with that floor.
- ``uvicorn``: bare and guarded Starlette under uvicorn on 127.0.0.1, loaded by wrk (httpx
  when wrk is missing), see :mod:`benchmarks.cases.loopback`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from .. import timing
from ..model import KIB, MIB, Config, Outcome, Row, ratio_outcome
from ..timing import Contender
from . import apps, loopback
from .inputs import body_of

__all__ = ["TITLE", "measure", "tables", "targets"]

TITLE = "ASGI middleware and FastAPI dependency overhead"

PER_CALL = 32
"""Requests per timed call in-process: the event loop's own cost per call is spread thin."""

CHUNK = 64 * KIB

BARE = "Starlette (bare)"
GUARDED = "Starlette + WebhookVerificationMiddleware"
FASTAPI = "FastAPI (bare)"
DEPENDENCY = "FastAPI + VerifiedWebhook dependency"
UNDOCUMENTED = "FastAPI + VerifiedWebhook(document_headers=False)"
FLOOR = "floor: one HMAC pass + one copy"


def _runner(
    loop: asyncio.AbstractEventLoop, app: Any, body: bytes, count: int
) -> Callable[[], object]:
    headers = apps.asgi_headers(body)
    chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]

    def call() -> object:
        return loop.run_until_complete(apps.drive_asgi(app, headers, chunks, count))

    call()  # a refusal (not 200) raises here, before anything is timed
    return call


def _hmac_and_copy(body: bytes) -> Callable[[], object]:
    """What a 1 MiB body must cost at least: HMAC over its chunks (pre-keyed), one join."""
    key = apps.SECRET.encode().ljust(64, b"\x00")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]

    def call() -> bytes:
        h = inner.copy()
        for chunk in chunks:
            h.update(chunk)
        o = outer.copy()
        o.update(h.digest())
        return o.digest() + b"".join(chunks)[:0]

    return call


def _in_process(loop: asyncio.AbstractEventLoop, config: Config) -> list[Row]:
    body = body_of(KIB)
    contenders = [
        Contender(BARE, _runner(loop, apps.bare_starlette(), body, PER_CALL)),
        Contender(GUARDED, _runner(loop, apps.guarded_starlette(), body, PER_CALL)),
        Contender(FASTAPI, _runner(loop, apps.bare_fastapi(), body, PER_CALL)),
        Contender(DEPENDENCY, _runner(loop, apps.dependency_fastapi(), body, PER_CALL)),
        Contender(
            UNDOCUMENTED,
            _runner(loop, apps.dependency_fastapi(document_headers=False), body, PER_CALL),
        ),
    ]
    timed = timing.measure(contenders, config.repeats, config.batch_ns, BARE)
    params = {"size": KIB, "secrets": 1, "scheme": "signature", "requests_per_call": PER_CALL}
    return [
        Row("asgi", name, ns / PER_CALL, BARE, ratio, dict(params))
        for name, (ns, ratio) in timed.items()
    ]


def _large(loop: asyncio.AbstractEventLoop, config: Config) -> list[Row]:
    body = body_of(MIB)
    contenders = [
        Contender(BARE, _runner(loop, apps.bare_starlette(), body, 1)),
        Contender(GUARDED, _runner(loop, apps.guarded_starlette(2 * MIB), body, 1)),
        Contender(FLOOR, _hmac_and_copy(body)),
    ]
    repeats = config.repeats if not config.quick else 21
    timed = timing.measure(contenders, repeats, config.batch_ns, BARE)
    params = {"size": MIB, "secrets": 1, "scheme": "signature", "chunk": CHUNK}
    return [
        Row("asgi-1mib", name, ns, BARE, ratio, dict(params)) for name, (ns, ratio) in timed.items()
    ]


def _uvicorn(config: Config) -> list[Row]:
    rounds, seconds = (2, 2.0) if config.quick else (5, 3.0)
    found = loopback.compare(body_of(KIB), rounds, seconds)
    rows = []
    rps = loopback.median_ratio(found, "per_second")
    cpu = loopback.median_ratio(found, "cpu_us")
    for name, label in (("bare", BARE), ("guarded", GUARDED)):
        loads = found[name]
        per_second = sorted(load.per_second for load in loads)[len(loads) // 2]
        cpu_us = sorted(load.cpu_us for load in loads)[len(loads) // 2]
        rows.append(
            Row(
                "uvicorn",
                label,
                1e9 / per_second,
                BARE,
                1.0 if name == "bare" else 1 / rps,
                {"size": KIB, "secrets": 1, "scheme": "signature"},
                {
                    "tool": loopback.load_tool(),
                    "connections": loopback.CONNECTIONS,
                    "rounds": rounds,
                    "seconds": seconds,
                    "requests_per_second": per_second,
                    "server_cpu_us": cpu_us,
                    "cpu_ratio": 1.0 if name == "bare" else cpu,
                    "rps_ratio": 1.0 if name == "bare" else rps,
                },
            )
        )
    return rows


def measure(config: Config) -> list[Row]:
    """In-process (1 KiB, then 1 MiB), then over loopback under uvicorn."""
    loop = asyncio.new_event_loop()
    try:
        rows = _in_process(loop, config) + _large(loop, config)
    finally:
        loop.close()
    return rows + _uvicorn(config)


def _group(rows: Sequence[Row], group: str) -> dict[str, Row]:
    return {r.contender: r for r in rows if r.group == group}


def _added(found: dict[str, Row], name: str, base: str) -> tuple[float, float]:
    """(µs added per request, time ratio) of ``name`` over ``base``, from same-run ratios."""
    ratio = found[name].ratio / found[base].ratio
    return found[base].ns * (ratio - 1) / 1000, ratio


def tables(rows: Sequence[Row]) -> list[str]:
    """Markdown: in-process, 1 MiB, and uvicorn."""
    out = []
    found = _group(rows, "asgi")
    if found:
        lines = [
            "### ASGI in-process (1 KiB body, one secret, ten request headers)",
            "",
            "| app | µs per request | requests/s | time / bare | requests/s vs bare | µs added |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, base in (
            (BARE, BARE),
            (GUARDED, BARE),
            (FASTAPI, FASTAPI),
            (DEPENDENCY, FASTAPI),
            (UNDOCUMENTED, FASTAPI),
        ):
            us = found[base].ns * (found[name].ratio / found[base].ratio) / 1000
            added, ratio = _added(found, name, base)
            lines.append(
                f"| {name} | {us:.2f} | {1e6 / us:,.0f} | {ratio:.2f}x | {100 / ratio:.0f}% "
                f"| {added:.2f} |"
            )
        lines += [
            "",
            f"Driven through the ASGI callables in one event loop, {PER_CALL} requests per "
            "timed call; µs = the bare app's median x same-run ratio. FastAPI rows compare "
            "with bare FastAPI.",
        ]
        out.append("\n".join(lines))
    found = _group(rows, "asgi-1mib")
    if found:
        added, _ = _added(found, GUARDED, BARE)
        floor = found[FLOOR].ratio * found[BARE].ns / 1000
        out.append(
            "\n".join(
                [
                    "### ASGI, 1 MiB body (64 KiB chunks)",
                    "",
                    "| bare µs | guarded µs | µs added | floor: HMAC pass + copy µs "
                    "| added / floor |",
                    "|---:|---:|---:|---:|---:|",
                    f"| {found[BARE].ns / 1000:.0f} "
                    f"| {found[BARE].ns * found[GUARDED].ratio / 1000:.0f} | {added:.0f} "
                    f"| {floor:.0f} | {added / floor:.2f}x |",
                ]
            )
        )
    found = _group(rows, "uvicorn")
    if found:
        extra = found[BARE].extra
        lines = [
            f"### Starlette under uvicorn on 127.0.0.1 ({extra['tool']}, "
            f"{extra['connections']} connections, {extra['rounds']} rounds of "
            f"{extra['seconds']:g} s per app, 1 KiB)",
            "",
            "| app | requests/s | server CPU µs per request | requests/s vs bare "
            "| server CPU vs bare |",
            "|---|---:|---:|---:|---:|",
        ]
        for name in (BARE, GUARDED):
            e = found[name].extra
            lines.append(
                f"| {name} | {e['requests_per_second']:,.0f} | {e['server_cpu_us']:.0f} "
                f"| {100 * e['rps_ratio']:.0f}% | {e['cpu_ratio']:.2f}x |"
            )
        lines += [
            "",
            "Each server is its own process; CPU is its user+system time from /proc over the "
            "load. Ratios are medians of per-round ratios (rounds alternate between the apps). "
            "The load generator shares the machine's cores with the server.",
        ]
        out.append("\n".join(lines))
    return out


def targets(rows: Sequence[Row]) -> list[Outcome]:
    """80% of bare requests/s in-process, 95% under uvicorn; 1 MiB within HMAC + copy."""
    found: list[Outcome] = []
    group = _group(rows, "asgi")
    if group:
        _, ratio = _added(group, GUARDED, BARE)
        found.append(
            ratio_outcome(
                "ASGI middleware in-process, time / bare Starlette, 1 KiB",
                ratio,
                1 / 0.80,
                "at least 80% of bare requests/s",
            )
        )
        _, ratio = _added(group, DEPENDENCY, FASTAPI)
        found.append(
            ratio_outcome(
                "FastAPI dependency in-process, time / bare FastAPI, 1 KiB",
                ratio,
                1 / 0.80,
                "at least 80% of bare requests/s",
            )
        )
    group = _group(rows, "uvicorn")
    if group:
        found.append(
            ratio_outcome(
                "ASGI middleware under uvicorn, bare requests/s / guarded",
                1 / group[GUARDED].extra["rps_ratio"],
                1 / 0.95,
                "at least 95% of bare requests/s",
            )
        )
    group = _group(rows, "asgi-1mib")
    if group:
        added, _ = _added(group, GUARDED, BARE)
        floor = group[FLOOR].ratio * group[BARE].ns / 1000
        found.append(
            ratio_outcome(
                "ASGI middleware at 1 MiB, µs added / (HMAC pass + one copy)",
                added / floor,
                1.0,
            )
        )
    return found
