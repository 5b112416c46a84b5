"""Build hook: compile the optional C accelerator ``hookseal._speedups`` into the wheel.

The accelerator is optional at every level. Without a C compiler, Python's headers or
OpenSSL's (Debian: ``libssl-dev``), the build prints why and goes on, and hookseal runs in pure
Python. ``HOOKSEAL_REQUIRE_SPEEDUPS=1`` makes that a failure instead (release wheels, CI);
``HOOKSEAL_OPENSSL_DIR`` names an OpenSSL installation outside the compiler's default paths.

Run as a script it builds the extension alone, for the AddressSanitizer fuzz step of dev.py:
``python hatch_build.py --asan DIRECTORY``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT / "src" / "hookseal" / "_speedups.c"
MODULE = "hookseal._speedups"
PACKAGE_DIR = ROOT / "src" / "hookseal"

if TYPE_CHECKING:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
else:
    try:
        from hatchling.builders.hooks.plugin.interface import BuildHookInterface
    except ImportError:  # run as a script, outside a build: only build_extension() is used
        BuildHookInterface = object


def _say(message: str) -> None:
    print(f"hookseal build: {message}", file=sys.stderr, flush=True)


def _openssl_paths() -> tuple[list[str], list[str]]:
    """Include and library directories of HOOKSEAL_OPENSSL_DIR (empty: the defaults)."""
    base = os.environ.get("HOOKSEAL_OPENSSL_DIR")
    if not base:
        return [], []
    root = Path(base)
    libraries = [root / "lib", root / "lib64", root / "lib" / "VC" / "x64" / "MD"]
    return [str(root / "include")], [str(p) for p in libraries if p.is_dir()]


def build_extension(target: Path, *, asan: bool = False) -> Path:
    """Compile the extension into ``target`` (a package tree); raise if anything is missing."""
    from setuptools import Distribution, Extension  # type: ignore[import-untyped]

    windows = sys.platform == "win32"
    includes, library_dirs = _openssl_paths()
    compile_args = [] if windows else ["-std=c99", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    link_args: list[str] = []
    macros: list[tuple[str, str | None]] = []
    if asan:
        compile_args += ["-fsanitize=address", "-fno-omit-frame-pointer", "-g", "-O1"]
        link_args += ["-fsanitize=address"]
        macros.append(("HOOKSEAL_FUZZ", "1"))
    extension = Extension(
        MODULE,
        sources=[str(SOURCE)],
        include_dirs=includes,
        library_dirs=library_dirs,
        libraries=["libcrypto"] if windows else ["crypto"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=macros,
    )
    distribution = Distribution({"name": "hookseal", "ext_modules": [extension]})
    command: Any = distribution.get_command_obj("build_ext")
    with tempfile.TemporaryDirectory(prefix="hookseal-build-") as scratch:
        command.build_lib = str(target)
        command.build_temp = scratch
        command.ensure_finalized()
        command.run()
    built = Path(command.get_ext_fullpath(MODULE))
    if not built.is_file():
        raise RuntimeError(f"the compiler reported success but {built} is missing")
    return built


def _stale_builds() -> list[Path]:
    return [p for p in PACKAGE_DIR.glob("_speedups.*") if p.suffix in (".so", ".pyd")]


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Hatchling hook for the wheel target (regular and editable builds)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        editable = version == "editable"
        if editable:
            for stale in _stale_builds():  # never run an accelerator built from older code
                stale.unlink()
        self._scratch = Path(tempfile.mkdtemp(prefix="hookseal-wheel-"))
        try:
            built = build_extension(self._scratch)
        except Exception as error:  # any failure means: stay pure Python
            if os.environ.get("HOOKSEAL_REQUIRE_SPEEDUPS") == "1":
                raise RuntimeError(f"the C accelerator did not build: {error}") from error
            _say(f"the C accelerator did not build ({error}); hookseal stays pure Python")
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if editable:  # the package is imported from src/: the extension goes beside it
            shutil.copy2(built, PACKAGE_DIR / built.name)
        else:
            build_data["force_include"][str(built)] = f"hookseal/{built.name}"
        _say(f"built the C accelerator {built.name}")

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str]) -> None:
    if len(argv) != 2 or argv[0] != "--asan":
        sys.exit("usage: python hatch_build.py --asan DIRECTORY")
    built = build_extension(Path(argv[1]), asan=True)
    print(built)


if __name__ == "__main__":
    main(sys.argv[1:])
