"""The WSGI middleware and the Flask extension: what they add per request, in-process.

One group at 1 KiB (one secret, ten request headers): bare Flask, Flask behind
:class:`hookseal.wsgi.WebhookVerificationMiddleware`, and Flask with the ``HookSeal``
extension guarding the path (``HOOKSEAL_PATHS``), each driven through the WSGI callable with
a fresh environ per request (no server, no socket). The view reads the body in every variant.
Reference: bare Flask.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .. import timing
from ..model import KIB, Config, Outcome, Row, ratio_outcome
from ..timing import Contender
from . import apps
from .inputs import body_of

__all__ = ["TITLE", "measure", "tables", "targets"]

TITLE = "WSGI middleware and Flask extension overhead"

BARE = "Flask (bare)"
GUARDED = "Flask + hookseal.wsgi middleware"
EXTENSION = "Flask + HookSeal extension"


def _runner(app: apps.WSGIApp, body: bytes) -> Callable[[], object]:
    make = apps.wsgi_environ(body)

    def call() -> object:
        return apps.drive_wsgi(app, make)

    call()  # a refusal (not 200) raises here, before anything is timed
    return call


def measure(config: Config) -> list[Row]:
    """Bare, middleware and extension, interleaved."""
    body = body_of(KIB)
    contenders = [
        Contender(BARE, _runner(apps.bare_flask(), body)),
        Contender(GUARDED, _runner(apps.guarded_flask(), body)),
        Contender(EXTENSION, _runner(apps.extension_flask(), body)),
    ]
    timed = timing.measure(contenders, config.repeats, config.batch_ns, BARE)
    params = {"size": KIB, "secrets": 1, "scheme": "signature"}
    return [Row("wsgi", name, ns, BARE, ratio, dict(params)) for name, (ns, ratio) in timed.items()]


def tables(rows: Sequence[Row]) -> list[str]:
    """Markdown: one line per variant."""
    found = {r.contender: r for r in rows if r.group == "wsgi"}
    if not found:
        return []
    base = found[BARE]
    lines = [
        "### WSGI in-process (1 KiB body, one secret, ten request headers)",
        "",
        "| app | µs per request | requests/s | time / bare | requests/s vs bare | µs added |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in (BARE, GUARDED, EXTENSION):
        row = found[name]
        us = base.ns * row.ratio / 1000
        lines.append(
            f"| {name} | {us:.2f} | {1e6 / us:,.0f} | {row.ratio:.2f}x | {100 / row.ratio:.0f}% "
            f"| {base.ns * (row.ratio - 1) / 1000:.2f} |"
        )
    lines += [
        "",
        "A fresh environ per request, driven through the WSGI callable; µs = bare Flask's "
        "median x same-run ratio.",
    ]
    return ["\n".join(lines)]


def targets(rows: Sequence[Row]) -> list[Outcome]:
    """At least 80% of bare Flask's requests per second, for both ways of guarding."""
    found = []
    for row in rows:
        if row.group == "wsgi" and row.contender != BARE:
            found.append(
                ratio_outcome(
                    f"{row.contender} in-process, time / bare Flask, 1 KiB",
                    row.ratio,
                    1 / 0.80,
                    "at least 80% of bare requests/s",
                )
            )
    return found
