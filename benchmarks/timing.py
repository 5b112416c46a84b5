"""Interleaved timing: the contenders of a group alternate within one run, medians per call.

Each repetition times one batch of every contender in turn, with the garbage collector off
during the batch. The order is shuffled every repetition (with a fixed seed), so that no
contender always runs first, nor always right after the same other one: a rotation keeps the
neighbours, and a contender that always follows a different framework pays for that one's
cache misses every time (measured: two identical Starlette apps differed by 3% when one always
ran after FastAPI). A batch is sized once, after a warm-up, to last about ``batch_ns``.

The clock is :func:`time.thread_time_ns`, the CPU time of this thread: it does not run while
the thread waits for a core, so a busy machine (other processes taking turns on the same
cores) does not stretch one batch more than the next. Under two CPU-bound processes on a
2-core machine, wall-time ratios swung from 0.15x to 130x where this clock's stayed within a
few percent (docs/guides/benchmarks.md). On an idle machine the two clocks agree.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Contender", "measure"]


@dataclass(frozen=True)
class Contender:
    """One thing to time: ``call`` does one operation; ``name`` labels it in the tables."""

    name: str
    call: Callable[[], object]


Clock = Callable[[], int]


def _batch(call: Callable[[], object], loops: int, clock: Clock = time.thread_time_ns) -> int:
    """Nanoseconds of ``clock`` for ``loops`` calls, with the garbage collector off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = clock()
        for _ in range(loops):
            call()
        return clock() - start
    finally:
        if enabled:
            gc.enable()


def _loops_for(call: Callable[[], object], batch_ns: int, clock: Clock) -> int:
    """How many calls make a batch of about ``batch_ns`` (measured after a warm-up)."""
    loops = 1
    while True:
        spent = _batch(call, loops, clock)
        if spent >= batch_ns // 4 or loops >= 1 << 22:
            return max(1, int(loops * batch_ns / max(spent, 1)))
        loops *= 4


def measure(
    contenders: Sequence[Contender],
    repeats: int,
    batch_ns: int,
    reference: str,
    clock: Clock = time.thread_time_ns,
) -> dict[str, tuple[float, float]]:
    """``(median ns per call, ratio to reference)`` for each contender, timed interleaved.

    The ratio is the median of per-repetition ratios: within one repetition the contenders
    ran back to back, so a slow spell of the machine (other jobs on a shared host) cancels out
    instead of landing on whichever contender it happened to hit.
    """
    for contender in contenders:  # warm up: caches, lazily built state, branch predictors
        _batch(contender.call, 3)
    loops = {c.name: _loops_for(c.call, batch_ns, clock) for c in contenders}
    samples: dict[str, list[float]] = {c.name: [] for c in contenders}
    order = list(contenders)
    shuffle = random.Random(len(contenders) * 7919 + repeats).shuffle
    for _ in range(repeats):
        shuffle(order)
        for contender in order:
            n = loops[contender.name]
            samples[contender.name].append(_batch(contender.call, n, clock) / n)
    base = samples[reference]
    return {
        name: (
            statistics.median(values),
            statistics.median(v / b for v, b in zip(values, base, strict=True)),
        )
        for name, values in samples.items()
    }
