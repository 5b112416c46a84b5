#!/usr/bin/env python3
"""Set up a fresh clone and run the demo, the examples or the whole test suite, with nothing but
Python 3.10+.

    python3 dev.py demo       # installs what the demo uses, then: signed, forged, rotated webhooks
    python3 dev.py setup      # hookseal with every extra, for the examples and the docs' snippets
    python3 dev.py test       # lint, types, tests (with the C accelerator, then again in pure
                              # Python), docs, packaging, fuzzing under ASan, quick benchmarks
    python3 dev.py test-fast  # the same without the packaging checks, the fuzzing and benchmarks
    python3 dev.py package    # build, twine check, install the wheel into an empty venv and use
                              # it; the sdist and the wheel are left in dist/
    python3 dev.py docs       # build the documentation site into site/ (mkdocs, strict)
    python3 dev.py bench      # the full benchmark tables (installs wrk when it can)
    python3 dev.py fuzz [SECONDS]  # only the AddressSanitizer fuzzing of the C accelerator

Everything goes into ``.venv`` beside this file: ``demo`` installs hookseal with its ``demo``
extra only (FastAPI, uvicorn, httpx; pure Python), ``setup`` adds every extra (and pip, for the
user's own ``.venv/bin/pip install``), ``test`` the ``dev`` extra (the whole toolchain). Each is
installed again only when pyproject.toml or the C accelerator's sources changed. ``setup`` and
``test`` install Debian's ``libssl-dev`` (OpenSSL's headers, for the optional accelerator) and
``test`` Debian's ``redis-server`` when missing.
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
BUILD_INPUTS = ("pyproject.toml", "hatch_build.py", "src/hookseal/_speedups.c")
"""An editable install compiles the C accelerator in place: reinstall when these change."""
FUZZ_SECONDS = 60
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


def build_inputs() -> str:
    """A digest of what an install depends on (BUILD_INPUTS)."""
    inputs = hashlib.sha256()
    for name in BUILD_INPUTS:
        inputs.update((ROOT / name).read_bytes())
    return inputs.hexdigest()


def installed() -> set[str]:
    """The install sets recorded in .venv for the current pyproject.toml and C sources."""
    wanted = build_inputs()
    try:
        stamp = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return set()
    if not isinstance(stamp, dict) or stamp.get("pyproject") != wanted:
        return set()
    return set(stamp.get("sets", ()))


def ensure_venv(kind: str) -> None:
    """Create .venv and install hookseal with the extras of ``kind``, unless already there."""
    installed_tools = kind != "demo" and ensure_openssl_headers()
    have = set() if installed_tools else installed()  # new headers: build the accelerator again
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
    STAMP.write_text(json.dumps({"pyproject": build_inputs(), "sets": sorted(have | {kind})}))
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


def ensure_own_pip(python: Path) -> None:
    """Give the environment of ``python`` a pip of its own when it has none (a ``.venv`` made
    for the demo uses this interpreter's), so ``.venv/bin/pip install NAME`` works after setup."""
    check: list[str | Path] = [python, "-m", "pip", "--version"]
    if subprocess.call(check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:  # noqa: S603
        return
    print("    adding pip to the environment (for your own .venv/bin/pip install ...)", flush=True)
    run(python, "-m", "ensurepip", "--default-pip")


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
    ensure_own_pip(PYTHON)
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
    kept = keep(dists, ROOT / "dist")
    shutil.rmtree(work)
    say("package: checked; kept for installing elsewhere (pip install <the wheel>):")
    for path in kept:
        print(f"    {path.relative_to(ROOT)}", flush=True)


def keep(dists: list[Path], into: Path) -> list[Path]:
    """Copy the checked sdist and wheel into ``into`` (``dist/``, as ``python -m build`` would),
    replacing files of the same name: the wheel outlives the check, for the user's own project."""
    into.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(path, into / path.name)) for path in dists]


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
    """Lint and types (they stop the run), the suite (with the C accelerator when it is built,
    then again in pure Python), the docs build, then (``full``) the packaging checks, the
    fuzzing and the quick benchmark check. Every step after the suite runs even when an
    earlier one failed; the summary line is printed last, whatever failed, and the first
    failure is the exit status."""
    ensure_venv("dev")
    ensure_redis_server()
    accelerated = check_speedups() and not os.environ.get("HOOKSEAL_NO_SPEEDUPS")
    lint = ("src", "tests", "benchmarks", "examples", "dev.py", "hatch_build.py")
    say("lint and format (ruff)")
    run(BIN / "ruff", "check", *lint)
    run(BIN / "ruff", "format", "--check", *lint)
    say("types (mypy, strict)")
    run(BIN / "mypy")
    failures: list[tuple[int, str]] = []
    say(f"tests (pytest, {'with the C accelerator' if accelerated else 'pure Python'})")
    code, counts = pytest_pass()
    failures += judged(code, counts)
    if accelerated:
        # The same tests on the pure-Python path (tests/conftest.py says which are left out).
        say("tests again in pure Python (HOOKSEAL_NO_SPEEDUPS=1, without the server tests)")
        env = dict(os.environ, HOOKSEAL_NO_SPEEDUPS="1")
        pure_code, pure = pytest_pass("--pure-python-pass", env=env)
        print(f"\npure Python pass: {summary_line(pure_code, pure)}", flush=True)
        failures += judged(pure_code, pure, "the pure Python pass: ")
        counts = None if counts is None or pure is None else added(counts, pure)
        code = code or pure_code
    steps: list[tuple[str, Callable[[], None]]] = [
        ("the documentation build failed", partial(docs, Path(tempfile.mkdtemp()) / "site"))
    ]
    if full:
        steps.append(("the package checks failed", package))
        if accelerated:
            steps.append(("the fuzzing found a problem", partial(fuzz, FUZZ_SECONDS)))
        steps.append(("the benchmark check failed (see its Gates FAILED line)", bench_check))
    for message, step in steps:
        step_code = attempt(step)
        if step_code != 0:
            failures.append((step_code, message))
    for _, message in failures:
        print(f"\n{message}")
    print(f"\n{summary_line(code, counts)}", flush=True)  # last, so it is what a reader sees
    if failures:
        sys.exit(failures[0][0])


def pytest_pass(
    *options: str, env: dict[str, str] | None = None
) -> tuple[int, tuple[int, int, int] | None]:
    """Run pytest: its exit status and (passed, failed, skipped) from its report, if any."""
    report = Path(tempfile.mkdtemp(prefix="hookseal-tests-")) / "junit.xml"
    command: list[str | Path] = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command.append(f"--junitxml={report}")
    code = run(*command, *options, check=False, env=env)
    return code, test_counts(report)


def judged(code: int, counts: tuple[int, int, int] | None, what: str = "") -> list[tuple[int, str]]:
    """The failure a pytest pass amounts to, if any: "no tests ran" (exit 5, or nothing but
    skips) is one, not a pass."""
    ran = counts is not None and counts[0] + counts[1] > 0
    if code == 5 or (code == 0 and not ran):
        return [(5, f"{what}pytest ran no test: that is a failure, not a pass")]
    if code != 0:
        return [(code, f"{what}pytest failed with exit status {code}")]
    return []


def added(one: tuple[int, int, int], other: tuple[int, int, int]) -> tuple[int, int, int]:
    return one[0] + other[0], one[1] + other[1], one[2] + other[2]


def summary_line(code: int, counts: tuple[int, int, int] | None) -> str:
    """'tests: N passed, N failed, N skipped', or a line that says there is no report."""
    if counts is None:
        return f"tests: no report (pytest exited with status {code})"
    passed, failed, skipped = counts
    return f"tests: {passed} passed, {failed} failed, {skipped} skipped"


def test_counts(report: Path) -> tuple[int, int, int] | None:
    """(passed, failed, skipped) from pytest's JUnit XML report; None without a readable one."""
    try:
        suite = ElementTree.parse(report).getroot()  # noqa: S314 - our own file, just written
    except (OSError, ElementTree.ParseError):
        return None
    if suite.tag == "testsuites":
        suite = suite[0]
    total, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return total - skipped - failed, failed, skipped


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


def fuzz(seconds: int) -> None:
    """Build the C accelerator with AddressSanitizer and fuzz it against the Python path."""
    ensure_venv("dev")
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
        "setup": setup,
        "test": run_tests,
        "test-fast": partial(run_tests, full=False),
        "package": package,
        "docs": docs,
        "bench": bench,
    }
    if len(argv) == 2 and argv[0] == "fuzz" and argv[1].isdigit():
        return fuzz(int(argv[1]))
    if argv == ["fuzz"]:
        return fuzz(FUZZ_SECONDS)
    if len(argv) != 1 or argv[0] not in commands:
        sys.exit("usage: python3 dev.py " + " | ".join(commands) + " | fuzz [SECONDS]")
    commands[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
