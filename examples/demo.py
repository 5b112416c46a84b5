"""The hookseal demo: a real app on 127.0.0.1 receives signed, unsigned, forged, stale and rotated
webhooks, and hookseal accepts or refuses each one before the app sees it.

    python3 dev.py demo                 # sets up .venv first, then runs this
    .venv/bin/python examples/demo.py   # once .venv exists

The app is the FastAPI example (examples/fastapi_app.py) served by uvicorn on a free port. Its
secrets come from a JSON file through a refreshing Keyring, so the rotation in step 2 happens
the way an operator would do it: by rewriting the file, with no restart. The demo checks every
answer against what should happen and exits non-zero if any differs.
"""

from __future__ import annotations

import json
import secrets as stdlib_secrets
import socket
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastapi_app import create_app
from hookseal import Keyring, Secret, SecretSet
from hookseal.sources import FileSource
from send import Outcome, build, deliver

LEEWAY = 1.0  # seconds of clock skew allowed past rotate_at; production default is 60
PAYLOAD = {"type": "invoice.paid", "id": "evt_1", "amount": 4200}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_secrets(path: Path, entries: list[dict[str, object]]) -> None:
    """Replace the secrets file atomically, as a deploy tool or a mounted secret would."""
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps({"secrets": entries}, indent=2))
    staging.replace(path)


class Demo:
    def __init__(self, base: str) -> None:
        self.base = base
        self.client = httpx.Client(timeout=10)
        self.failures = 0

    def step(
        self,
        title: str,
        kind: str,
        route: str,
        secret: str | None,
        expect_status: int,
        expect: str,
        scheme: str | None = None,
    ) -> Outcome:
        body, headers = build(kind, PAYLOAD, secret or "unused", scheme)
        outcome = deliver(self.client, self.base + route, body, headers)
        good = outcome.status == expect_status and (
            outcome.secret_id == expect if outcome.status == 200 else outcome.code == expect
        )
        if outcome.status == 200 and outcome.body_intact is not True:
            good = False
        self.failures += not good
        shown = f"accepted, secret {outcome.secret_id}" if outcome.status == 200 else outcome.code
        mark = "ok " if good else "FAIL"
        print(f"  [{mark}] {title:<52} -> {outcome.status} {shown}")
        return outcome


def main() -> int:
    old = "whsec_" + stdlib_secrets.token_hex(16)
    new = "whsec_" + stdlib_secrets.token_hex(16)
    workdir = Path(tempfile.mkdtemp(prefix="hookseal-demo-"))
    secrets_file = workdir / "webhook-secrets.json"
    write_secrets(secrets_file, [{"id": "k1", "value": old}])

    keyring = Keyring(FileSource(secrets_file, watch=True, poll_interval=0.2), cooldown=1.0)
    keyring.start(timeout=5)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(keyring, leeway=LEEWAY),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        print("the example app did not start")
        return 1

    demo = Demo(f"http://127.0.0.1:{port}")
    events, stripe = "/webhooks/events/invoice", "/webhooks/stripe"
    try:
        print(f"example app (FastAPI + hookseal) on 127.0.0.1:{port}; secrets in {secrets_file}")
        print("\n1. everyday deliveries, one active secret k1")
        demo.step("signed with k1", "valid", events, old, 200, "k1")
        demo.step("no signature header", "unsigned", events, None, 401, "missing_signature")
        demo.step(
            "signed with a secret nobody has (forged)",
            "forged",
            events,
            None,
            401,
            "signature_mismatch",
        )
        demo.step(
            "body changed after signing (tampered)",
            "tampered",
            events,
            old,
            401,
            "signature_mismatch",
        )
        demo.step("Stripe format, signed now", "valid", stripe, old, 200, "k1", scheme="stripe")
        demo.step(
            "Stripe format, timestamp 10 minutes old",
            "stale",
            stripe,
            old,
            401,
            "timestamp_too_old",
            scheme="stripe",
        )
        demo.step(
            "a 1 MiB+ body (over the limit)", "oversized", events, old, 413, "payload_too_large"
        )

        rotate_at = time.time() + 3.5
        print(
            f"\n2. the operator rotates: adds k2, and k1 expires at rotate_at "
            f"({datetime.fromtimestamp(rotate_at, timezone.utc):%H:%M:%S} UTC) "
            f"+ {LEEWAY:.0f} s leeway; no restart"
        )
        write_secrets(
            secrets_file,
            [
                {"id": "k2", "value": new},
                {"id": "k1", "value": old, "expires_at": rotate_at},
            ],
        )
        time.sleep(0.5)  # the file watcher polls every 0.2 s and tells the keyring to refresh
        demo.step("signed with the new secret k2 (first use)", "valid", events, new, 200, "k2")
        demo.step(
            "signed with the old secret k1, inside the window", "valid", events, old, 200, "k1"
        )
        both = SecretSet([Secret(new, id="k2"), Secret(old, id="k1")])
        body, headers = build("valid", PAYLOAD, both, None)
        outcome = deliver(demo.client, demo.base + events, body, headers)
        good = outcome.status == 200
        demo.failures += not good
        print(
            f"  [{'ok ' if good else 'FAIL'}] {'sender signs with both (two signatures)':<52}"
            f" -> {outcome.status} accepted, secret {outcome.secret_id}"
        )

        time.sleep(max(0.0, rotate_at + LEEWAY - time.time()) + 0.2)
        print("\n3. after rotate_at + leeway")
        demo.step("signed with the old secret k1", "valid", events, old, 401, "signature_mismatch")
        demo.step("signed with the new secret k2", "valid", events, new, 200, "k2")
        stats = keyring.stats()
        print(
            f"\nkeyring: {stats.fetches} fetches, matches by secret id "
            f"{dict(stats.matches_by_secret_id)}"
        )
        demo.failures += rotation_scene(demo, keyring, secrets_file, workdir)
    finally:
        demo.client.close()
        server.should_exit = True
        thread.join(timeout=10)
        keyring.close()
    if demo.failures:
        print(f"\n{demo.failures} step(s) did not go as expected")
        return 1
    print("\nevery delivery was accepted or refused as it should be")
    return 0


def rotation_scene(demo: Demo, keyring: Keyring, secrets_file: Path, workdir: Path) -> int:
    """4. ``hookseal rotate`` does the whole procedure while deliveries keep coming: the new
    secret reaches the file, the app (reporting in a fleet directory) serves it, the demo
    plays the operator who enters it at the provider, the old one goes quiet, then away."""
    import subprocess

    from hookseal.fleet import DirectoryFleet, FleetReporter

    print("\n4. hookseal rotate, with deliveries flowing all along")
    fleet_dir = workdir / "fleet"
    reporter = FleetReporter(
        keyring, DirectoryFleet(fleet_dir), replica_id="demo-app", interval=0.2
    )
    reporter.start()
    signing = {"value": next(iter(keyring.secret_set().candidates(time.time(), 0))).reveal()}
    outcomes: list[int] = []
    stop = threading.Event()

    def sender() -> None:  # the provider: signs each delivery with what it holds now
        with httpx.Client(timeout=10) as client:
            while not stop.wait(0.05):
                body, headers = build("valid", PAYLOAD, signing["value"].decode(), None)
                outcomes.append(
                    deliver(client, demo.base + "/webhooks/events/invoice", body, headers).status
                )

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    old_value = signing["value"]
    command = [
        sys.executable, "-m", "hookseal", "rotate", "--kind", "manual",
        "--provider-name", "the demo's sender", "--file", str(secrets_file),
        "--fleet-dir", str(fleet_dir), "--state", str(workdir / "rotation.json"),
        "--audit", str(workdir / "rotation.log"), "--poll", "0.1", "--progress-every", "2",
        "--quiet", "1", "--grace", "0.5", "--leeway", str(LEEWAY), "--min-deliveries", "3",
    ]  # fmt: skip
    print("  $ hookseal rotate --kind manual --file ... --fleet-dir ...")
    rotate = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # noqa: S603
    assert rotate.stdout is not None
    for line in rotate.stdout:
        if line.startswith("secret "):  # printed once for the operator: shown here masked
            secret_id, value = line.rstrip("\n").split(": ", 1)
            print(f"  | {secret_id}: {value[:4]}... (the demo enters it at the sender)")
            signing["value"] = value.encode()
        else:
            print("  | " + line.rstrip("\n"))
    code = rotate.wait()
    stop.set()
    thread.join(timeout=10)
    reporter.close()
    refused = sum(status != 200 for status in outcomes)
    print(f"  deliveries during the rotation: {len(outcomes)} sent, {refused} refused")
    audit = (workdir / "rotation.log").read_text().splitlines()
    print(f"  audit log: {len(audit)} lines (ids only), e.g. {audit[-1][:110]}...")
    failures = int(code != 0) + int(refused > 0)
    after = demo.step("signed with the rotated-out secret", "valid", "/webhooks/events/invoice",
                      old_value.decode(), 401, "signature_mismatch")  # fmt: skip
    return failures + int(after.status != 401)


if __name__ == "__main__":
    sys.exit(main())
