"""The command: run the case modules, print markdown tables and targets, write the JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from .cases import CASE_MODULES, QUICK_MODULES, load
from .model import Config, Outcome, Row

__all__ = ["machine", "main", "targets_table"]

DEFAULT_JSON = Path(__file__).with_name("results.json")
PACKAGES = ("hookseal", "standardwebhooks", "svix", "stripe", "slack_sdk")


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


def targets_table(outcomes: Sequence[Outcome], quick: bool) -> str:
    """Markdown: one line per target, met or missed, and whether CI fails on a miss."""
    lines = [
        "### Targets" + (" (quick mode: the CI gate)" if quick else ""),
        "",
        "| target | measured | limit | result | CI gate |",
        "|---|---:|---:|---|---|",
    ]
    for o in outcomes:
        result = "met" if o.met else ("**FAILED**" if o.fails else "**missed**")
        note = f" ({o.note})" if o.note else ""
        where = f" [{o.where}]" if o.where else ""
        gate = o.gate or "no: a timing goal, reported"
        lines.append(
            f"| {o.name}{note}{where} | {_number(o.value)}{o.unit} "
            f"| {o.direction} {_number(o.limit)}{o.unit} | {result} | {gate} |"
        )
    return "\n".join(lines)


def _number(value: float) -> str:
    """Counts as integers, everything else with two decimals."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="hookseal benchmarks (ratios, same-run medians)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="the CI gate and a few ratios (about a minute)"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a gate fails (see the targets table)"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="PATH",
        help="print the tables and targets of a saved run instead of measuring",
    )
    parser.add_argument(
        "--only",
        default=None,
        help=f"comma-separated case modules (default: {','.join(CASE_MODULES)}; "
        f"with --quick: {','.join(QUICK_MODULES)})",
    )
    return parser.parse_args(argv)


def _saved_rows(path: Path) -> list[Row]:
    """The rows of an earlier run's JSON (each case module picks out its own groups)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return [Row(**row) for row in document["rows"]]


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print, write; with ``--check`` return 1 when a gate fails."""
    args = _arguments(argv)
    only = args.only or ",".join(QUICK_MODULES if args.quick else CASE_MODULES)
    config = Config.make(quick=args.quick)
    info = machine()
    print(f"# hookseal benchmarks ({'quick' if config.quick else 'full'} mode)\n")
    print(
        f"Machine: {info['cpu']}, {info['cpus']} CPUs, {info['implementation']} "
        f"{info['python']}, {info['platform']}. Timings: medians of {config.repeats} "
        f"interleaved repetitions, batches of ~{config.batch_ns // 1_000_000} ms, gc off while "
        "timing. Counts: per request, exact.\n",
        flush=True,
    )
    started = time.monotonic()
    rows: list[Row] = []
    outcomes: list[Outcome] = []
    saved = _saved_rows(args.from_json) if args.from_json else None
    for module in load([n.strip() for n in only.split(",") if n.strip()]):
        began = time.monotonic()
        found = module.measure(config) if saved is None else saved
        if saved is None:
            rows += found
        outcomes += module.targets(found)
        print(f"## {module.TITLE} ({time.monotonic() - began:.0f} s)\n")
        for table in module.tables(found):
            print(table + "\n", flush=True)
    print(targets_table(outcomes, config.quick) + "\n")
    elapsed = time.monotonic() - started
    if saved is None:
        print(f"Total {elapsed:.0f} s. Results written to {args.json}.")
        _write(args.json, config, info, elapsed, rows, outcomes)
    return _verdict(outcomes, args.check)


def _write(
    path: Path,
    config: Config,
    info: dict[str, Any],
    elapsed: float,
    rows: list[Row],
    outcomes: list[Outcome],
) -> None:
    document = {
        "mode": "quick" if config.quick else "full",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(elapsed, 1),
        "machine": info,
        "config": {"repeats": config.repeats, "batch_ns": config.batch_ns},
        "rows": [r.as_json() for r in rows],
        "targets": [o.as_json() for o in outcomes],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")


def _verdict(outcomes: list[Outcome], check: bool) -> int:
    """Name the missed goals and failed gates; with ``check``, 1 when a gate failed."""
    failed = [o for o in outcomes if o.fails]
    missed = [o for o in outcomes if not o.met and not o.fails]
    if missed:
        named = (f"{o.name} = {_number(o.value)}{o.unit}" for o in missed)
        print("Goals missed: " + "; ".join(named))
    if failed:
        print(
            "Gates FAILED: "
            + "; ".join(
                f"{o.name} = {_number(o.value)}{o.unit} (limit {o.direction} {_number(o.limit)})"
                + (f" at {o.where}" if o.where else "")
                for o in failed
            )
        )
    if check:
        gated = sum(1 for o in outcomes if o.gate)
        verdict = "FAILED" if failed else "passed"
        print(f"check: {verdict} ({gated - len(failed)} of {gated} gates held)")
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
