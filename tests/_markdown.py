"""The code blocks of a Markdown page, with the HTML-comment markers that tell tests how to run
them. Used by ``tests/test_docs.py``; the conventions are described there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_MARKER = re.compile(r"<!--\s*([\w-]+)(?::\s*(.*?))?\s*-->", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, code, line number and the marker before it."""

    page: Path
    language: str
    code: str
    line: int
    marker: str | None = None
    """``server``, ``not-run``, ``run-by``, ``expect-exit`` or ``output`` (from
    ``<!-- marker -->`` just before the fence)."""
    reason: str = ""
    """The text after the marker's colon (why a block is not run, which test runs it...)."""

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` in order, with the marker comment right before it."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip()
        # Only the last comment, and only when the fence follows it directly: a search over
        # more text let an earlier marker's reason run on to a later comment's end.
        marker = _MARKER.fullmatch(before[before.rfind("<!--") :]) if "<!--" in before else None
        name = reason = None
        if marker is not None:
            name, reason = marker.group(1), marker.group(2)
        found.append(
            Block(
                page=page,
                language=match.group(1).lower(),
                code=match.group(2),
                line=text.count("\n", 0, match.start()) + 1,
                marker=name,
                reason=(reason or "").strip(),
            )
        )
    return found


def run_by(page: Path, test: str) -> list[Block]:
    """The blocks of ``page`` marked ``<!-- run-by: <test> -->``: those the test file ``test``
    (its path from the repository's root) runs, with the live parts they need."""
    return [b for b in blocks(page) if b.marker == "run-by" and b.reason == test]
