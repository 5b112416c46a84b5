"""The README's runnable snippets (marked ``<!-- readme-test -->``) must run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
MARKED = re.compile(r"<!-- readme-test -->\n```python\n(.*?)```", re.DOTALL)
SNIPPETS = MARKED.findall(README.read_text(encoding="utf-8"))


def test_the_readme_marks_its_runnable_snippets() -> None:
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_snippet_runs(code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})  # noqa: S102
    out = capsys.readouterr().out
    if "signature_mismatch" in code:
        assert "401 signature_mismatch" in out
