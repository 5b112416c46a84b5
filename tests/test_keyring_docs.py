"""docs/keyring.md's code blocks run as written."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "keyring.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)


def test_the_page_has_code() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_block_runs(code: str) -> None:
    exec(compile(code, str(PAGE), "exec"), {"__name__": "docs"})  # noqa: S102
    for thread in threading.enumerate():  # what the block started, it closed
        if thread.name.startswith("hookseal"):
            thread.join(10)
            assert not thread.is_alive()
