"""hookseal's benchmark harness: ``python -m benchmarks [--quick] [--check] [--json PATH]``.

Every timed figure is a median over interleaved repetitions (each contender of a group timed
in turn, within one run, on the thread's CPU clock) and reported as a ratio to a reference
measured in that same run, because the machines this runs on are shared and noisy. Timings
are printed, never asserted: the CI gate (``--quick --check``) fails only on counted
invariants and on complexity ratios with wide margins (see docs/guides/benchmarks.md).

Cases live in :mod:`benchmarks.cases`, one module per subject; see its docstring for how to
add one.
"""
