"""Every Python block in docs/providers/*.md and docs/providers-adapters.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = [*sorted((DOCS / "providers").glob("*.md")), DOCS / "providers-adapters.md"]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def test_there_is_a_page_per_scheme() -> None:
    from hookseal import schemes

    names = {page.stem for page in PAGES}
    assert {scheme.name for scheme in schemes.schemes()} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_blocks_run(page: Path) -> None:
    for block in BLOCK.findall(page.read_text(encoding="utf-8")):
        exec(compile(block, str(page), "exec"), {"__name__": "docs"})  # noqa: S102
