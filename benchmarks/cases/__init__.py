"""Benchmark cases, one module per subject, run in the order of :data:`CASE_MODULES`.

A case module provides three functions (see :class:`CaseModule`):

- ``measure(config) -> list[Row]``: time its groups with :func:`benchmarks.timing.measure`
  (contenders interleaved, ratios to a reference timed in the same group);
- ``tables(rows) -> list[str]``: markdown tables of its own rows;
- ``targets(rows) -> list[Outcome]``: its targets, met or missed, and whether a value is a
  gross regression (what ``--check`` fails on).

The middleware, keyring and memory benchmarks are
``asgi.py``, ``wsgi.py``, ``memory.py`` and ``keyring.py`` (helpers: ``apps.py``, ``loopback.py``,
``serve.py``); a new subject is one more module listed in
:data:`CASE_MODULES`; nothing else in the harness needs to change.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol

from ..model import Config, Outcome, Row

__all__ = ["CASE_MODULES", "CaseModule", "load"]

CASE_MODULES: tuple[str, ...] = (
    "verify",
    "peers",
    "providers",
    "asgi",
    "wsgi",
    "memory",
    "keyring",
    "metrics",
)
"""Module names under ``benchmarks.cases``, in the order they run."""


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
        modules.append(module)  # type: ignore[arg-type]
    return modules
