"""The switch (hookseal/_accel.py): HOOKSEAL_NO_SPEEDUPS=1 turns the C accelerator off,
``speedups_enabled()`` says which path is in use, and a missing or stale build is pure Python."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

import hookseal
from hookseal import _accel

PROBE = (
    "import hookseal; "
    "print(hookseal.speedups_enabled(), hookseal.verify(b'x', hookseal.sign(b'x', 's'), 's')[0])"
)


def _probe(**env: str) -> str:
    """speedups_enabled() and a verification in a fresh interpreter with ``env`` set."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_speedups_enabled_is_public() -> None:
    assert "speedups_enabled" in hookseal.__all__
    assert hookseal.speedups_enabled() is (_accel._speedups is not None)


def test_the_environment_variable_turns_the_accelerator_off() -> None:
    secret_id = hookseal.Secret("s").id
    assert _probe(HOOKSEAL_NO_SPEEDUPS="1") == f"False {secret_id}"
    if importlib.util.find_spec("hookseal._speedups") is not None:  # built: "0" means use it
        assert _probe(HOOKSEAL_NO_SPEEDUPS="0").startswith("True")


def test_a_missing_build_is_pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKSEAL_NO_SPEEDUPS", raising=False)
    monkeypatch.setitem(sys.modules, "hookseal._speedups", None)  # import fails
    assert _accel._load() is None


def test_a_build_from_other_sources_is_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOKSEAL_NO_SPEEDUPS", raising=False)
    stale = type(sys)("hookseal._speedups")
    stale.ABI = _accel.ABI + 1  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hookseal._speedups", stale)
    assert _accel._load() is None
    stale.ABI = _accel.ABI  # type: ignore[attr-defined]
    assert _accel._load() is stale


def test_pure_python_has_no_c_twins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_accel, "_speedups", None)
    assert _accel.hmac_key(b"key") is None
    verifier = hookseal.Verifier("secret")
    assert verifier._fast is not None  # the fused pure-Python check (hookseal/_fastpath.py)
    assert not hasattr(verifier._fast, "__self__")  # a plain function, not a C plan's method
    assert verifier.verify(b"x", hookseal.sign(b"x", "secret")).secret_id
