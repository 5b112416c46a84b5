"""Turning the many ways users give a moment in time into float epoch seconds."""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable

from .errors import ConfigurationError

Instant = float | int | _dt.datetime
"""A moment: Unix epoch seconds, or an aware datetime."""

Clock = Callable[[], float]
"""A zero-argument callable returning Unix epoch seconds (wall clock)."""

wall_clock: Clock = time.time


def to_epoch(moment: Instant, *, what: str = "time") -> float:
    """Return ``moment`` as float epoch seconds; naive datetimes are refused, not guessed."""
    if isinstance(moment, _dt.datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ConfigurationError(f"{what} must be an aware datetime (give it a tzinfo)")
        return moment.timestamp()
    if isinstance(moment, bool) or not isinstance(moment, (int, float)):
        raise ConfigurationError(f"{what} must be epoch seconds or an aware datetime")
    try:
        value = float(moment)
    except OverflowError:  # an int too large for a float: no real moment is that far away
        raise ConfigurationError(f"{what} is out of range") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigurationError(f"{what} must be a finite number")
    return value


def optional_epoch(moment: Instant | None, *, what: str) -> float | None:
    """Like :func:`to_epoch` but lets ``None`` through (an open-ended bound)."""
    return None if moment is None else to_epoch(moment, what=what)
