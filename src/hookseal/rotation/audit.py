"""The rotation's audit log: one JSON line per step event, with secret ids and never a value.

Each line is appended and flushed to disk before the rotation moves on, so the log tells what
was done even when the process is killed right after. :class:`Progress` writes the human
side: what the rotation is waiting for, at most every few seconds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

__all__ = ["AuditLog", "Progress"]


class AuditLog:
    """Appends ``{"time", "rotation", "kind", "step", "event", ...}`` lines to ``path``.
    Fields are ids, fingerprints, counts and times; the caller never passes a value."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = None if path is None else Path(path)

    def record(self, rotation: str, kind: str, step: str, event: str, **fields: Any) -> None:
        line = {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
            "rotation": rotation,
            "kind": kind,
            "step": step,
            "event": event,
            **fields,
        }
        text = json.dumps(line, sort_keys=False, default=str) + "\n"
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())

    def lines(self) -> list[dict[str, Any]]:
        """Every line so far (for tests and ``--status``)."""
        if self.path is None or not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


class Progress:
    """Human-readable progress on ``stream``: every message of a step at once, and the same
    waiting message at most every ``every`` seconds."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        every: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.every = every
        self._monotonic = monotonic
        self._last: tuple[str, float] | None = None

    def say(self, message: str) -> None:
        self._last = None
        self._write(message)

    def waiting(self, what: str, detail: str) -> None:
        now = self._monotonic()
        if self._last is not None and self._last[0] == what and now - self._last[1] < self.every:
            return
        self._last = (what, now)
        self._write(f"  waiting: {what}: {detail}")

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()
