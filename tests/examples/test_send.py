"""examples/send.py states what it expected and what it got for each delivery, and its exit
status says whether anything surprised it (issue 10, item 9). Each example app runs as a real
process, started the way the README starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def example_app(name: str, *args: str) -> Iterator[int]:
    """Serve examples/<name> on a free loopback port until the block ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSEAL")}
    env["PORT"] = str(port)
    command = [sys.executable, str(EXAMPLES / name), *(a.format(port=port) for a in args)]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert process.poll() is None, f"{name} exited with {process.returncode}"
                assert time.monotonic() < deadline, f"{name} did not start"
                time.sleep(0.1)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def send(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSEAL")}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "send.py"), "--url", url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


APPS = [
    ("fastapi_app.py", (), "/webhooks/events/invoice", ()),
    ("fastapi_app.py", (), "/webhooks/stripe", ("--scheme", "stripe")),
    ("starlette_app.py", (), "/webhooks/invoice", ()),
    ("flask_app.py", (), "/webhooks/billing", ()),
    ("django_app.py", ("runserver", "127.0.0.1:{port}", "--noreload"), "/webhooks/billing", ()),
]


@pytest.mark.parametrize(
    ("app", "app_args", "route", "send_args"), APPS, ids=[f"{a[0]}{a[2]}" for a in APPS]
)
def test_every_delivery_is_answered_as_expected(
    app: str, app_args: tuple[str, ...], route: str, send_args: tuple[str, ...]
) -> None:
    with example_app(app, *app_args) as port:
        done = send(f"http://127.0.0.1:{port}{route}", *send_args)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for kind, expected in [
        ("valid", "expected 200, the body intact"),
        ("unsigned", "expected 401 missing_signature"),
        ("forged", "expected 401 signature_mismatch"),
        ("tampered", "expected 401 signature_mismatch"),
        ("oversized", "expected 413 payload_too_large"),
    ]:
        line = next(line for line in lines if line.split()[1:2] == [kind])
        assert line.startswith("ok "), line
        assert expected in line
    stale = next(line for line in lines if line.split()[1:2] == ["stale"])
    assert stale.startswith("ok " if send_args else "skip ")
    assert lines[-1].endswith(", 0 surprise(s)")


def test_a_surprise_is_named_and_exits_non_zero() -> None:
    """An unguarded route accepts (or refuses) the wrong deliveries: each is a SURPRISE."""
    with example_app("starlette_app.py") as port:
        done = send(f"http://127.0.0.1:{port}/healthz", "--kind", "forged")
    assert done.returncode == 1, done.stdout
    assert done.stdout.startswith("SURPRISE  forged     expected 401 signature_mismatch")
    assert done.stdout.splitlines()[-1] == "1 deliveries: 0 as expected, 1 surprise(s)"


def test_an_app_that_is_not_running_is_exit_2() -> None:
    done = send(f"http://127.0.0.1:{free_port()}/webhooks/x", "--kind", "valid")
    assert done.returncode == 2
    assert "is the app running?" in done.stdout
