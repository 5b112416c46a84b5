#!/usr/bin/env python3
"""Set up a fresh clone and run the demo or the whole test suite, with nothing but Python 3.10+.

    python3 dev.py demo     # an example app receiving signed, forged and rotated webhooks
    python3 dev.py test     # lint, types, every test, then the quick benchmark check

It creates ``.venv`` beside this file, installs the project with its ``dev`` extra (again only
when pyproject.toml changed), installs Debian's ``redis-server`` when the tests need it and it
is missing, and runs everything from that environment. Standard library only: this file runs
before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".hookseal-installed"


def say(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def run(*command: str | Path, check: bool = True, env: dict[str, str] | None = None) -> int:
    """Run a command from the repo root, echoing it; stop the whole run on failure."""
    print("$ " + " ".join(str(c) for c in command), flush=True)
    code = subprocess.call([str(c) for c in command], cwd=ROOT, env=env)  # noqa: S603
    if check and code != 0:
        print(f"\nfailed with exit status {code}: {' '.join(str(c) for c in command)}")
        sys.exit(code)
    return code


def ensure_venv() -> None:
    """Create .venv and install the project with the dev extra, unless already up to date."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PYTHON.exists():
        say(f"creating {VENV.name}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    say("installing hookseal and its development dependencies")
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted)


def ensure_redis_server() -> None:
    """The Redis tests start a real redis-server; install Debian's package if it is missing."""
    if shutil.which("redis-server"):
        return
    apt = shutil.which("apt-get")
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if apt is None or not is_root:
        sys.exit(
            "redis-server is needed by the tests and is not installed; install it "
            "(Debian/Ubuntu: sudo apt-get install redis-server) and run again"
        )
    say("installing redis-server (Debian package) for the Redis tests")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(apt, "update", "-qq", env=env)
    run(apt, "install", "-y", "-qq", "--no-install-recommends", "redis-server", env=env)
    if not shutil.which("redis-server"):
        sys.exit("redis-server still not found after installing it")


def demo() -> None:
    ensure_venv()
    say("running the demo: a sender posts signed, forged and rotated webhooks to an example app")
    run(PYTHON, "examples/demo.py")


def run_tests(bench: bool = True) -> None:
    ensure_venv()
    ensure_redis_server()
    say("lint and format (ruff)")
    run(BIN / "ruff", "check", "src", "tests", "benchmarks", "examples", "dev.py")
    run(BIN / "ruff", "format", "--check", "src", "tests", "benchmarks", "examples", "dev.py")
    say("types (mypy, strict)")
    run(BIN / "mypy")
    say("tests (pytest)")
    report = Path(tempfile.mkdtemp(prefix="hookseal-tests-")) / "junit.xml"
    code = run(
        PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", check=False
    )
    if code == 5:
        sys.exit("pytest collected no tests: that is a failure, not a pass")
    if code != 0:
        sys.exit(code)
    summary = test_summary(report)
    if bench:
        say("quick benchmarks (fails only on a gross regression)")
        run(PYTHON, "-m", "benchmarks", "--quick", "--check")
    print(f"\n{summary}")  # the suite's result, last, so it is what a reader of the log sees


def test_summary(report: Path) -> str:
    """'tests: N passed, N failed, N skipped' from pytest's JUnit XML report."""
    suite = ElementTree.parse(report).getroot()  # noqa: S314 - our own file, just written
    if suite.tag == "testsuites":
        suite = suite[0]
    total, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    if total - skipped - failed <= 0:
        sys.exit("pytest ran no test: that is a failure, not a pass")
    return f"tests: {total - skipped - failed} passed, {failed} failed, {skipped} skipped"


def main(argv: list[str]) -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - this file runs before any check of ours
        sys.exit("hookseal needs Python 3.10 or newer")
    commands = {"demo": demo, "test": run_tests, "test-fast": lambda: run_tests(bench=False)}
    if len(argv) != 1 or argv[0] not in commands:
        sys.exit("usage: python3 dev.py demo | test | test-fast")
    commands[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
