"""The shapes every case module shares: run settings, measured rows, target outcomes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "KIB",
    "MIB",
    "Config",
    "Outcome",
    "Row",
    "ratio_outcome",
    "size_label",
    "speedup_outcome",
]

KIB = 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class Config:
    """How hard to measure. ``quick`` trades sizes and repetitions for a CI-sized run."""

    quick: bool
    repeats: int
    batch_ns: int

    @classmethod
    def make(cls, quick: bool) -> Config:
        if quick:
            return cls(quick=True, repeats=61, batch_ns=5_000_000)
        return cls(quick=False, repeats=61, batch_ns=6_000_000)


@dataclass(frozen=True)
class Row:
    """One contender's median in one group, and its ratio to the group's reference.

    ``group`` names the measurement (contenders of one group were interleaved in one run);
    ``params`` says what was measured (scheme, size, secrets, traffic, ...). Cases that measure
    something other than time per call (requests per second, peak memory) put it in ``extra``.
    """

    group: str
    contender: str
    ns: float
    reference: str
    ratio: float
    params: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    """A target checked against this run: ``value`` against ``limit`` in ``direction``.

    ``direction`` is ``"<="`` (a ratio that must stay low) or ``">="`` (a speed-up that must
    stay high). ``gross`` is the CI tripwire: True when the value is a gross regression.
    """

    name: str
    value: float
    limit: float
    direction: str
    met: bool
    gross: bool
    gross_rule: str
    note: str = ""
    unit: str = "x"
    """How ``value`` and ``limit`` are printed after the number: ``x`` (a ratio) or a unit."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def size_label(size: int) -> str:
    """64 B, 1 KiB, 16 KiB, 1 MiB."""
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} B"


def ratio_outcome(
    name: str, value: float, limit: float, note: str = "", unit: str = "x"
) -> Outcome:
    """A "<= limit" target; gross when more than twice the limit."""
    return Outcome(
        name=name,
        value=value,
        limit=limit,
        direction="<=",
        met=value <= limit,
        gross=value > 2 * limit,
        gross_rule=f"> {2 * limit:.2f}{unit}",
        note=note,
        unit=unit,
    )


def speedup_outcome(name: str, value: float, limit: float, note: str = "") -> Outcome:
    """A ">= limit" speed-up over a peer; gross when hookseal is slower than the peer."""
    return Outcome(
        name=name,
        value=value,
        limit=limit,
        direction=">=",
        met=value >= limit,
        gross=value < 1.0,
        gross_rule="< 1.00 (slower than the peer)",
        note=note,
    )
