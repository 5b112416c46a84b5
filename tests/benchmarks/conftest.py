"""The counted gate's tests count the pure-Python path (hashlib calls, Python frames): with the
C accelerator those calls happen in C and are not seen, so they run in the pure-Python pass of
``dev.py test`` (HOOKSEAL_NO_SPEEDUPS=1) and are skipped in the accelerated one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hookseal import _fastpath, speedups_enabled


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not speedups_enabled():
        return
    here = "tests/benchmarks/"
    skip = pytest.mark.skip(reason="counts the pure-Python path: runs in the pure-Python pass")
    for item in items:
        if item.nodeid.startswith(here):
            item.add_marker(skip)


Check = Callable[[Any, Any, Any], Any]


@pytest.fixture
def careful_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default scheme's fused check (hookseal/_fastpath.py) off, so that a regression
    injected into the careful path's parts (HmacMaterial.matches, Verifier._find_among) is on
    the path the gate measures, as it is for every other scheme."""
    monkeypatch.setattr(_fastpath, "signature_check", lambda verifier, result_type: None)


@pytest.fixture
def fused(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[Check], Check]], None]:
    """``fused(wrap)``: every fused check made from now on is ``wrap(check)``, a regression
    injected into the default scheme's one-frame path."""

    def inject(wrap: Callable[[Check], Check]) -> None:
        original = _fastpath.signature_check

        def patched(verifier: Any, result_type: Any) -> Check | None:
            check = original(verifier, result_type)
            return None if check is None else wrap(check)

        monkeypatch.setattr(_fastpath, "signature_check", patched)

    return inject
