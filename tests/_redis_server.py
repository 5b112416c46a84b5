"""A real, throwaway redis-server on 127.0.0.1 for the tests (Debian package ``redis-server``).

Shared by ``tests/sources/conftest.py`` and ``tests/test_replay_redis.py``. A missing binary is a
failure, not a skip: CI installs it, and a skipped Redis suite would hide real breakage.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server on a free loopback port, yield its URL, stop it afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(
            "redis-server is not on PATH; install it (Debian/Ubuntu: "
            "apt-get install -y redis-server) - the Redis tests need a real server",
            pytrace=False,
        )
    with tempfile.TemporaryDirectory(prefix="hookseal-redis-") as workdir:
        port = _free_port()
        process = subprocess.Popen(
            [
                binary,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _pings(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not answer PING on port {port}", pytrace=False)
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            try:
                process.wait(timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
