"""Real parts for the fleet tests: replica processes under uvicorn, a steady sender, and
``hookseal rotate`` as a subprocess whose operator instructions a test answers.

Every wait here is bounded by a generous deadline that only marks a failure; nothing is
judged by how fast it went.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
REPLICA_APP = ROOT / "examples" / "replica_app.py"
START_TIMEOUT = 60.0
ROTATE_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def signature(value: str, body: bytes) -> str:
    """What the providers put in ``Signature``: hex HMAC-SHA256 of the exact body."""
    return hmac.new(value.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def replicas(count: int, env: dict[str, str], workdir: Path) -> Iterator[list[Replica]]:
    """``count`` processes of examples/replica_app.py, each ready (``/readyz`` 200) before
    this yields; stopped (terminate, then kill) afterwards."""
    started: list[Replica] = []
    try:
        for number in range(count):
            name = f"replica-{number + 1}"
            port = free_port()
            log = workdir / f"{name}.log"
            with log.open("wb") as output:  # the child keeps its own copy of the descriptor
                process = subprocess.Popen(
                    [sys.executable, str(REPLICA_APP)],
                    env={**os.environ, **env, "PORT": str(port), "HOOKSEAL_REPLICA_ID": name},
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            started.append(Replica(name, port, process, log))
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=5) as client:
            for replica in started:
                while not _ready(client, replica):
                    assert replica.process.poll() is None, (
                        f"{replica.name} exited: {replica.log.read_text()[-2000:]}"
                    )
                    assert time.monotonic() < deadline, f"{replica.name} never became ready"
                    time.sleep(0.1)
        yield started
    finally:
        for replica in started:
            replica.process.terminate()
        for replica in started:
            try:
                replica.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()


def _ready(client: httpx.Client, replica: Replica) -> bool:
    try:
        return client.get(replica.url + "/readyz").status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Delivery:
    sent: float
    status: int
    signed_with: tuple[str, ...]
    secret_id: str | None


@dataclass
class Sender:
    """Posts a delivery every ``period`` seconds to the replicas in turn, signed with what
    ``holds()`` says the provider signs with now (labels and values)."""

    targets: list[str]
    holds: Callable[[], list[tuple[str, str]]]
    period: float = 0.03
    deliveries: list[Delivery] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sender:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=30)

    def _run(self) -> None:
        counter = itertools.count()
        with httpx.Client(timeout=10) as client:
            while not self._stop.wait(self.period):
                number = next(counter)
                signing = self.holds()
                body = f'{{"event": "invoice.paid", "n": {number}}}'.encode()
                headers = {"Content-Type": "application/json"}
                if signing:
                    headers["Signature"] = ",".join(signature(v, body) for _, v in signing)
                url = self.targets[number % len(self.targets)] + "/webhooks/invoice"
                sent = time.time()
                try:
                    answer = client.post(url, content=body, headers=headers)
                    status = answer.status_code
                    secret_id = answer.json().get("secret_id") if status == 200 else None
                except httpx.HTTPError:
                    status, secret_id = 0, None
                labels = tuple(label for label, _ in signing)
                self.deliveries.append(Delivery(sent, status, labels, secret_id))

    def summary(self) -> dict[str, int]:
        sent = len(self.deliveries)
        accepted = sum(d.status == 200 for d in self.deliveries)
        return {"sent": sent, "accepted": accepted, "refused": sent - accepted}


@dataclass
class RotateRun:
    returncode: int
    stdout: list[str]
    stderr: str


def rotate(
    args: list[str],
    env: dict[str, str],
    operator: Callable[[str, list[str]], None] | None = None,
    *,
    crash_at: str | None = None,
    timeout: float = ROTATE_TIMEOUT,
) -> RotateRun:
    """Run ``python -m hookseal rotate ARGS``; each stdout line goes to ``operator`` (with
    the lines so far) as it arrives."""
    full_env = {**os.environ, **env}
    full_env.pop("HOOKSEAL_ROTATE_CRASH", None)
    if crash_at is not None:
        full_env["HOOKSEAL_ROTATE_CRASH"] = crash_at
    process = subprocess.Popen(
        [sys.executable, "-m", "hookseal", "rotate", *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    errors: list[str] = []
    drain = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)  # type: ignore[union-attr]
    drain.start()
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if operator is not None:
                operator(lines[-1], lines)
        process.wait()
    finally:
        timer.cancel()
        drain.join(timeout=10)
        for stream in (process.stdout, process.stderr):  # closed here, not by the collector
            if stream is not None:
                stream.close()
    return RotateRun(process.returncode, lines, "".join(errors))
