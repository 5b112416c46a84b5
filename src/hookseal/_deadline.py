"""The body deadline: a body that takes longer than ``body_timeout`` is refused (408).

Nothing else bounds a slow sender (uvicorn has no body timeout), and a verification that stays
open keeps the moment it is judged at open too. Two checks share the work:

- :class:`Deadline`, between chunks, against an injectable monotonic clock: a sender that drips
  its body is cut at the first chunk after the deadline (sync and async readers);
- :class:`Watchdog`, for a sender that stops sending at all: under asyncio one timer per slice
  of deadlines, shared by every request whose deadline falls in it (a set add and discard per
  request instead of a timer each, so the middleware's per-request path stays cheap).
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Callable
from typing import Any

from .errors import BodyTimeout, ConfigurationError

_running_loop = asyncio._get_running_loop  # C: the running loop or None, without raising
if sys.version_info >= (3, 12):  # current_task is C from 3.12 on
    _tasks_by_loop = None
else:  # a Python function before: read the table it reads, without its call
    _tasks_by_loop = getattr(asyncio.tasks, "_current_tasks", None)

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "Deadline",
    "Ward",
    "Watchdog",
    "check_body_timeout",
    "expired",
    "leave",
    "timed_out",
]

DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a request body may take to arrive, from the end of its headers."""

_MAX_SLICE = 1.0  # a deadline fires at most this late: one timer per second of deadlines


def check_body_timeout(value: object) -> float | None:
    """``body_timeout`` as positive finite seconds, or None (no deadline)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ConfigurationError("body_timeout must be a positive number of seconds, or None")
    return float(value)


def timed_out(seconds: float) -> BodyTimeout:
    """The error for a body that did not arrive within ``seconds``."""
    return BodyTimeout(f"the request body did not arrive within {seconds:g} s")


class Deadline:
    """``seconds`` from now on ``clock`` (monotonic); :meth:`check` raises once it has passed."""

    __slots__ = ("_at", "_clock", "seconds", "start")

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self._clock = clock
        self.start = clock()
        self._at = self.start + seconds

    def check(self) -> None:
        """Raise :class:`~hookseal.errors.BodyTimeout` when the deadline has passed."""
        if self._clock() > self._at:
            raise timed_out(self.seconds)


class Watchdog:
    """Cuts the body reads of tasks still reading ``seconds`` after they started (asyncio).

    Around the reads, and nothing else::

        ward = watchdog.enter(now)
        try:
            ...  # await receive() until the body is complete
        except asyncio.CancelledError:
            if ward is None or not expired(ward):
                raise  # a cancellation from elsewhere passes through untouched
            raise timed_out(watchdog.seconds) from None
        finally:
            leave(ward)

    Not a context manager on purpose: this sits on the middleware's per-request path, where
    an object and two method calls per request are measurable. Under an event loop other than
    asyncio (trio) :meth:`enter` returns None and only :class:`Deadline`'s check applies.
    """

    __slots__ = ("_current", "_slice", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._slice = min(_MAX_SLICE, seconds / 4)
        self._current: _Slice | None = None

    def enter(self, now: float) -> Ward | None:
        """Watch the current task from ``now`` (a reading of the caller's monotonic clock; the
        timer itself is relative, so any monotonic clock will do)."""
        loop = _running_loop()
        if loop is None:  # no asyncio loop running (trio)
            return None
        task = asyncio.current_task(loop) if _tasks_by_loop is None else _tasks_by_loop.get(loop)
        if task is None:  # pragma: no cover - a coroutine always runs in a task under asyncio
            return None
        deadline = now + self.seconds
        current = self._current
        if current is None or deadline > current.at or current.fired or current.loop is not loop:
            step = self._slice
            at = math.ceil(deadline / step) * step
            current = self._current = _Slice(loop, at, at - now)
        current.pending.add(task)
        return current, task


Ward = tuple["_Slice", "asyncio.Task[Any]"]
"""One watched read: the slice its deadline falls in, and its task."""


def leave(ward: Ward | None) -> None:
    """The reads are over (done, refused or failed): stop watching them."""
    if ward is not None:
        slice_, task = ward
        slice_.pending.discard(task)
        if task in slice_.cut:  # cut, but the cancel was swallowed before it reached us
            expired(ward)


def expired(ward: Ward) -> bool:
    """Whether the watchdog cut these reads (then its cancel is taken back): True means the
    ``CancelledError`` being handled is the deadline's, to be answered 408."""
    slice_, task = ward
    if task not in slice_.cut:
        return False
    slice_.cut.discard(task)
    # Our cancel is taken back; one from elsewhere (counted since 3.11) still stands.
    uncancel = getattr(task, "uncancel", None)
    return uncancel is None or uncancel() == 0


class _Slice:
    """The tasks whose deadline falls before ``at``; one loop timer cancels those still reading."""

    __slots__ = ("at", "cut", "fired", "loop", "pending")

    def __init__(self, loop: asyncio.AbstractEventLoop, at: float, delay: float) -> None:
        self.loop = loop
        self.at = at
        self.fired = False  # then no task joins it (with a real clock none would anyway)
        self.pending: set[asyncio.Task[Any]] = set()
        self.cut: set[asyncio.Task[Any]] = set()
        loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self.fired = True
        self.cut, self.pending = self.pending, set()
        for task in self.cut:
            task.cancel()
