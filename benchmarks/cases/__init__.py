"""Benchmark cases, one module per subject, run in the order of :data:`CASE_MODULES`.

A case module provides three functions (see :class:`CaseModule`):

- ``measure(config) -> list[Row]``: time its groups with :func:`benchmarks.timing.measure`
  (contenders interleaved, ratios to a reference timed in the same group);
- ``tables(rows) -> list[str]``: markdown tables of its own rows;
- ``targets(rows) -> list[Outcome]``: its targets, met or missed; those with a ``gate`` are
  what ``--check`` fails on (counts and complexity ratios, never a plain timing).

The CI gate is ``invariants.py`` (counted), ``complexity.py`` (timed ratios with wide margins),
``memory.py`` (tracemalloc) and the keyring's flood count; the timing tables are
``verify.py``, ``peers.py``, ``asgi.py``, ``servers.py``, ``wsgi.py`` and ``keyring.py``
(helpers: ``apps.py``, ``loadgen.py``, ``serve.py``). A new subject is one more module listed
in :data:`CASE_MODULES`; nothing else in the harness needs to change.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol

from ..model import Config, Outcome, Row

__all__ = ["CASE_MODULES", "QUICK_MODULES", "CaseModule", "load"]

CASE_MODULES: tuple[str, ...] = (
    "invariants",
    "complexity",
    "memory",
    "keyring",
    "verify",
    "peers",
    "providers",
    "metrics",
    "asgi",
    "servers",
    "wsgi",
)
"""Module names under ``benchmarks.cases``, in the order they run (full mode)."""

QUICK_MODULES: tuple[str, ...] = ("invariants", "complexity", "memory", "keyring", "verify")
"""What ``--quick`` runs: the gate, plus the verify() ratios at 1 KiB and 1 MiB for reading."""


class CaseModule(Protocol):
    """What the runner needs from a case module."""

    TITLE: str

    def measure(self, config: Config) -> list[Row]: ...

    def tables(self, rows: Sequence[Row]) -> list[str]: ...

    def targets(self, rows: Sequence[Row]) -> list[Outcome]: ...


def load(names: Sequence[str] = CASE_MODULES) -> list[CaseModule]:
    """Import the named case modules (``--only`` picks a subset)."""
    modules: list[CaseModule] = []
    for name in names:
        module = importlib.import_module(f"{__name__}.{name}")
        modules.append(module)  # type: ignore[arg-type,unused-ignore]
    return modules
