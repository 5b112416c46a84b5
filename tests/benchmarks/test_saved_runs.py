"""The runs the README and the docs quote are saved in benchmarks/runs/, and the README tells
readers to print their tables with ``python -m benchmarks --from-json``: that must keep working
when a case gains a row the saved run does not have."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.run import main

RUNS = sorted((Path(__file__).resolve().parents[2] / "benchmarks" / "runs").glob("*.json"))


def test_the_readme_run_is_saved() -> None:
    assert any(run.name == "2026-12-03.json" for run in RUNS)


@pytest.mark.parametrize("run", RUNS, ids=[run.name for run in RUNS])
def test_a_saved_run_prints_its_tables(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--from-json", str(run)])
    printed = capsys.readouterr().out
    assert "### Targets" in printed
    assert printed.count("\n### ") >= 3
