"""Bare and guarded Starlette under uvicorn on loopback, loaded with wrk (or httpx without it).

Each server is its own process (started and stopped here), so its CPU time, read from
``/proc/<pid>/stat`` before and after a load, is the server's alone. Rounds alternate between
the two servers (which one goes first rotates), each a bounded load of a few seconds with a
fixed number of connections; the ratios are medians of per-round ratios.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import hookseal

from .apps import PATH, signed_headers

__all__ = ["Load", "compare", "load_tool"]

CONNECTIONS = 8
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Load:
    """One bounded load against one server: how many requests, in how long, at what CPU."""

    requests: int
    seconds: float
    server_cpu: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us(self) -> float:
        """Server CPU time per request, µs."""
        return self.server_cpu / self.requests * 1e6


def load_tool() -> str:
    """``wrk`` when it is on PATH, else ``httpx`` (a Python client: slower, so fewer rps)."""
    return "wrk" if shutil.which("wrk") else "httpx"


class _Server:
    """``python -m benchmarks.cases.serve <kind>`` as a child process (stopped by close())."""

    def __init__(self, kind: str) -> None:
        src = str(Path(hookseal.__file__).resolve().parent.parent)
        root = str(Path(__file__).resolve().parent.parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, root]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.cases.serve", kind],
            stdout=subprocess.PIPE,
            env=env,
            cwd=root,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.close()
            raise RuntimeError(f"the {kind} server did not start")
        self.url = f"http://127.0.0.1:{int(line)}{PATH}"
        self._wait_ready()

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url, timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("the server did not answer within 20 s")

    def cpu(self) -> float:
        """User + system CPU seconds of the server process so far."""
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wrk(url: str, seconds: float, script: Path) -> tuple[int, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise AssertionError(f"wrk saw failed requests:\n{out}")
    found = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    if found is None:
        raise AssertionError(f"cannot read wrk's output:\n{out}")
    took = float(found.group(2)) / (1000 if found.group(3) == "ms" else 1)
    return int(found.group(1)), took


def _httpx(url: str, seconds: float, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    import httpx

    async def run() -> int:
        done = 0
        stop = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=CONNECTIONS)
        async with httpx.AsyncClient(limits=limits) as client:

            async def worker() -> None:
                nonlocal done
                while time.monotonic() < stop:
                    answer = await client.post(url, content=body, headers=headers)
                    if answer.status_code != 200:
                        raise AssertionError(f"the server answered {answer.status_code}")
                    done += 1

            await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        return done

    started = time.monotonic()
    done = asyncio.run(run())
    return done, time.monotonic() - started


def _script(body: bytes, headers: dict[str, str], folder: Path) -> Path:
    lines = ['wrk.method = "POST"', "wrk.body = [==[" + body.decode("ascii") + "]==]"]
    for name, value in {**headers, "Content-Type": "application/json"}.items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    path = folder / "post.lua"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


def compare(body: bytes, rounds: int, seconds: float) -> dict[str, list[Load]]:
    """``rounds`` alternating loads of ``seconds`` each on the bare and the guarded server."""
    headers = signed_headers(body)
    tool = load_tool()
    servers = {"bare": _Server("bare")}
    try:
        servers["guarded"] = _Server("guarded")
        with tempfile.TemporaryDirectory() as folder:
            script = _script(body, headers, Path(folder))
            found: dict[str, list[Load]] = {name: [] for name in servers}
            order = list(servers)
            for r in range(rounds + 1):  # round 0 warms both servers up and is dropped
                for name in order if r % 2 == 0 else order[::-1]:
                    server = servers[name]
                    before = server.cpu()
                    if tool == "wrk":
                        count, took = _wrk(server.url, seconds if r else 1.0, script)
                    else:
                        count, took = _httpx(server.url, seconds if r else 1.0, body, headers)
                    if r:
                        found[name].append(Load(count, took, server.cpu() - before))
            return found
    finally:
        for server in servers.values():
            server.close()


def median_ratio(found: dict[str, list[Load]], what: str) -> float:
    """Median over rounds of guarded / bare for ``per_second`` or ``cpu_us``."""
    pairs = zip(found["guarded"], found["bare"], strict=True)
    return float(statistics.median(getattr(g, what) / getattr(b, what) for g, b in pairs))
