"""docs/guides/benchmarks.md: the blocks marked ``run-by`` this file run as written. They import
the clone's ``benchmarks`` package, which this suite has on its path, and count the pure-Python
path, so like every test here they run in the pure-Python pass (tests/benchmarks/conftest.py);
tests/test_docs.py runs the page's other blocks from an empty directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from _markdown import Block, run_by

PAGE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "benchmarks.md"
BLOCKS = run_by(PAGE, "tests/benchmarks/test_benchmarks_page.py")


def test_the_page_has_python_blocks() -> None:
    assert BLOCKS


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_block_runs(block: Block) -> None:
    exec(compile(block.code, block.where, "exec"), {"__name__": "docs_benchmarks"})  # noqa: S102
