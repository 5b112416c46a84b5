"""The one-file Django example, run as a user would: its checks, then runserver on loopback."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hookseal.testing import forged_request, signed_request

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "django_app.py"
SECRET = "example-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOOKSEAL_SECRETS=SECRET)
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_system_checks_pass() -> None:
    done = run_example("check")
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout.lower()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, HOOKSEAL_SECRETS=SECRET)
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Django example did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


def test_signed_delivery_reaches_the_view_intact(server: str) -> None:
    body, headers = signed_request({"type": "invoice.paid", "amount": 4200}, SECRET)
    response = httpx.post(server + "/webhooks/billing", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()


def test_forged_and_unsigned_deliveries_are_refused(server: str) -> None:
    body, headers = forged_request({"type": "invoice.paid"})
    forged = httpx.post(server + "/webhooks/billing", content=body, headers=headers)
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    assert forged.json()["code"] == "signature_mismatch"
    unsigned = httpx.post(server + "/webhooks/billing", content=body)
    assert unsigned.json()["code"] == "missing_signature"
