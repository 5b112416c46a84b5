"""The build hook (hatch_build.py): a source build without a working compiler (or without
OpenSSL's headers) still succeeds, as pure Python, unless HOOKSEAL_REQUIRE_SPEEDUPS=1 asks for
the accelerator."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _hook_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hatch_build", ROOT / "hatch_build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wheel_build(module: ModuleType) -> dict[str, Any]:
    """What the hook leaves in build_data for a regular (not editable) wheel."""
    hook = module.CustomBuildHook.__new__(module.CustomBuildHook)  # no hatchling set-up needed
    build_data: dict[str, Any] = {"force_include": {}}
    hook.initialize("standard", build_data)
    hook.finalize("standard", build_data, "")
    return build_data


def test_without_a_compiler_the_wheel_is_pure_python(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CC", "false")  # a compiler that always fails
    monkeypatch.delenv("HOOKSEAL_REQUIRE_SPEEDUPS", raising=False)
    module = _hook_module()
    assert _wheel_build(module) == {"force_include": {}}  # no extension, no platform tag
    assert "stays pure Python" in capsys.readouterr().err


def test_without_openssl_headers_the_wheel_is_pure_python(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = tmp_path / "_speedups.c"
    source.write_text("#include <openssl/no-such-header.h>\n")
    module = _hook_module()
    monkeypatch.setattr(module, "SOURCE", source)
    monkeypatch.delenv("HOOKSEAL_REQUIRE_SPEEDUPS", raising=False)
    assert _wheel_build(module) == {"force_include": {}}


def test_a_required_accelerator_that_does_not_build_fails_the_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CC", "false")
    monkeypatch.setenv("HOOKSEAL_REQUIRE_SPEEDUPS", "1")
    with pytest.raises(RuntimeError, match="did not build"):
        _wheel_build(_hook_module())
