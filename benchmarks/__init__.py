"""hookseal's benchmark harness: ``python -m benchmarks [--quick] [--check] [--json PATH]``.

Every figure is a median over interleaved repetitions (each contender of a group timed in turn,
within one run) and reported as a ratio to a reference measured in that same run, because the
machines this runs on are shared and noisy. Absolute times are printed, never asserted.

Cases live in :mod:`benchmarks.cases`, one module per subject; see its docstring for how to
add one.
"""
