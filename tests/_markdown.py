"""The code blocks of a Markdown page, with the HTML-comment markers that tell tests how to run
them. Used by ``tests/test_docs.py``; the conventions are described there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_MARKER = re.compile(r"<!--\s*([\w-]+)(?::\s*(.*?))?\s*-->\s*$", re.DOTALL)


@dataclass(frozen=True)
class Block:
    """One fenced code block: its language, code, line number and the marker before it."""

    page: Path
    language: str
    code: str
    line: int
    marker: str | None = None
    """``server``, ``not-run`` or ``output`` (from ``<!-- marker -->`` just before the fence)."""
    reason: str = ""
    """The text after the marker's colon (why a block is not run)."""

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` in order, with the marker comment right before it."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip()
        marker = _MARKER.search(before[-400:])
        name = reason = None
        if marker is not None and before.endswith(marker.group(0).rstrip()):
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
