"""What counting verifications for metrics costs the hot path.

- ``metrics``: ``Verifier.verify`` over a warm :class:`hookseal.keyring.Keyring`, 1 KiB, one
  secret, with ``observer=Metrics()`` against the same verifier without one, interleaved.
  Reference: the unobserved verifier. Every verification in the observed one also goes
  through the counter a Prometheus scrape or an OpenTelemetry collection reads.
- ``metrics-static``: the same pair over a static secret, where the default scheme's fused
  check (C when built) decides in about a microsecond: the observer's share is largest there.
- ``metrics-asgi``: a request through Starlette and the ASGI middleware (1 KiB, static secret),
  with the observed verifier and without: what counting costs a request.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Sequence

from hookseal import Verifier
from hookseal.keyring import Keyring
from hookseal.metrics import Metrics
from hookseal.sources import StaticSource

from .. import timing
from ..model import KIB, Config, Outcome, Row, ratio_outcome
from ..timing import Contender
from . import apps
from .inputs import body_of, make_secrets, request_for

__all__ = ["TITLE", "measure", "tables", "targets"]

TITLE = "Metrics on the hot path"

PLAIN = "Verifier over a warm Keyring"
OBSERVED = "the same, observer=Metrics()"
LIMIT = 1.05  # "at most a few percent"
GROUPS = {
    "metrics": "warm Keyring",
    "metrics-static": "static secret",
    "metrics-asgi": "a request through Starlette + the ASGI middleware, static secret",
}


def measure(config: Config) -> list[Row]:
    """The observed and unobserved verifier, interleaved: over a keyring, static, in a request."""
    (secret,) = make_secrets(1)
    keyring = Keyring(StaticSource(secret), refresh_interval=86_400.0).start()
    try:
        rows = _pair("metrics", keyring, secret, config)
    finally:
        keyring.close()
    return rows + _pair("metrics-static", secret, secret, config) + _requests(config)


def _requests(config: Config) -> list[Row]:
    """Starlette + the ASGI middleware, its verifier observed or not, interleaved."""
    from hookseal.asgi import WebhookVerificationMiddleware

    from .asgi import PER_CALL, _runner

    def app(observer: Metrics | None) -> object:
        built = apps.bare_starlette()
        verifier = Verifier(apps.SECRET, observer=observer)
        built.add_middleware(WebhookVerificationMiddleware, verifier=verifier, paths=["/webhooks"])
        return built

    metrics = Metrics()
    body = body_of(KIB)
    loop = asyncio.new_event_loop()
    ns: dict[str, list[float]] = {PLAIN: [], OBSERVED: []}
    ratios: list[float] = []
    try:
        _runner(loop, apps.bare_starlette(), body, PER_CALL)()  # the throwaway first app
        for round_ in range(4):  # each order of building twice: the first built runs slower
            order = [(PLAIN, None), (OBSERVED, metrics)]
            runners = {
                name: _runner(loop, app(obs), body, PER_CALL)
                for name, obs in (order if round_ % 2 == 0 else order[::-1])
            }
            timed = timing.measure(
                [Contender(name, runners[name]) for name in (PLAIN, OBSERVED)],
                max(5, config.repeats // 4),
                config.batch_ns,
                PLAIN,
            )
            for name, (median_ns, _) in timed.items():
                ns[name].append(median_ns / PER_CALL)
            ratios.append(timed[OBSERVED][1])
    finally:
        loop.close()
    if not any(s.name == "hookseal_verifications" and s.value > 0 for s in metrics.samples()):
        raise AssertionError("the observed middleware counted nothing")
    params = {"size": KIB, "secrets": 1, "scheme": "signature", "requests_per_call": PER_CALL}
    ratio = statistics.median(ratios)
    return [
        Row("metrics-asgi", PLAIN, statistics.median(ns[PLAIN]), PLAIN, 1.0, dict(params)),
        Row("metrics-asgi", OBSERVED, statistics.median(ns[OBSERVED]), PLAIN, ratio, dict(params)),
    ]


def _pair(group: str, secrets: Keyring | str, secret: str, config: Config) -> list[Row]:
    request = request_for("signature", body_of(KIB), secret)
    body, headers = request.body, request.headers
    metrics = Metrics()
    plain = Verifier(secrets)
    observed = Verifier(secrets, observer=metrics)
    plain.verify(body, headers)
    observed.verify(body, headers)
    timed = timing.measure(
        [
            Contender(PLAIN, lambda: plain.verify(body, headers)),
            Contender(OBSERVED, lambda: observed.verify(body, headers)),
        ],
        config.repeats,
        config.batch_ns,
        PLAIN,
    )
    if not any(s.name == "hookseal_verifications" and s.value > 0 for s in metrics.samples()):
        raise AssertionError("the observed verifier counted nothing")
    params = {"size": KIB, "secrets": 1, "scheme": "signature"}
    return [Row(group, name, ns, PLAIN, ratio, dict(params)) for name, (ns, ratio) in timed.items()]


def tables(rows: Sequence[Row]) -> list[str]:
    lines = [
        "### Metrics on the hot path (1 KiB, one secret)",
        "",
        "| what is timed | unobserved, µs | observer=Metrics(), µs | observed / plain |",
        "|---|---:|---:|---:|",
    ]
    for group, label in GROUPS.items():
        found = {r.contender: r for r in rows if r.group == group}
        if PLAIN in found and OBSERVED in found:
            plain, observed = found[PLAIN], found[OBSERVED]
            lines.append(
                f"| {label} | {plain.ns / 1000:.2f} | {plain.ns * observed.ratio / 1000:.2f} "
                f"| {observed.ratio:.3f}x |"
            )
    return ["\n".join(lines)] if len(lines) > 4 else []


def targets(rows: Sequence[Row]) -> list[Outcome]:
    labels = GROUPS
    return [
        ratio_outcome(
            f"Verifier with observer=Metrics() / without, verify 1 KiB, {labels[row.group]}",
            row.ratio,
            LIMIT,
            "at most a few percent on the hot path",
        )
        for row in rows
        if row.group in labels and row.contender == OBSERVED
    ]
