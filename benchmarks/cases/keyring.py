"""The refreshing keyring: what a warm one costs per verify(), and what a forged flood fetches.

- ``keyring``: ``Verifier.verify`` over a warm :class:`hookseal.keyring.Keyring` (a
  ``StaticSource`` behind it, refresh interval far away) against the same verifier over a
  static :class:`~hookseal.secrets.SecretSet`, 1 KiB, one secret, interleaved. Reference:
  the static set.
- ``keyring-flood``: 10,000 forged requests through a verifier over a keyring whose source
  counts its fetches, with ``cooldown=60`` and an injected monotonic clock that does not
  advance: a flood must cause at most one fetch per cooldown, so 1 here. Counted, not timed.
"""

from __future__ import annotations

from collections.abc import Sequence

from hookseal import SecretSet, SignatureMismatch, Verifier
from hookseal.keyring import Keyring
from hookseal.sources import StaticSource
from hookseal.sources._base import Fetched

from .. import timing
from ..model import KIB, Config, Outcome, Row, count_outcome, ratio_outcome
from ..timing import Contender
from .inputs import body_of, make_secrets, request_for

__all__ = ["TITLE", "measure", "tables", "targets"]

TITLE = "The refreshing keyring"

STATIC = "Verifier over a static SecretSet"
WARM = "Verifier over a warm Keyring"
FORGED = 10_000
COOLDOWN = 60.0


class _Counting(StaticSource):
    """A static source that counts how often it is fetched."""

    def __init__(self, secrets: SecretSet) -> None:
        super().__init__(secrets, name="counting")
        self.fetches = 0

    def fetch(self) -> Fetched:
        self.fetches += 1
        return super().fetch()


def _warm(config: Config) -> list[Row]:
    (secret,) = make_secrets(1)
    request = request_for("signature", body_of(KIB), secret)
    body, headers = request.body, request.headers
    static = Verifier(SecretSet.coerce(secret))
    # What the keyring adds, on the same (careful) path: the fused check of the default
    # scheme (C, or its pure-Python twin) applies to static secrets only.
    static._fast = None
    keyring = Keyring(StaticSource(secret), refresh_interval=86_400.0).start()
    try:
        warm = Verifier(keyring)
        static.verify(body, headers)  # both accept the input before anything is timed
        warm.verify(body, headers)
        contenders = [
            Contender(STATIC, lambda: static.verify(body, headers)),
            Contender(WARM, lambda: warm.verify(body, headers)),
        ]
        timed = timing.measure(contenders, config.repeats, config.batch_ns, STATIC)
    finally:
        keyring.close()
    params = {"size": KIB, "secrets": 1, "scheme": "signature"}
    return [
        Row("keyring", name, ns, STATIC, ratio, dict(params)) for name, (ns, ratio) in timed.items()
    ]


def _flood() -> list[Row]:
    secrets = SecretSet.coerce(make_secrets(1))
    source = _Counting(secrets)
    frozen = 1000.0
    keyring = Keyring(source, cooldown=COOLDOWN, monotonic=lambda: frozen).start()
    try:
        verifier = Verifier(keyring)
        before = source.fetches
        forged = request_for("signature", body_of(KIB), make_secrets(1)[0])
        refused = 0
        for _ in range(FORGED):
            try:
                verifier.verify(forged.body, forged.headers)
            except SignatureMismatch:
                refused += 1
        fetches = source.fetches - before
    finally:
        keyring.close()
    if refused != FORGED:
        raise AssertionError("a forged request was accepted")
    return [
        Row(
            "keyring-flood",
            "source fetches",
            0.0,
            "count",
            float(fetches),
            {"forged": FORGED, "cooldown": COOLDOWN, "clock": "frozen"},
            {"fetches": fetches, "fetches_at_start": before},
        )
    ]


def measure(config: Config) -> list[Row]:
    """The warm-keyring group, then the flood count."""
    return _warm(config) + _flood()


def tables(rows: Sequence[Row]) -> list[str]:
    """Markdown: the warm-keyring ratio and the flood's fetch count."""
    found = {r.contender: r for r in rows if r.group in ("keyring", "keyring-flood")}
    if not found:
        return []
    lines = [
        "### The keyring (1 KiB, one secret, default scheme)",
        "",
        "| measurement | value |",
        "|---|---:|",
    ]
    if STATIC in found and WARM in found:
        static, warm = found[STATIC], found[WARM]
        lines += [
            f"| {STATIC}, µs | {static.ns / 1000:.2f} |",
            f"| {WARM}, µs | {static.ns * warm.ratio / 1000:.2f} |",
            f"| warm keyring / static set | {warm.ratio:.2f}x |",
        ]
    if "source fetches" in found:
        flood = found["source fetches"]
        lines.append(
            f"| source fetches caused by {flood.params['forged']:,} forged requests "
            f"(cooldown {flood.params['cooldown']:g} s, clock frozen) "
            f"| {flood.extra['fetches']} |"
        )
    lines += [
        "",
        "The fetch made by `start()` is not counted; a frozen monotonic clock keeps the whole "
        "flood inside one cooldown period.",
    ]
    return ["\n".join(lines)]


def targets(rows: Sequence[Row]) -> list[Outcome]:
    """At most one fetch per cooldown; a warm keyring close to a static set."""
    found = []
    for row in rows:
        if row.group == "keyring" and row.contender == WARM:
            found.append(
                ratio_outcome(
                    "warm Keyring / static SecretSet, Verifier.verify 1 KiB",
                    row.ratio,
                    1.5,
                    "hookseal's own bar",
                )
            )
        if row.group == "keyring-flood":
            found.append(
                count_outcome(
                    f"source fetches per cooldown under {FORGED:,} forged requests "
                    "(the design allows at most one)",
                    row.ratio,
                    1,
                )
            )
    return found
