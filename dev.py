#!/usr/bin/env python3
"""Set up a fresh clone and run the demo, the examples or the whole test suite, with nothing but
Python 3.10+.

    python3 dev.py demo       # installs what the demo uses, then: signed, forged, rotated webhooks
    python3 dev.py setup      # hookseal with every extra, for the examples and the docs' snippets
    python3 dev.py test       # lint, types, tests, docs, packaging, then the quick benchmarks
    python3 dev.py test-fast  # the same without the packaging checks and the benchmarks
    python3 dev.py package    # build, twine check, install the wheel into an empty venv and use it
    python3 dev.py docs       # build the documentation site into site/ (mkdocs, strict)
    python3 dev.py bench      # the full benchmark tables (installs wrk when it can)

Everything goes into ``.venv`` beside this file: ``demo`` installs hookseal with its ``demo``
extra only (FastAPI, uvicorn, httpx), ``setup`` adds every extra, ``test`` the ``dev`` extra
(the whole toolchain). Each is installed again only when pyproject.toml changed. ``test``
installs Debian's ``redis-server`` when it is missing (the Redis tests start a real one).
Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
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
SOURCE_PTH = "hookseal-source.pth"  # puts src/ on the path of a demo-only .venv
# Each extra with the extras it includes (pyproject.toml), so a bigger install satisfies a smaller.
INCLUDES = {
    "demo": {"demo"},
    "examples": {"demo", "all", "testing", "examples"},
    "dev": {"demo", "all", "testing", "examples", "dev"},
}
EXTRAS = {"demo": "demo", "examples": "all,demo,testing", "dev": "dev"}
WHAT = {
    "demo": "FastAPI, uvicorn and httpx: what the demo uses",
    "examples": "every framework and source extra, and what the examples use",
    "dev": "the whole development toolchain",
}


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


def installed() -> set[str]:
    """The install sets recorded in .venv for the current pyproject.toml."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    try:
        stamp = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return set()
    if not isinstance(stamp, dict) or stamp.get("pyproject") != wanted:
        return set()
    return set(stamp.get("sets", ()))


def ensure_venv(kind: str) -> None:
    """Create .venv and install hookseal with the extras of ``kind``, unless already there."""
    have = installed()
    if any(kind in INCLUDES[h] for h in have if h in INCLUDES):
        return
    started = time.monotonic()
    if not PYTHON.exists():
        say(f"creating {VENV.name} (a virtual environment beside dev.py)")
        # Without pip of its own when this interpreter's pip can install into it: installing
        # pip into a new venv costs several seconds of CPU that the demo does not need.
        venv.EnvBuilder(with_pip=host_pip() is None, clear=False).create(VENV)
    say(f"installing hookseal[{EXTRAS[kind]}] into {VENV.name}: {WHAT[kind]}")
    requirements = dependencies(EXTRAS[kind]) if kind == "demo" else None
    if requirements is not None:
        # The demo needs hookseal importable and its dependencies, not an installed
        # distribution: a .pth file saves building an editable wheel in an isolated build
        # environment (hatchling and its dependencies), about a third of the demo's set-up.
        pip_install(*requirements)
        site_packages(PYTHON).joinpath(SOURCE_PTH).write_text(str(ROOT / "src") + "\n")
    else:
        pip_install("-e", f".[{EXTRAS[kind]}]")
        for found in VENV.glob(f"lib*/*/site-packages/{SOURCE_PTH}"):
            found.unlink()  # the editable install puts src on the path itself
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    STAMP.write_text(json.dumps({"pyproject": wanted, "sets": sorted(have | {kind})}))
    print(f"    ready in {time.monotonic() - started:.0f} s", flush=True)


def dependencies(extras: str) -> list[str] | None:
    """hookseal's own requirements plus those of ``extras`` (comma separated), read from
    pyproject.toml, with ``hookseal[...]`` self-references expanded; None before Python 3.11,
    which has no TOML parser in its standard library."""
    try:  # by name: mypy checks this file as Python 3.10, whose standard library has no tomllib
        tomllib = importlib.import_module("tomllib")
    except ImportError:
        return None
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional: dict[str, list[str]] = project["optional-dependencies"]
    found: list[str] = list(project["dependencies"])
    pending, seen = extras.split(","), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for requirement in optional[extra]:
            if requirement.startswith("hookseal["):
                pending += requirement[len("hookseal[") : requirement.index("]")].split(",")
            else:
                found.append(requirement)
    return sorted(set(found))


def site_packages(python: Path) -> Path:
    """The site-packages directory of the environment of ``python``."""
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    return Path(subprocess.check_output([python, "-c", code], text=True).strip())  # noqa: S603


def host_pip() -> list[str] | None:
    """This interpreter's pip, when it can install into another environment (``--python``,
    pip 22.3 and later); None otherwise."""
    try:
        import pip
    except ImportError:
        return None
    version = tuple(int(part) for part in pip.__version__.split(".")[:2] if part.isdigit())
    return [sys.executable, "-m", "pip"] if version >= (22, 3) else None


def pip_for(python: Path) -> list[str]:
    """The pip command that installs into the environment of ``python``."""
    host = host_pip()
    if host is not None:
        return [*host, "--python", str(python)]
    if subprocess.call([python, "-m", "pip", "--version"], stdout=subprocess.DEVNULL) != 0:  # noqa: S603
        run(python, "-m", "ensurepip", "--default-pip")
    return [str(python), "-m", "pip"]


def pip_install(*args: str) -> None:
    """pip install, showing one line per package as pip collects it (progress, not noise).

    ``--no-compile``: bytecode is written on first import instead, only for what is imported.
    """
    command = [*pip_for(PYTHON), "install", "--progress-bar", "off", "--no-compile", *args]
    env = dict(os.environ, PYTHONUNBUFFERED="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    process = subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    log: list[str] = []
    collected = 0
    for line in process.stdout:
        log.append(line)
        if line.startswith("Collecting "):
            collected += 1
            print(f"    [{collected:>3}] {line.split()[1]}", flush=True)
        elif line.startswith("Installing collected packages"):
            print("    installing...", flush=True)
    if process.wait() != 0:
        print("".join(log[-60:]))
        sys.exit(f"pip install failed: {' '.join(command)}")


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
    ensure_venv("dev")
    ensure_wrk()
    say("full benchmarks")
    sys.exit(run(PYTHON, "-m", "benchmarks", check=False))


def demo() -> None:
    ensure_venv("demo")
    say("running the demo: a sender posts signed, forged and rotated webhooks to an example app")
    run(PYTHON, "examples/demo.py")


def setup() -> None:
    ensure_venv("examples")
    print(f"\n{VENV.name} is ready: run the examples and the CLI with {BIN.relative_to(ROOT)}/...")


def docs(site: Path | None = None) -> None:
    ensure_venv("dev")
    say("documentation (mkdocs build --strict)")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # mkdocs-material's note about its future
    run(*mkdocs_build(site or ROOT / "site"), env=env)


def mkdocs_build(site: Path) -> list[str | Path]:
    """The site's build command. Never ``--quiet``: it hides the warnings that ``--strict``
    counts (mkdocs 1.6), so a broken link or a page left out of the nav would pass."""
    return [BIN / "mkdocs", "build", "--strict", "--site-dir", site]


def package() -> None:
    """Build the sdist and wheel, check them, and use the wheel in an empty environment."""
    ensure_venv("dev")
    work = Path(tempfile.mkdtemp(prefix="hookseal-package-"))
    say("package: build the sdist and the wheel, then twine check")
    run(PYTHON, "-m", "build", "--no-isolation", "--outdir", work / "dist", ".")
    dists = sorted((work / "dist").iterdir())
    run(BIN / "twine", "check", "--strict", *dists)
    wheel = next(d for d in dists if d.suffix == ".whl")
    say(f"package: install {wheel.name} into an empty venv (no extras) and use it")
    smoke = work / "venv"
    venv.EnvBuilder(with_pip=False).create(smoke)
    smoke_bin = smoke / BIN.relative_to(VENV)
    smoke_python = smoke_bin / PYTHON.name
    run(*pip_for(smoke_python), "install", "--quiet", wheel)
    script = work / "smoke.py"
    script.write_text(SMOKE)
    run(smoke_python, script, env=dict(os.environ, PYTHONPATH=""))
    body = work / "body.json"
    body.write_bytes(b'{"id":"evt_1"}')
    env = dict(os.environ, WEBHOOK_SECRET="wheel-smoke-secret")  # noqa: S106 - a test value
    hookseal = smoke_bin / ("hookseal.exe" if os.name == "nt" else "hookseal")
    run(hookseal, "--version")
    signed = subprocess.run(  # noqa: S603
        [hookseal, "sign", "--secret-env", "WEBHOOK_SECRET", "--body-file", body],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    print(f"$ {hookseal.name} sign ... | {hookseal.name} verify ...", flush=True)
    headers = work / "headers.txt"
    headers.write_text(signed)
    run(
        hookseal,
        "verify",
        "--secret-env",
        "WEBHOOK_SECRET",
        "--body-file",
        body,
        "--headers-file",
        headers,
        env=env,
    )
    shutil.rmtree(work)


SMOKE = """
import importlib.util, sys
import hookseal
from hookseal import ConfigurationError, sign, verify
body = b'{"id": "evt_1"}'
result = verify(body, sign(body, "smoke-secret", scheme="stripe"), "smoke-secret", scheme="stripe")
assert result.scheme == "stripe", result
assert hookseal.__file__.startswith(sys.prefix), hookseal.__file__  # the wheel, not the clone
optional = ("fastapi", "flask", "django", "redis", "boto3", "httpx")
missing = [m for m in optional if importlib.util.find_spec(m) is not None]
assert not missing, f"an empty venv has {missing}"
try:
    from hookseal.sources import RedisSource
    RedisSource("redis://127.0.0.1:6379/0")
except ConfigurationError as exc:
    refusal = str(exc)
    assert "'redis' extra" in refusal, refusal
else:
    raise AssertionError("RedisSource was built without redis-py")
print(f"import hookseal {hookseal.__version__} from {hookseal.__file__}")
print(f"verify(): {result.scheme} delivery verified with secret {result.secret_id}")
print(f"no extra installed: {', '.join(optional)} cannot be imported")
print("without its extra, RedisSource says: " + refusal)
"""


def run_tests(full: bool = True) -> None:
    """Lint and types (they stop the run), the suite, the docs build, then (``full``) the
    packaging checks and the quick benchmark check. Every step after the suite runs even when
    an earlier one failed; the suite's summary line is printed last, whatever failed, and the
    first failure is the exit status."""
    ensure_venv("dev")
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
    steps: list[tuple[str, Callable[[], None]]] = [
        ("the documentation build failed", partial(docs, report.parent / "site"))
    ]
    if full:
        steps.append(("the package checks failed", package))
        steps.append(("the benchmark check failed (see its Gates FAILED line)", bench_check))
    for message, step in steps:
        step_code = attempt(step)
        if step_code != 0:
            failures.append((step_code, message))
    for _, message in failures:
        print(f"\n{message}")
    print(f"\n{summary}", flush=True)  # the suite's result, last, so it is what a reader sees
    if failures:
        sys.exit(failures[0][0])


def bench_check() -> None:
    say("quick benchmark check (counted invariants and complexity ratios, not timings)")
    run(PYTHON, "-m", "benchmarks", "--quick", "--check")


def attempt(step: Callable[[], None]) -> int:
    """Run a step that stops with sys.exit on failure; its exit status (0 when it passed)."""
    try:
        step()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) and stop.code else 1
    return 0


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
        "setup": setup,
        "test": run_tests,
        "test-fast": partial(run_tests, full=False),
        "package": package,
        "docs": docs,
        "bench": bench,
    }
    if len(argv) != 1 or argv[0] not in commands:
        sys.exit("usage: python3 dev.py " + " | ".join(commands))
    commands[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
