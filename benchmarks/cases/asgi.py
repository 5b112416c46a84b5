"""The ASGI middleware and the FastAPI dependency: what they add per request, in-process.

Two measurements, each against the same app without hookseal measured in the same run:

- ``asgi``, at 1 KiB: bare Starlette, a second bare Starlette (the bias control), Starlette
  behind :class:`hookseal.asgi.WebhookVerificationMiddleware`, bare FastAPI and FastAPI with
  the :class:`~hookseal.integrations.fastapi.VerifiedWebhook` dependency (documented and not),
  driven through the ASGI callables in one event loop (no server, no socket); each timed call
  sends :data:`PER_CALL` requests. Reference: bare Starlette.
- ``asgi-1mib``: a 1 MiB body in 64 KiB chunks (as servers deliver it) through bare and
  guarded Starlette, and the floor: one pre-keyed HMAC pass over the chunks plus one copy of
  the body. The target compares what the middleware adds with that floor.

In one process the first app built runs measurably slower than an identical app built later,
so a fixed build order biases the comparison (it used to flatter hookseal: bare Starlette was
built first). So a throwaway app is built and run first, and then every round builds fresh
apps in a different order (rotated each round, reversed every other cycle: each app is built
in each place equally often) and times them interleaved. The tables give the median and the
min/median/max of the per-round ratios; the second bare Starlette app, compared with the
first, shows what bias and noise are left (about 1.00 when the order no longer matters).

The real-server case (uvicorn, granian) is :mod:`benchmarks.cases.servers`.
"""

from __future__ import annotations

import asyncio
import hashlib
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from hookseal import speedups_enabled

from .. import timing
from ..model import KIB, MIB, Config, Outcome, Row, ratio_outcome
from ..timing import Contender
from . import apps
from .inputs import body_of

__all__ = ["TITLE", "measure", "tables", "targets"]

TITLE = "ASGI middleware and FastAPI dependency overhead"

PER_CALL = 32
"""Requests per timed call in-process: the event loop's own cost per call is spread thin."""

CHUNK = 64 * KIB

BARE = "Starlette (bare)"
CONTROL = "Starlette (bare, built separately: the bias control)"
GUARDED = "Starlette + WebhookVerificationMiddleware"
NO_DEADLINE = "Starlette + WebhookVerificationMiddleware(body_timeout=None)"
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


BUILDERS: tuple[tuple[str, Callable[[], Any]], ...] = (
    (BARE, apps.bare_starlette),
    (CONTROL, apps.bare_starlette),
    (GUARDED, apps.guarded_starlette),
    (NO_DEADLINE, lambda: apps.guarded_starlette(body_timeout=None)),
    (FASTAPI, apps.bare_fastapi),
    (DEPENDENCY, apps.dependency_fastapi),
    (UNDOCUMENTED, lambda: apps.dependency_fastapi(document_headers=False)),
)
"""The in-process apps, each with the reference its ratio is read against (see BASES)."""
BASES = {
    CONTROL: BARE,
    GUARDED: BARE,
    NO_DEADLINE: BARE,
    DEPENDENCY: FASTAPI,
    UNDOCUMENTED: FASTAPI,
}
"""NO_DEADLINE shows what the body deadline's watchdog costs (the default is 30 s)."""


def build_order(round_: int, count: int) -> list[int]:
    """Round ``round_``'s build order: rotated by one each round, reversed every other cycle,
    so that over ``2 * count`` rounds every app is built in every place twice."""
    order = [(i + round_) % count for i in range(count)]
    return order[::-1] if (round_ // count) % 2 else order


def _spread(values: Sequence[float]) -> list[float]:
    return [min(values), statistics.median(values), max(values)]


def _in_process(loop: asyncio.AbstractEventLoop, config: Config) -> list[Row]:
    body = body_of(KIB)
    _runner(loop, apps.bare_starlette(), body, PER_CALL)()  # the throwaway first app
    rounds = 2 if config.quick else 2 * len(BUILDERS)
    repeats = max(5, config.repeats // 4)
    ns: dict[str, list[float]] = {name: [] for name, _ in BUILDERS}
    ratios: dict[str, list[float]] = {name: [] for name, _ in BUILDERS}
    for r in range(rounds):
        runners: dict[str, Callable[[], object]] = {}
        for index in build_order(r, len(BUILDERS)):
            name, build = BUILDERS[index]
            runners[name] = _runner(loop, build(), body, PER_CALL)
        contenders = [Contender(name, runners[name]) for name, _ in BUILDERS]
        timed = timing.measure(contenders, repeats, config.batch_ns, BARE)
        for name, (median_ns, ratio) in timed.items():
            ns[name].append(median_ns / PER_CALL)
            ratios[name].append(ratio)
    params = {
        "size": KIB,
        "secrets": 1,
        "scheme": "signature",
        "requests_per_call": PER_CALL,
        "rounds": rounds,
        "repeats_per_round": repeats,
    }
    rows = []
    for name, _ in BUILDERS:
        base = BASES.get(name, name)
        own = [a / b for a, b in zip(ratios[name], ratios[base], strict=True)]
        rows.append(
            Row(
                "asgi",
                name,
                statistics.median(ns[name]),
                BARE,
                statistics.median(ratios[name]),
                dict(params),
                {"base": base, "per_round": own, "spread": _spread(own)},
            )
        )
    return rows


def _large(loop: asyncio.AbstractEventLoop, config: Config) -> list[Row]:
    body = body_of(MIB)
    rounds = 2 if config.quick else 4
    repeats = max(5, (config.repeats if not config.quick else 21) // rounds)
    ns: dict[str, list[float]] = {BARE: [], GUARDED: [], FLOOR: []}
    ratios: dict[str, list[float]] = {BARE: [], GUARDED: [], FLOOR: []}
    for r in range(rounds):  # fresh apps each round, built in alternating order
        built = [
            (BARE, lambda: apps.bare_starlette()),
            (GUARDED, lambda: apps.guarded_starlette(2 * MIB)),
        ]
        runners = {
            name: _runner(loop, build(), body, 1) for name, build in built[:: 1 - 2 * (r % 2)]
        }
        contenders = [Contender(BARE, runners[BARE]), Contender(GUARDED, runners[GUARDED])]
        contenders.append(Contender(FLOOR, _hmac_and_copy(body)))
        for name, (median_ns, ratio) in timing.measure(
            contenders, repeats, config.batch_ns, BARE
        ).items():
            ns[name].append(median_ns)
            ratios[name].append(ratio)
    params = {"size": MIB, "secrets": 1, "scheme": "signature", "chunk": CHUNK, "rounds": rounds}
    return [
        Row(
            "asgi-1mib",
            name,
            statistics.median(ns[name]),
            BARE,
            statistics.median(ratios[name]),
            dict(params),
            {"spread": _spread(ratios[name])},
        )
        for name in (BARE, GUARDED, FLOOR)
    ]


def measure(config: Config) -> list[Row]:
    """In-process, 1 KiB then 1 MiB."""
    loop = asyncio.new_event_loop()
    try:
        rows = _in_process(loop, config) + _large(loop, config)
    finally:
        loop.close()
    return rows


def _group(rows: Sequence[Row], group: str) -> dict[str, Row]:
    return {r.contender: r for r in rows if r.group == group}


def _added(found: dict[str, Row], name: str, base: str) -> tuple[float, float]:
    """(µs added per request, time ratio) of ``name`` over ``base``, from same-run ratios."""
    ratio = found[name].ratio / found[base].ratio
    return found[base].ns * (ratio - 1) / 1000, ratio


def tables(rows: Sequence[Row]) -> list[str]:
    """Markdown: in-process at 1 KiB (with the bias control and the spread), and 1 MiB."""
    out = []
    found = _group(rows, "asgi")
    if found:
        params = found[BARE].params
        lines = [
            "### ASGI in-process (1 KiB body, one secret, ten request headers)",
            "",
            "| app | µs per request | requests/s | time / its bare app | requests/s vs bare "
            "| µs added | per-round time ratio (min / median / max) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, _ in BUILDERS:
            if name not in found:  # a run saved before this row existed (--from-json)
                continue
            base = found[name].extra["base"]
            us = found[base].ns * (found[name].ratio / found[base].ratio) / 1000
            added, ratio = _added(found, name, base)
            spread = " / ".join(f"{v:.2f}x" for v in found[name].extra["spread"])
            lines.append(
                f"| {name} | {us:.2f} | {1e6 / us:,.0f} | {ratio:.2f}x | {100 / ratio:.0f}% "
                f"| {added:.2f} | {spread if name != base else ''} |"
            )
        lines += [
            "",
            f"Driven through the ASGI callables in one event loop, {PER_CALL} requests per "
            f"timed call; {params['rounds']} rounds, each building fresh apps in a rotated "
            f"order (after a throwaway first app) and timing them interleaved "
            f"({params['repeats_per_round']} repetitions per round, thread CPU time); "
            "µs = the bare app's median x same-run ratio. FastAPI rows compare with bare "
            "FastAPI. The bias control is a second bare Starlette app: its ratio to the first "
            "is what build order and noise leave (1.00 = no bias).",
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
    return out


def targets(rows: Sequence[Row]) -> list[Outcome]:
    """Issue 12's goals: in-process, 85% of bare requests/s with the C accelerator and 70%
    without; 1 MiB within HMAC + one copy."""
    found: list[Outcome] = []
    group = _group(rows, "asgi")
    share = 0.85 if speedups_enabled() else 0.70
    if group:
        for name, base, what in (
            (GUARDED, BARE, "ASGI middleware in-process, time / bare Starlette, 1 KiB"),
            (DEPENDENCY, FASTAPI, "FastAPI dependency in-process, time / bare FastAPI, 1 KiB"),
        ):
            _, ratio = _added(group, name, base)
            found.append(
                ratio_outcome(what, ratio, 1 / share, f"at least {share:.0%} of bare requests/s")
            )
        if CONTROL in group:
            _, ratio = _added(group, CONTROL, BARE)
            found.append(
                ratio_outcome(
                    "bias control in-process: second bare Starlette / first, distance from 1.00",
                    abs(ratio - 1),
                    0.03,
                    "build order no longer matters",
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
