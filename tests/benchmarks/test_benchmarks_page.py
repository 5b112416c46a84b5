"""Every Python block of docs/benchmarks.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_python_blocks() -> None:
    assert BLOCKS


@pytest.mark.parametrize("code", BLOCKS)
def test_block_runs(code: str) -> None:
    exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_benchmarks"})  # noqa: S102
