#!/usr/bin/env python3
"""Set up a fresh clone and run the demo or the whole test suite, with nothing but Python 3.10+.

    python3 dev.py demo     # an example app receiving signed, forged and rotated webhooks
    python3 dev.py test     # lint, types, every test (twice: with the C accelerator and in
                            # pure Python), fuzzing under AddressSanitizer, quick benchmarks
    python3 dev.py fuzz     # only the fuzzing (python3 dev.py fuzz SECONDS)

It creates ``.venv`` beside this file, installs the project with its ``dev`` extra (again only
when pyproject.toml or the C accelerator's sources changed), installs Debian's ``redis-server``
and ``libssl-dev`` (OpenSSL's headers, for the accelerator) when they are missing, and runs
everything from that environment. Standard library only: this file runs before anything is
installed.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".hookseal-installed"
BUILD_INPUTS = ("pyproject.toml", "hatch_build.py", "src/hookseal/_speedups.c")
"""An editable install compiles the C accelerator in place: reinstall when these change."""
FUZZ_SECONDS = 60


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
    installed_tools = ensure_openssl_headers()
    inputs = hashlib.sha256()
    for name in BUILD_INPUTS:
        inputs.update((ROOT / name).read_bytes())
    wanted = inputs.hexdigest()
    current = PYTHON.exists() and STAMP.exists() and STAMP.read_text() == wanted
    if current and not installed_tools:
        return
    if not PYTHON.exists():
        say(f"creating {VENV.name}")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)
    say("installing hookseal and its development dependencies")
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted)


def ensure_openssl_headers() -> bool:
    """The C accelerator compiles against OpenSSL's libcrypto: install Debian's libssl-dev (and
    a C compiler) when missing. True when something was installed (the build must run again).
    Without apt or root, hookseal is built as pure Python and check_speedups() says so."""
    if sys.platform != "linux" or Path("/usr/include/openssl/sha.h").exists():
        return False
    apt = shutil.which("apt-get")
    if apt is None or not (hasattr(os, "geteuid") and os.geteuid() == 0):
        return False
    packages = ["libssl-dev"] + ([] if shutil.which("cc") else ["gcc", "libc6-dev"])
    say(f"installing {' '.join(packages)} (Debian) for the C accelerator")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(apt, "update", "-qq", env=env)
    run(apt, "install", "-y", "-qq", "--no-install-recommends", *packages, env=env)
    return True


def speedups_built() -> bool:
    """Whether the installed hookseal has its C accelerator (whatever the environment says)."""
    env = {k: v for k, v in os.environ.items() if k != "HOOKSEAL_NO_SPEEDUPS"}
    probe = "import hookseal, sys; sys.exit(0 if hookseal.speedups_enabled() else 1)"
    return subprocess.call([str(PYTHON), "-c", probe], cwd=ROOT, env=env) == 0  # noqa: S603


def check_speedups() -> bool:
    """The tests must see the accelerator when it can be built: in CI its absence fails."""
    if speedups_built():
        return True
    message = (
        "the C accelerator (hookseal._speedups) is not built: a C compiler and OpenSSL's "
        "headers (Debian: gcc libssl-dev) are needed; see the install output above"
    )
    if os.environ.get("CI"):
        sys.exit(message)
    print(f"\nnote: {message}; testing pure Python only", flush=True)
    return False


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


def run_tests(bench: bool = True, fuzzing: bool = True) -> None:
    ensure_venv()
    ensure_redis_server()
    accelerated = check_speedups() and not os.environ.get("HOOKSEAL_NO_SPEEDUPS")
    lint = ("src", "tests", "benchmarks", "examples", "dev.py", "hatch_build.py")
    say("lint and format (ruff)")
    run(BIN / "ruff", "check", *lint)
    run(BIN / "ruff", "format", "--check", *lint)
    say("types (mypy, strict)")
    run(BIN / "mypy")
    path = "with the C accelerator" if accelerated else "pure Python"
    say(f"tests (pytest, {path})")
    counts = pytest_pass()
    if accelerated:
        # The same tests on the pure-Python path (tests/conftest.py says which are left out).
        say("tests again in pure Python (HOOKSEAL_NO_SPEEDUPS=1, without the server tests)")
        env = dict(os.environ, HOOKSEAL_NO_SPEEDUPS="1")
        pure = pytest_pass("--pure-python-pass", env=env)
        print(f"\npure Python pass: {summary_line(pure)}", flush=True)
        counts = (counts[0] + pure[0], counts[1] + pure[1], counts[2] + pure[2])
        if fuzzing:
            fuzz(FUZZ_SECONDS)
    if bench:
        say("quick benchmarks (fails only on a gross regression)")
        run(PYTHON, "-m", "benchmarks", "--quick", "--check")
    print(f"\ntests: {summary_line(counts)}")  # the result, last, so it is what a reader sees


def pytest_pass(*options: str, env: dict[str, str] | None = None) -> tuple[int, int, int]:
    """Run pytest; (passed, failed, skipped), or stop the whole run if anything failed."""
    report = Path(tempfile.mkdtemp(prefix="hookseal-tests-")) / "junit.xml"
    command: list[str | Path] = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command = [PYTHON, *command, f"--junitxml={report}"]
    code = run(*command, *options, check=False, env=env)
    if code == 5:
        sys.exit("pytest collected no tests: that is a failure, not a pass")
    if code != 0:
        sys.exit(code)
    return test_counts(report)


def summary_line(counts: tuple[int, int, int]) -> str:
    passed, failed, skipped = counts
    return f"{passed} passed, {failed} failed, {skipped} skipped"


def test_counts(report: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) from pytest's JUnit XML report."""
    suite = ElementTree.parse(report).getroot()  # noqa: S314 - our own file, just written
    if suite.tag == "testsuites":
        suite = suite[0]
    total, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    if total - skipped - failed <= 0:
        sys.exit("pytest ran no test: that is a failure, not a pass")
    return total - skipped - failed, failed, skipped


def fuzz(seconds: int) -> None:
    """Build the C accelerator with AddressSanitizer and fuzz it against the Python path."""
    ensure_venv()
    runtime = asan_runtime()
    if runtime is None:
        sys.exit("fuzzing needs gcc's AddressSanitizer runtime (libasan) on Linux")
    say(f"fuzzing the C accelerator under AddressSanitizer ({seconds} s)")
    with tempfile.TemporaryDirectory(prefix="hookseal-asan-") as build:
        run(PYTHON, "hatch_build.py", "--asan", build)
        (module,) = Path(build, "hookseal").glob("_speedups*")
        env = dict(
            os.environ,
            LD_PRELOAD=runtime,
            PYTHONMALLOC="malloc",  # every object its own allocation, so ASan sees its bounds
            ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:exitcode=1",
        )
        harness = ("tests/fuzz_speedups.py", "--module", module, "--seconds", str(seconds))
        run(PYTHON, *harness, env=env)


def asan_runtime() -> str | None:
    """gcc's libasan, preloaded into Python (which is not built with ASan itself)."""
    gcc = shutil.which("gcc")
    if sys.platform != "linux" or gcc is None:
        return None
    found = subprocess.run(  # noqa: S603
        [gcc, "-print-file-name=libasan.so"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return found if os.path.isabs(found) and os.path.exists(found) else None


def main(argv: list[str]) -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - this file runs before any check of ours
        sys.exit("hookseal needs Python 3.10 or newer")
    commands: dict[str, Callable[[], None]] = {
        "demo": demo,
        "test": run_tests,
        "test-fast": lambda: run_tests(bench=False, fuzzing=False),
    }
    if len(argv) == 2 and argv[0] == "fuzz" and argv[1].isdigit():
        return fuzz(int(argv[1]))
    if argv == ["fuzz"]:
        return fuzz(FUZZ_SECONDS)
    if len(argv) != 1 or argv[0] not in commands:
        sys.exit("usage: python3 dev.py demo | test | test-fast | fuzz [SECONDS]")
    commands[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
