"""What counting verifications for metrics costs the hot path.

- ``metrics``: ``Verifier.verify`` over a warm :class:`hookseal.keyring.Keyring`, 1 KiB, one
  secret, with ``observer=Metrics()`` against the same verifier without one, interleaved.
  Reference: the unobserved verifier. Every verification in the observed one also goes
  through the counter a Prometheus scrape or an OpenTelemetry collection reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from hookseal import Verifier
from hookseal.keyring import Keyring
from hookseal.metrics import Metrics
from hookseal.sources import StaticSource

from .. import timing
from ..model import KIB, Config, Outcome, Row, ratio_outcome
from ..timing import Contender
from .inputs import body_of, make_secrets, request_for

__all__ = ["TITLE", "measure", "tables", "targets"]

TITLE = "Metrics on the hot path"

PLAIN = "Verifier over a warm Keyring"
OBSERVED = "the same, observer=Metrics()"
LIMIT = 1.05  # "at most a few percent"


def measure(config: Config) -> list[Row]:
    """The observed and unobserved verifier, interleaved."""
    (secret,) = make_secrets(1)
    request = request_for("signature", body_of(KIB), secret)
    body, headers = request.body, request.headers
    keyring = Keyring(StaticSource(secret), refresh_interval=86_400.0).start()
    metrics = Metrics()
    try:
        plain = Verifier(keyring)
        observed = Verifier(keyring, observer=metrics)
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
    finally:
        keyring.close()
    if not any(s.name == "hookseal_verifications" and s.value > 0 for s in metrics.samples()):
        raise AssertionError("the observed verifier counted nothing")
    params = {"size": KIB, "secrets": 1, "scheme": "signature"}
    return [
        Row("metrics", name, ns, PLAIN, ratio, dict(params)) for name, (ns, ratio) in timed.items()
    ]


def tables(rows: Sequence[Row]) -> list[str]:
    found = {r.contender: r for r in rows if r.group == "metrics"}
    if PLAIN not in found or OBSERVED not in found:
        return []
    plain, observed = found[PLAIN], found[OBSERVED]
    return [
        "\n".join(
            [
                "### Metrics on the hot path (1 KiB, one secret, warm keyring)",
                "",
                "| measurement | value |",
                "|---|---:|",
                f"| {PLAIN}, µs | {plain.ns / 1000:.2f} |",
                f"| {OBSERVED}, µs | {plain.ns * observed.ratio / 1000:.2f} |",
                f"| observed / plain | {observed.ratio:.3f}x |",
            ]
        )
    ]


def targets(rows: Sequence[Row]) -> list[Outcome]:
    return [
        ratio_outcome(
            "Verifier with observer=Metrics() / without, verify 1 KiB",
            row.ratio,
            LIMIT,
            "at most a few percent on the hot path",
        )
        for row in rows
        if row.group == "metrics" and row.contender == OBSERVED
    ]
