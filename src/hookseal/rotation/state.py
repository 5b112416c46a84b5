"""A rotation's state, persisted after every step so that a crash resumes where it stopped.

The state file holds ids, fingerprints and times, never a secret value. It is written whole to
a temporary file, flushed to disk and renamed over the old one, so a crash leaves either the
previous state or the new one, never half of each. A lock file beside it keeps a second
``hookseal rotate`` from running the same rotation at the same time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .errors import RotationError

__all__ = ["STEPS", "RotationState", "StateFile"]

STEPS = ("create", "store", "deploy", "switch", "confirm", "retire", "remove")
"""The procedure, in order: create the new secret, write it next to the old one, wait until
every replica serves it, switch the provider to it, confirm that it verifies and that the old
one went quiet, end the old one's window (and delete it at the provider), remove it."""

_VERSION = 1


@dataclass
class RotationState:
    """Where a rotation stands. ``done`` lists the finished steps; ``status`` is ``running``,
    ``done``, ``rolled_back`` or ``aborted``. ``old`` and ``new`` map secret ids to their
    values' fingerprints; ``facts`` holds what a provider kind must remember across a crash
    (ids listed before creation, the endpoint's ``rotate_at``...); ``marks`` holds times."""

    kind: str
    rotation_id: str = field(default_factory=lambda: "rot-" + uuid.uuid4().hex[:12])
    status: str = "running"
    done: list[str] = field(default_factory=list)
    old: dict[str, str] = field(default_factory=dict)
    new_id: str | None = None
    new_fingerprint: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, dict[str, int]] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    provider: str = ""
    """Which provider (its kind's description: API, endpoint, chain...) is being rotated."""
    store: str = ""
    """Which store the replicas read (its name); a resume must name the same two."""

    @property
    def finished(self) -> bool:
        return self.status != "running"

    @property
    def next_step(self) -> str | None:
        for step in STEPS:
            if step not in self.done:
                return step
        return None

    def is_done(self, step: str) -> bool:
        return step in self.done

    def to_json(self) -> str:
        return json.dumps({"version": _VERSION, **asdict(self)}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RotationState:
        try:
            document = json.loads(text)
            if not isinstance(document, dict) or document.pop("version", None) != _VERSION:
                raise ValueError("not a rotation state of this version")
            _check(document)
            return cls(**document)
        except (ValueError, TypeError, RecursionError) as exc:
            raise RotationError(f"the rotation state file is unreadable ({exc})") from None


def _check(document: dict[str, Any]) -> None:
    """Every field of the right type (a file edited by hand, or damaged, must not crash a
    step halfway with a TypeError): ValueError naming the first field that is not."""
    kinds: dict[str, Callable[[Any], bool]] = {
        "kind": _text,
        "rotation_id": _text,
        "status": lambda v: v in _STATUSES,
        "done": lambda v: isinstance(v, list) and all(step in STEPS for step in v),
        "old": lambda v: _mapping(v, _text),
        "new_id": lambda v: v is None or _text(v),
        "new_fingerprint": lambda v: v is None or _text(v),
        "facts": lambda v: isinstance(v, dict),
        "marks": lambda v: _mapping(v, _number),
        "baseline": lambda v: _mapping(v, lambda row: _mapping(row, _count)),
        "started": _number,
        "provider": lambda v: isinstance(v, str),
        "store": lambda v: isinstance(v, str),
    }
    for name, value in document.items():
        fits = kinds.get(name)
        if fits is None:
            raise ValueError(f"unknown field {name!r}")
        if not fits(value):
            raise ValueError(f"field {name!r} is not of its type")


_STATUSES = ("running", "done", "rolled_back", "aborted")


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mapping(value: Any, fits: Callable[[Any], bool]) -> bool:
    return isinstance(value, dict) and all(
        isinstance(key, str) and fits(item) for key, item in value.items()
    )


class StateFile:
    """The state of one rotation at ``path`` (JSON), and its lock."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock: TextIO | None = None

    def __repr__(self) -> str:
        return f"StateFile({str(self.path)!r})"

    def load(self) -> RotationState | None:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        return RotationState.from_json(text)

    def save(self, state: RotationState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(dir=self.path.parent, prefix=".rotation-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(state.to_json())
                out.flush()
                os.fsync(out.fileno())
            os.replace(staging, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(staging)
            raise
        _sync_directory(self.path.parent)

    def lock(self) -> None:
        """Take the lock, or raise RotationError when another rotation holds it. A crashed
        process's lock is released by the operating system, so ``--resume`` can take it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path.with_name(self.path.name + ".lock"), "a")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise RotationError(
                f"another hookseal rotate is running with the state file {self.path}"
            ) from None
        self._lock = handle

    def unlock(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
