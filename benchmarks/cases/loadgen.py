"""Load for the real-server benchmarks: wrk when it is on PATH, else a pure-Python generator.

Both keep :data:`CONNECTIONS` keep-alive connections busy with the same signed POST for a
bounded number of seconds, against 127.0.0.1 only, and fail loudly on any answer but 200. The
Python generator writes one prebuilt request per connection and reads the response by its
Content-Length, on raw asyncio streams (no HTTP client library: it must cost the machine as
little as it can, since it shares the cores with the server). It is slower than wrk, so it
reaches fewer requests per second; the server's CPU time per request, which the tables report
next to requests/s, does not depend on which generator drove it.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["CONNECTIONS", "load", "tool"]

CONNECTIONS = 8


def tool() -> str:
    """``wrk`` when it is on PATH, else ``python`` (the generator in this module)."""
    return "wrk" if shutil.which("wrk") else "python"


def load(port: int, path: str, body: bytes, headers: dict[str, str], seconds: float) -> int:
    """Requests answered 200 in ``seconds`` (wrk's whole seconds, at least one)."""
    if tool() == "wrk":
        return _wrk(port, path, body, headers, seconds)
    return asyncio.run(_python(port, path, body, headers, seconds))


def _wrk(port: int, path: str, body: bytes, headers: dict[str, str], seconds: float) -> int:
    lines = ['wrk.method = "POST"', "wrk.body = [==[" + body.decode("ascii") + "]==]"]
    for name, value in {**headers, "Content-Type": "application/json"}.items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "post.lua"
        script.write_text("\n".join(lines) + "\n", encoding="ascii")
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{CONNECTIONS}",
                f"-d{max(1, round(seconds))}s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise AssertionError(f"wrk saw failed requests:\n{out}")
    found = re.search(r"(\d+) requests in", out)
    if found is None:
        raise AssertionError(f"cannot read wrk's output:\n{out}")
    return int(found.group(1))


def _request(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in {**headers, "Content-Type": "application/json"}.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


async def _python(
    port: int, path: str, body: bytes, headers: dict[str, str], seconds: float
) -> int:
    request = _request(port, path, body, headers)
    stop = time.monotonic() + seconds
    done = 0

    async def connection() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while time.monotonic() < stop:
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
                if not head.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
                    raise AssertionError(f"the server answered {head[:40]!r}")
                length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                if length is None:
                    raise AssertionError("the benchmark app answers with a Content-Length")
                await reader.readexactly(int(length.group(1)))
                done += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))
    return done
