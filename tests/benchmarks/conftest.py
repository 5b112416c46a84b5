"""The counted gate's tests count the pure-Python path (hashlib calls, Python frames): with the
C accelerator those calls happen in C and are not seen, so they run in the pure-Python pass of
``dev.py test`` (HOOKSEAL_NO_SPEEDUPS=1) and are skipped in the accelerated one."""

from __future__ import annotations

import pytest

from hookseal import speedups_enabled


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not speedups_enabled():
        return
    here = "tests/benchmarks/"
    skip = pytest.mark.skip(reason="counts the pure-Python path: runs in the pure-Python pass")
    for item in items:
        if item.nodeid.startswith(here):
            item.add_marker(skip)
