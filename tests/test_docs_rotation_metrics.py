"""The Python blocks of docs/rotation.md and docs/metrics.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
CASES = [
    (page, number, code)
    for page in ("rotation.md", "metrics.md")
    for number, code in enumerate(BLOCK.findall((DOCS / page).read_text(encoding="utf-8")))
]


def test_each_page_has_runnable_blocks() -> None:
    assert {page for page, _, _ in CASES} == {"rotation.md", "metrics.md"}


@pytest.mark.parametrize(("page", "number", "code"), CASES, ids=[f"{p}-{n}" for p, n, _ in CASES])
def test_block_runs(page: str, number: int, code: str) -> None:
    exec(compile(code, str(DOCS / page), "exec"), {"__name__": "docs"})  # noqa: S102
