"""``hookseal rotate`` on the command line: the plan, usage mistakes, credentials from the
environment only, and the exit codes."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from _provider_apis import ApiServer
from _provider_apis.billing import BillingApi
from _provider_apis.fixtures import (
    BILLING_TOKEN,
    PAYMENTS_TEST_KEY,
    billing_server,
    integrator_server,
    payments_server,
)
from _provider_apis.integrator import IntegratorApi
from _provider_apis.payments import PaymentsApi
from hookseal.__main__ import main

__all__ = ["billing_server", "integrator_server", "payments_server"]


def _files(tmp_path: Path) -> list[str]:
    secrets = tmp_path / "secrets.json"
    secrets.write_text('{"secrets": [{"id": "k1", "value": "old-cli-secret"}]}')
    return [
        "--file", str(secrets), "--fleet-dir", str(tmp_path / "fleet"),
        "--state", str(tmp_path / "state.json"), "--audit", str(tmp_path / "audit.log"),
    ]  # fmt: skip


def test_dry_run_prints_the_plan_and_changes_nothing(
    tmp_path: Path,
    integrator_server: ApiServer[IntegratorApi],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HOOKSEAL_INTEGRATOR_TOKEN", "integrator-token-0123456789-private")
    args = ["rotate", "--kind", "integrator", "--provider-url", integrator_server.base_url]
    assert main([*args, *_files(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "rotation (integrator API at" in out
    assert "1. create   [todo]" in out
    assert "4. switch   [todo] PUT /v1/integrator/webhook-secret" in out
    assert "old-cli-secret" not in out
    assert not (tmp_path / "state.json").exists()
    assert integrator_server.requests_to("/v1/integrator/webhook-secret") == []


def test_a_missing_credential_is_a_usage_error_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HOOKSEAL_BILLING_TOKEN", raising=False)
    args = [
        "rotate",
        "--kind",
        "billing",
        "--provider-url",
        "http://127.0.0.1:9",
        "--endpoint-id",
        "wep_1",
    ]
    assert main([*args, *_files(tmp_path)]) == 2
    assert "export HOOKSEAL_BILLING_TOKEN" in capsys.readouterr().err


def test_no_fleet_and_two_stores_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rotate", "--kind", "manual", "--file", str(tmp_path / "s.json")]) == 2
    assert "--fleet-redis or --fleet-dir" in capsys.readouterr().err
    both = ["rotate", "--kind", "manual", "--file", "a.json", "--aws", "x", "--fleet-dir", "f"]
    assert main(both) == 2


def test_billing_refuses_to_start_while_the_provider_is_rotating(
    tmp_path: Path,
    billing_server: ApiServer[BillingApi],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint = billing_server.api.add_endpoint("https://receiver.example/hooks")
    billing_server.api.start_rotation(endpoint, "whatever", 4_000_000_000)
    monkeypatch.setenv("HOOKSEAL_BILLING_TOKEN", BILLING_TOKEN)
    files = _files(tmp_path)
    (tmp_path / "secrets.json").write_text('{"secrets": [{"id": "current", "value": "v"}]}')
    args = ["rotate", "--kind", "billing", "--provider-url", billing_server.base_url]
    assert main([*args, "--endpoint-id", endpoint, *files]) == 4
    assert "already rotating" in capsys.readouterr().err


def test_resume_with_nothing_in_progress_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rotate", "--kind", "manual", *_files(tmp_path), "--resume"]) == 1
    assert "no rotation in progress to resume" in capsys.readouterr().err


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _rotate(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m hookseal rotate`` in a process of its own, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "hookseal", "rotate", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_provider_or_store_that_fails_is_one_line_and_exit_1_not_a_traceback(
    tmp_path: Path, payments_server: ApiServer[PaymentsApi]
) -> None:
    down = f"http://127.0.0.1:{_closed_port()}"
    key = {"HOOKSEAL_PAYMENTS_SECRET_KEY": PAYMENTS_TEST_KEY}
    unreachable = _rotate(["--kind", "payments", "--provider-url", down, *_files(tmp_path)], key)
    assert (unreachable.returncode, unreachable.stdout) == (1, "")
    assert "Traceback" not in unreachable.stderr
    assert "payments API (127.0.0.1): GET /webhooks/secrets: request failed" in unreachable.stderr
    assert PAYMENTS_TEST_KEY not in unreachable.stderr

    refused = _rotate(
        ["--kind", "payments", "--provider-url", payments_server.base_url, *_files(tmp_path)],
        {"HOOKSEAL_PAYMENTS_SECRET_KEY": "skey_test_not_an_account_key"},
    )
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert "HTTP 401: authentication_failure" in refused.stderr

    redis_down = f"redis://:pass-word-0123@127.0.0.1:{_closed_port()}/0"
    store = ["--kind", "manual", "--redis", redis_down, "--state", str(tmp_path / "r.json")]
    no_redis = _rotate([*store, "--audit", str(tmp_path / "r.log")], {})
    assert no_redis.returncode == 1
    assert "Traceback" not in no_redis.stderr
    assert "ConnectionError" in no_redis.stderr
    assert "pass-word-0123" not in no_redis.stderr


def test_two_operators_at_once_one_runs_the_other_is_refused(tmp_path: Path) -> None:
    # Two real processes started together, each with a state file of its own: only the
    # fleet and the store are shared. No replica reports, so the one that runs waits for its
    # deployment and rolls back (exit 3); the other must be refused at once (exit 4).
    files = _files(tmp_path)
    before = json.loads((tmp_path / "secrets.json").read_text())
    common = ["--kind", "manual", *files[:4], "--deploy-timeout", "4", "--poll", "0.2"]

    def operator(name: str) -> subprocess.Popen[str]:
        own = ["--state", str(tmp_path / name / "state.json")]
        own += ["--audit", str(tmp_path / name / "audit.log")]
        return subprocess.Popen(
            [sys.executable, "-m", "hookseal", "rotate", *common, *own],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    processes = [operator("a"), operator("b")]
    outcomes = []
    for process in processes:
        _, err = process.communicate(timeout=60)
        outcomes.append((process.returncode, err))
    assert sorted(code for code, _ in outcomes) == [3, 4]
    refused = next(err for code, err in outcomes if code == 4)
    assert re.search(r"rotation rot-\w+ is in progress on fleet directory", refused)
    assert json.loads((tmp_path / "secrets.json").read_text()) == before  # rolled back
    assert not (tmp_path / "fleet" / "rotation.claim").exists()  # released by the rollback
