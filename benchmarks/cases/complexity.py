"""How cost grows with the body, the secrets and the signatures: timed ratios with wide margins.

Counting (:mod:`benchmarks.cases.invariants`) sees every Python call, but not work done inside
one C call: a body joined again on every chunk, or hashed twice, costs time without a single
extra call. These checks time two sizes of one thing side by side (interleaved, median of
per-repetition ratios, see :mod:`benchmarks.timing`) and compare the ratio with what linear
cost gives. A cost that is linear (a fixed part plus a part per byte, secret or signature)
gives at most the size ratio: the fixed part only lowers it. The limits sit at 1.5 times that
bound (2x for "constant"): a busy machine moves both sizes
together, so its noise stays far below that (docs/guides/benchmarks.md shows the spread
measured under load), while a quadratic regression lands at many times the linear ratio. A
ratio over its limit is measured again, up to :data:`ATTEMPTS` times; the check fails only when
every attempt is over, which a real regression always is.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from hookseal import SignatureMismatch, Verifier, verify

from .. import timing
from ..model import KIB, MIB, Config, Outcome, Row, size_label
from ..timing import Contender
from . import apps
from .inputs import body_of, make_secrets, request_for

__all__ = ["ATTEMPTS", "CHECKS", "TITLE", "Check", "measure", "run_check", "tables", "targets"]

TITLE = "Complexity: cost against body size, secrets and signatures (the CI gate: ratios)"

GROUP = "complexity"
ATTEMPTS = 3
REPEATS = 31
BATCH_NS = 20_000_000
CHUNK = KIB


@dataclass(frozen=True)
class Check:
    """Time ``large`` against ``small``; linear cost gives about ``linear`` (their size ratio)."""

    name: str
    small: Callable[[], Callable[[], object]]
    large: Callable[[], Callable[[], object]]
    linear: float
    limit: float
    what: str


def _verify_at(size: int) -> Callable[[], Callable[[], object]]:
    def build() -> Callable[[], object]:
        (secret,) = make_secrets(1)
        request = request_for("signature", body_of(size), secret)
        body, headers = request.body, request.headers
        call = partial(verify, body, headers, secret)
        call()
        return call

    return build


def _asgi_at(size: int) -> Callable[[], Callable[[], object]]:
    """One request through the guarded Starlette app, the body in 1 KiB chunks."""

    def build() -> Callable[[], object]:
        body = body_of(size)
        headers = apps.asgi_headers(body)
        chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
        app = apps.guarded_starlette(2 * MIB)
        loop = asyncio.new_event_loop()

        def call() -> object:
            return loop.run_until_complete(apps.drive_asgi(app, headers, chunks, 1))

        weakref.finalize(call, loop.close)  # the loop lives as long as the callable timed
        call()
        return call

    return build


def _forged(secrets: int, signatures: int, size: int) -> Callable[[], Callable[[], object]]:
    def build() -> Callable[[], object]:
        body = body_of(size)
        verifier = Verifier(make_secrets(secrets))
        strangers = make_secrets(signatures)
        tokens = [request_for("signature", body, s).headers["Signature"] for s in strangers]
        headers = {"Signature": ",".join(tokens)}

        def call() -> None:
            try:
                verifier.verify(body, headers)
            except SignatureMismatch:
                return
            raise AssertionError("a forged request was accepted")

        call()
        return call

    return build


CHECKS: tuple[Check, ...] = (
    Check(
        "verify(): time at 1 MiB / at 64 KiB",
        _verify_at(64 * KIB),
        _verify_at(MIB),
        16.0,
        24.0,
        "linear in the body",
    ),
    Check(
        "ASGI middleware, 1 KiB chunks: time at 1 MiB / at 64 KiB",
        _asgi_at(64 * KIB),
        _asgi_at(MIB),
        16.0,
        24.0,
        "linear in the body and its chunks",
    ),
    Check(
        "forged request, 64 KiB: time with 16 secrets / 1 secret",
        _forged(1, 1, 64 * KIB),
        _forged(16, 1, 64 * KIB),
        16.0,
        24.0,
        "linear in active secrets",
    ),
    Check(
        "forged request, 1 MiB, 1 secret: time with 16 signatures / 1 signature",
        _forged(1, 1, MIB),
        _forged(1, 16, MIB),
        1.0,
        2.0,
        "constant in presented signatures",
    ),
)
"""The gate's timed checks. ``linear`` is the most a linear cost can give (the size ratio);
each limit is 1.5 times that (2 for the constant one)."""


def _ratio(check: Check, repeats: int, batch_ns: int) -> float:
    contenders = [Contender("small", check.small()), Contender("large", check.large())]
    return timing.measure(contenders, repeats, batch_ns, "small")["large"][1]


def run_check(check: Check, repeats: int = REPEATS, batch_ns: int = BATCH_NS) -> list[float]:
    """The ratio, measured again while it is over the limit, at most :data:`ATTEMPTS` times."""
    ratios = [_ratio(check, repeats, batch_ns)]
    while ratios[-1] > check.limit and len(ratios) < ATTEMPTS:
        ratios.append(_ratio(check, repeats, batch_ns))
    return ratios


def measure(config: Config) -> list[Row]:
    """Every check (the same in quick and full mode: it is cheap and it is the gate)."""
    rows = []
    for check in CHECKS:
        ratios = run_check(check)
        rows.append(
            Row(
                GROUP,
                check.name,
                0.0,
                "small",
                min(ratios),
                {"linear": check.linear, "limit": check.limit, "what": check.what},
                {"attempts": ratios},
            )
        )
    return rows


def tables(rows: Sequence[Row]) -> list[str]:
    """Markdown: one line per check."""
    found = [r for r in rows if r.group == GROUP]
    if not found:
        return []
    lines = [
        "### Complexity ratios (timed side by side, thread CPU time; limit 1.5x the linear bound)",
        "",
        "| check | linear | measured | limit | attempts |",
        "|---|---:|---:|---:|---|",
    ]
    for row in found:
        attempts = ", ".join(f"{r:.2f}" for r in row.extra["attempts"])
        lines.append(
            f"| {row.contender} ({row.params['what']}) | {row.params['linear']:.0f}x "
            f"| {row.ratio:.2f}x | {row.params['limit']:.0f}x | {attempts} |"
        )
    lines += [
        "",
        f"Median of {REPEATS} interleaved repetitions of ~{BATCH_NS // 1_000_000} ms batches; "
        f"a ratio over its limit is measured again (at most {ATTEMPTS} attempts) and the best "
        "attempt counts. Body sizes: " + ", ".join(size_label(s) for s in (64 * KIB, MIB)) + ".",
    ]
    return ["\n".join(lines)]


def targets(rows: Sequence[Row]) -> list[Outcome]:
    """One gate per check: the best attempt within the limit."""
    return [
        Outcome(
            row.contender,
            row.ratio,
            row.params["limit"],
            "<=",
            row.ratio <= row.params["limit"],
            gate=f"ratio, best of up to {ATTEMPTS}",
            note=row.params["what"],
        )
        for row in rows
        if row.group == GROUP
    ]
