"""Starlette under real servers on 127.0.0.1: bare, a second bare server, and guarded.

For each server (uvicorn with httptools; granian when it is installed) three processes serve
the 1 KiB benchmark request: the bare app, the same bare app again (the noise control: its
ratio to the first bare server shows what the machine alone does to a comparison), and the
app behind :class:`hookseal.asgi.WebhookVerificationMiddleware`. Rounds load each server in
turn for a few seconds, the order rotating every round so that none always goes first or
last; the first round warms them up and is dropped. Reported: requests per second, and the
server's own CPU time per request (its threads and its children's, from ``/proc``), both as
min/median/max of the per-round ratios to the first bare server. Load: see
:mod:`benchmarks.cases.loadgen` (wrk, or a pure-Python generator; the table says which).
Every server is stopped when its measurement ends, whatever happens.
"""

from __future__ import annotations

import http.client
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import hookseal

from ..model import KIB, Config, Outcome, Row, ratio_outcome
from . import loadgen, serve
from .apps import PATH, signed_headers
from .inputs import body_of

__all__ = ["TITLE", "measure", "tables", "targets"]

TITLE = "Starlette under real servers (uvicorn, granian)"

GROUP = "servers"
BARE = "Starlette (bare)"
CONTROL = "Starlette (bare, second server: the noise control)"
GUARDED = "Starlette + WebhookVerificationMiddleware"
APPS: tuple[tuple[str, str, str], ...] = (
    ("bare", "bare", BARE),
    ("control", "bare", CONTROL),
    ("guarded", "guarded", GUARDED),
)
"""(name, app served, label): the control serves the bare app in its own process."""


@dataclass(frozen=True)
class Load:
    """One bounded load against one server."""

    requests: int
    seconds: float
    server_cpu: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us(self) -> float:
        """Server CPU time per request, µs."""
        return self.server_cpu / max(self.requests, 1) * 1e6


class _Server:
    """``python -m benchmarks.cases.serve <server> <app>``, in its own process group."""

    def __init__(self, server: str, app: str) -> None:
        src = str(Path(hookseal.__file__).resolve().parent.parent)
        root = str(Path(__file__).resolve().parent.parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, src]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.cases.serve", server, app],
            stdout=subprocess.PIPE,
            env=env,
            cwd=root,
            text=True,
            start_new_session=True,  # granian's workers are its children: stop them together
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError(f"the {server} server ({app}) did not start")
        self.port = int(line)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                connection.request("GET", "/")
                connection.getresponse().read()
                return
            except OSError:
                time.sleep(0.1)
            finally:
                connection.close()
        self.close()
        raise RuntimeError("the server did not answer within 30 s")

    def cpu(self) -> float:
        """CPU seconds used so far by the server process, its threads and its descendants,
        from each thread's ``schedstat`` (nanoseconds; ``stat``'s ticks are 10 ms coarse)."""
        total = 0
        pending = [self.process.pid]
        while pending:
            pid = pending.pop()
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue  # a child that just exited
            for task in tasks:
                try:
                    with open(f"/proc/{pid}/task/{task}/schedstat", encoding="ascii") as stat:
                        total += int(stat.read().split()[0])
                    with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as kids:
                        pending += [int(k) for k in kids.read().split()]
                except (OSError, ValueError):
                    continue
        return total / 1e9

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _order(round_: int) -> list[int]:
    """Rotate the three apps each round, and reverse every other cycle: each app takes each
    place equally often."""
    shift = round_ % 3
    order = [(i + shift) % 3 for i in range(3)]
    return order[::-1] if (round_ // 3) % 2 else order


def compare(server: str, body: bytes, rounds: int, seconds: float) -> dict[str, list[Load]]:
    """``rounds`` loads of ``seconds`` on each of the three servers (after a warm-up round)."""
    headers = signed_headers(body)
    started: list[_Server] = []
    try:
        for _, app, _ in APPS:
            started.append(_Server(server, app))
        found: dict[str, list[Load]] = {name: [] for name, _, _ in APPS}
        for r in range(rounds + 1):  # round 0 warms every server up and is dropped
            for index in _order(r):
                name = APPS[index][0]
                target = started[index]
                before, began = target.cpu(), time.monotonic()
                count = loadgen.load(target.port, PATH, body, headers, seconds if r else 1.0)
                took = time.monotonic() - began
                if r:
                    found[name].append(Load(count, took, target.cpu() - before))
        return found
    finally:
        for target in started:
            target.close()


def _spread(values: Sequence[float]) -> list[float]:
    return [min(values), statistics.median(values), max(values)]


def _rows(
    server: str, label: str, found: dict[str, list[Load]], rounds: int, seconds: float
) -> list[Row]:
    bare = found["bare"]
    rows = []
    for name, _, contender in APPS:
        loads = found[name]
        rps = [load.per_second / b.per_second for load, b in zip(loads, bare, strict=True)]
        cpu = [load.cpu_us / b.cpu_us for load, b in zip(loads, bare, strict=True)]
        per_second = statistics.median(load.per_second for load in loads)
        rows.append(
            Row(
                GROUP,
                contender,
                1e9 / per_second,
                BARE,
                1 / statistics.median(rps),
                {"server": server, "size": KIB, "secrets": 1, "scheme": "signature"},
                {
                    "server_label": label,
                    "tool": loadgen.tool(),
                    "connections": loadgen.CONNECTIONS,
                    "rounds": rounds,
                    "seconds": seconds,
                    "requests_per_second": per_second,
                    "server_cpu_us": statistics.median(load.cpu_us for load in loads),
                    "rps_ratio": statistics.median(rps),
                    "cpu_ratio": statistics.median(cpu),
                    "rps_ratio_spread": _spread(rps),
                    "cpu_ratio_spread": _spread(cpu),
                },
            )
        )
    return rows


def measure(config: Config) -> list[Row]:
    """Every available server; full mode 6 rounds of 3 s (quick: 3 rounds of 1 s)."""
    rounds, seconds = (3, 1.0) if config.quick else (6, 3.0)
    body = body_of(KIB)
    rows = _rows(
        "uvicorn", serve.uvicorn_label(), compare("uvicorn", body, rounds, seconds), rounds, seconds
    )
    if serve.granian_available():
        found = compare("granian", body, rounds, seconds)
        rows += _rows("granian", "granian (1 worker, 1 runtime thread)", found, rounds, seconds)
    return rows


def tables(rows: Sequence[Row]) -> list[str]:
    """Markdown: one table per server."""
    out = []
    for server in dict.fromkeys(r.params["server"] for r in rows if r.group == GROUP):
        found = {r.contender: r for r in rows if r.group == GROUP and r.params["server"] == server}
        e = found[BARE].extra
        lines = [
            f"### Starlette under {e['server_label']} on 127.0.0.1 (load: {e['tool']}, "
            f"{e['connections']} connections, {e['rounds']} rounds of {e['seconds']:g} s per "
            "server, 1 KiB)",
            "",
            "| server | requests/s | server CPU µs per request | requests/s vs bare "
            "(min / median / max) | server CPU vs bare (min / median / max) |",
            "|---|---:|---:|---:|---:|",
        ]
        for name in (BARE, CONTROL, GUARDED):
            x = found[name].extra
            rps = " / ".join(f"{100 * v:.0f}%" for v in x["rps_ratio_spread"])
            cpu = " / ".join(f"{v:.2f}x" for v in x["cpu_ratio_spread"])
            lines.append(
                f"| {name} | {x['requests_per_second']:,.0f} | {x['server_cpu_us']:.0f} "
                f"| {rps} | {cpu} |"
            )
        lines += [
            "",
            "Each server is its own process; its CPU time (with its children's) comes from "
            "/proc over each load. Ratios are per round, to the first bare server in the same "
            "round; the second bare server shows the noise of the comparison itself. The load "
            "generator shares the machine's cores with the servers.",
        ]
        out.append("\n".join(lines))
    return out


def targets(rows: Sequence[Row]) -> list[Outcome]:
    """At least 93% of the bare server's requests/s under uvicorn (issue 12's goal)."""
    found = []
    for row in rows:
        if row.group == GROUP and row.contender == GUARDED:
            server = row.params["server"]
            found.append(
                ratio_outcome(
                    f"ASGI middleware under {server}, bare requests/s / guarded",
                    1 / row.extra["rps_ratio"],
                    1 / 0.93,
                    "at least 93% of bare requests/s",
                )
            )
    return found
