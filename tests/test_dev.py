"""dev.py's test command: the suite's summary line is always printed last once the tests ran,
and the first failing step is the exit status (pytest's "no tests ran", 5, included)."""

from __future__ import annotations

import re
from pathlib import Path

import dev
import pytest

JUNIT = (
    '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" '
    'tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}"></testsuite>'
    "</testsuites>"
)


class FakeSteps:
    """Stands in for dev.run: records each command, answers with the given exit statuses (and,
    like dev.run, stops with SystemExit on a failure when ``check`` is set)."""

    def __init__(self, pytest_code: int, bench_code: int, counts: tuple[int, int, int] | None):
        self.pytest_code = pytest_code
        self.bench_code = bench_code
        self.counts = counts
        self.commands: list[str] = []

    def __call__(self, *command: object, check: bool = True, env: object = None) -> int:
        line = " ".join(str(c) for c in command)
        self.commands.append(line)
        if "pytest" in line:
            report = re.search(r"--junitxml=(\S+)", line)
            assert report is not None
            if self.counts is not None:
                tests, failures, skipped = self.counts
                Path(report.group(1)).write_text(
                    JUNIT.format(tests=tests, failures=failures, skipped=skipped)
                )
            return self.pytest_code
        if "-m benchmarks" in line and self.bench_code:
            if check:  # what dev.run does with check=True: stop the step
                raise SystemExit(self.bench_code)
            return self.bench_code
        return 0


def run_tests(
    monkeypatch: pytest.MonkeyPatch,
    pytest_code: int,
    bench_code: int,
    counts: tuple[int, int, int] | None,
    package_code: int = 0,
) -> tuple[int, FakeSteps]:
    steps = FakeSteps(pytest_code, bench_code, counts)

    def package() -> None:
        steps("python", "-m", "build")
        if package_code:
            raise SystemExit(package_code)

    monkeypatch.setattr(dev, "ensure_venv", lambda *extras: None)
    monkeypatch.setattr(dev, "docs", lambda site=None: steps("mkdocs", "build"))
    monkeypatch.setattr(dev, "package", package)
    monkeypatch.setattr(dev, "ensure_redis_server", lambda: None)
    monkeypatch.setattr(dev, "check_speedups", lambda: False)
    monkeypatch.setattr(dev, "run", steps)
    monkeypatch.setattr(dev, "say", lambda message: None)
    status = 0
    try:
        dev.run_tests()
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    return status, steps


def last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_all_green(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    status, steps = run_tests(monkeypatch, 0, 0, (10, 0, 2))
    assert status == 0
    assert last_line(capsys) == "tests: 8 passed, 0 failed, 2 skipped"
    assert any("benchmarks --quick --check" in c for c in steps.commands)


def test_summary_printed_when_the_bench_check_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run_tests(monkeypatch, 0, 1, (10, 0, 0))
    assert status == 1
    assert last_line(capsys) == "tests: 10 passed, 0 failed, 0 skipped"


def test_summary_printed_when_pytest_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, steps = run_tests(monkeypatch, 1, 0, (10, 3, 0))
    assert status == 1
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "tests: 7 passed, 3 failed, 0 skipped"
    assert "pytest failed with exit status 1" in out
    assert any("benchmarks" in c for c in steps.commands)  # the check still reports


def test_pytest_failure_wins_over_a_bench_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run_tests(monkeypatch, 2, 1, (10, 1, 0))
    assert status == 2
    assert last_line(capsys) == "tests: 9 passed, 1 failed, 0 skipped"


def test_no_tests_ran_is_a_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run_tests(monkeypatch, 5, 0, (0, 0, 0))
    assert status == 5
    out = capsys.readouterr().out
    assert "pytest ran no test" in out
    assert out.strip().splitlines()[-1] == "tests: 0 passed, 0 failed, 0 skipped"


def test_everything_skipped_is_a_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run_tests(monkeypatch, 0, 0, (4, 0, 4))
    assert status == 5
    assert last_line(capsys) == "tests: 0 passed, 0 failed, 4 skipped"


def test_no_report_still_gives_a_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run_tests(monkeypatch, 3, 0, None)  # pytest died before writing its report
    assert status == 3
    assert last_line(capsys) == "tests: no report (pytest exited with status 3)"


def test_docs_and_package_steps_run_after_a_failure_and_are_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, steps = run_tests(monkeypatch, 1, 0, (10, 1, 0))
    assert status == 1
    assert any("mkdocs" in c for c in steps.commands)
    assert any("-m build" in c for c in steps.commands)
    capsys.readouterr()
    status, _ = run_tests(monkeypatch, 0, 0, (10, 0, 0), package_code=4)
    out = capsys.readouterr().out
    assert status == 4
    assert "the package checks failed" in out
    assert out.strip().splitlines()[-1] == "tests: 10 passed, 0 failed, 0 skipped"


def test_package_keeps_the_checked_wheel_in_dist(tmp_path: Path) -> None:
    """``dev.py package`` built into a scratch directory and deleted it: a newcomer told to build
    a wheel for their own project had nothing to install. The checked files are kept, and a
    rebuild replaces them."""
    built = tmp_path / "scratch"
    built.mkdir()
    wheel = built / "hookseal-0.1.0-py3-none-any.whl"
    sdist = built / "hookseal-0.1.0.tar.gz"
    wheel.write_bytes(b"new wheel")
    sdist.write_bytes(b"new sdist")
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / wheel.name).write_bytes(b"old wheel")
    kept = dev.keep([sdist, wheel], dist)
    assert [k.name for k in kept] == [sdist.name, wheel.name]
    assert (dist / wheel.name).read_bytes() == b"new wheel"
    assert (dist / sdist.name).read_bytes() == b"new sdist"


def test_a_venv_without_pip_gets_its_own(tmp_path: Path) -> None:
    """``.venv`` is made without pip when this interpreter's pip can install into it (the demo
    saves seconds); after ``dev.py setup`` a newcomer's ``.venv/bin/pip install stripe`` must
    work all the same."""
    import os
    import subprocess
    import venv

    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / dev.BIN.relative_to(dev.VENV) / dev.PYTHON.name
    assert subprocess.call([python, "-m", "pip", "--version"], stderr=subprocess.DEVNULL) != 0
    dev.ensure_own_pip(python)
    assert (python.parent / ("pip.exe" if os.name == "nt" else "pip")).exists()
    assert subprocess.call([python, "-m", "pip", "--version"], stdout=subprocess.DEVNULL) == 0
