#!/usr/bin/env python3
"""Set up a fresh clone and run the demo or the whole test suite, with nothing but Python 3.10+.

    python3 dev.py demo     # an example app receiving signed, forged and rotated webhooks
    python3 dev.py test     # lint, types, every test, then the quick benchmark check
    python3 dev.py bench    # the full benchmark tables (installs wrk when it can)

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
from collections.abc import Callable
from functools import partial
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


def ensure_wrk() -> None:
    """The real-server benchmarks load the servers with wrk when it is there (Debian's
    package); without it they fall back to a pure-Python load generator, so this never fails."""
    if shutil.which("wrk"):
        return
    apt = shutil.which("apt-get")
    if apt is None or not (hasattr(os, "geteuid") and os.geteuid() == 0):
        print("wrk not found: the server benchmarks use the pure-Python load generator")
        return
    say("installing wrk (Debian package) to load the benchmark servers")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(apt, "update", "-qq", env=env, check=False)
    run(apt, "install", "-y", "-qq", "--no-install-recommends", "wrk", env=env, check=False)


def bench() -> None:
    """The full benchmark tables (a few minutes); writes benchmarks/results.json."""
    ensure_venv()
    ensure_wrk()
    say("full benchmarks")
    sys.exit(run(PYTHON, "-m", "benchmarks", check=False))


def demo() -> None:
    ensure_venv()
    say("running the demo: a sender posts signed, forged and rotated webhooks to an example app")
    run(PYTHON, "examples/demo.py")


def run_tests(bench: bool = True) -> None:
    """Lint, types, the suite, then the quick benchmark check; the suite's summary line is
    printed last whatever failed after lint and types, and the first failure is the exit."""
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
    summary, ran = test_summary(report, code)
    failures: list[tuple[int, str]] = []
    if code == 5 or (code == 0 and not ran):
        failures.append((5, "pytest ran no test: that is a failure, not a pass"))
    elif code != 0:
        failures.append((code, f"pytest failed with exit status {code}"))
    if bench:
        say("quick benchmark check (counted invariants and complexity ratios, not timings)")
        bench_code = run(PYTHON, "-m", "benchmarks", "--quick", "--check", check=False)
        if bench_code != 0:
            failures.append((bench_code, "the benchmark check failed (see its Gates FAILED line)"))
    for _, message in failures:
        print(f"\n{message}")
    print(f"\n{summary}", flush=True)  # the suite's result, last, so it is what a reader sees
    if failures:
        sys.exit(failures[0][0])


def test_summary(report: Path, code: int) -> tuple[str, bool]:
    """('tests: N passed, N failed, N skipped', whether any test passed or failed) from
    pytest's JUnit XML report; a line that says so when there is no readable report."""
    try:
        suite = ElementTree.parse(report).getroot()  # noqa: S314 - our own file, just written
    except (OSError, ElementTree.ParseError):
        return f"tests: no report (pytest exited with status {code})", False
    if suite.tag == "testsuites":
        suite = suite[0]
    total, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    passed = total - skipped - failed
    return f"tests: {passed} passed, {failed} failed, {skipped} skipped", passed + failed > 0


def main(argv: list[str]) -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - this file runs before any check of ours
        sys.exit("hookseal needs Python 3.10 or newer")
    commands: dict[str, Callable[[], None]] = {
        "demo": demo,
        "test": run_tests,
        "test-fast": partial(run_tests, bench=False),
        "bench": bench,
    }
    if len(argv) != 1 or argv[0] not in commands:
        sys.exit("usage: python3 dev.py demo | test | test-fast | bench")
    commands[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
