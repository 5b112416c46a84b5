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
    "count_outcome",
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

    ``direction`` is ``"<="`` (must stay at or below), ``">="`` (at or above) or ``"=="``.
    ``gate`` says how the CI check (``--check``) treats it: empty for a goal that is only
    reported (a timing a busy machine can move), else how it gates (``"count"``: an exact
    number; ``"ratio, ..."``: a complexity ratio with a wide margin, measured again before it
    fails). ``where`` names the scenario that gave the value.
    """

    name: str
    value: float
    limit: float
    direction: str
    met: bool
    gate: str = ""
    note: str = ""
    unit: str = "x"
    """How ``value`` and ``limit`` are printed after the number: ``x`` (a ratio) or a unit."""
    where: str = ""

    @property
    def fails(self) -> bool:
        """True when this outcome fails the CI check."""
        return bool(self.gate) and not self.met

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
    """A "<= limit" goal on a timing ratio: reported, never a CI failure (noise moves it)."""
    return Outcome(name, value, limit, "<=", value <= limit, note=note, unit=unit)


def speedup_outcome(name: str, value: float, limit: float, note: str = "") -> Outcome:
    """A ">= limit" speed-up over a peer: reported, never a CI failure (noise moves it)."""
    return Outcome(name, value, limit, ">=", value >= limit, note=note)


def count_outcome(
    name: str, value: float, limit: float, where: str = "", *, exact: bool = False, unit: str = ""
) -> Outcome:
    """A CI gate on a counted number: at most ``limit``, or exactly it when ``exact``."""
    met = abs(value - limit) < 1e-9 if exact else value <= limit + 1e-9
    return Outcome(
        name, value, limit, "==" if exact else "<=", met, gate="count", unit=unit, where=where
    )
