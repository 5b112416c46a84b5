"""Heartbeats: what a replica reports (fingerprints, counters by value), and where it lives
(a real redis-server with TTLs, a directory with expiry)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from _redis_server import redis_server
from hookseal import Keyring, Secret, SecretSet, Verifier
from hookseal.fleet import (
    DirectoryFleet,
    FleetReporter,
    FleetView,
    RedisFleet,
    ReplicaReport,
    set_fingerprint,
    verified_since,
)
from hookseal.secrets import fingerprint
from hookseal.sources import CallableSource
from hookseal.testing import ManualClock, signed_request

OLD, NEW = "old-fleet-secret-value", "new-fleet-secret-value"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def test_set_fingerprint_names_ids_and_values_without_showing_them() -> None:
    a = set_fingerprint([Secret(OLD, id="k1"), Secret(NEW, id="k2")])
    assert a == set_fingerprint([Secret(NEW, id="k2"), Secret(OLD, id="k1")])  # order-free
    assert a != set_fingerprint([Secret(OLD, id="k1"), Secret(NEW + "x", id="k2")])
    assert a != set_fingerprint([Secret(OLD, id="k1"), Secret(NEW, id="k3")])
    assert OLD not in a
    assert a.startswith("set-")


def test_report_counts_verifications_by_value_and_holds_no_value(tmp_path: Path) -> None:
    held = {"secrets": [Secret(OLD, id="current")]}
    keyring = Keyring(CallableSource(lambda: held["secrets"]), refresh_interval=60)
    keyring.start()
    clock = ManualClock()
    reporter = FleetReporter(keyring, DirectoryFleet(tmp_path), replica_id="r1", clock=clock)
    verifier = Verifier(keyring)
    for _ in range(3):
        verifier.verify(*signed_request({"a": 1}, OLD))
    first = reporter.beat()
    assert first.ready
    assert first.secrets == {"current": fingerprint(OLD.encode())}
    assert first.matches == {fingerprint(OLD.encode()): 3}
    assert first.last_match == {fingerprint(OLD.encode()): clock()}
    assert OLD not in first.to_json()
    # the id "current" now names another value (a relabel): new matches count for the new value
    held["secrets"] = [Secret(NEW, id="current")]
    keyring.refresh_after_mismatch()
    clock.advance(5)
    verifier.verify(*signed_request({"a": 2}, NEW))
    second = reporter.beat()
    assert second.matches == {fingerprint(OLD.encode()): 3, fingerprint(NEW.encode()): 1}
    assert second.last_match[fingerprint(OLD.encode())] == clock() - 5
    assert ReplicaReport.from_json(second.to_json()) == second
    keyring.close()


def test_matches_count_for_the_value_that_verified_even_when_the_set_changed_since(
    tmp_path: Path,
) -> None:
    # Between two beats the keyring may serve two sets: a relabel gives the id "current" a
    # new value, a removal drops the id "previous". A match belongs to the value that made it,
    # not to whatever the id names at the next beat: else a late delivery signed with the old
    # value counts as "the new secret verifies" (and the old one looks quiet) during a
    # billing rotation's confirm step, and a retired secret's last matches vanish.
    old_fp, new_fp = fingerprint(OLD.encode()), fingerprint(NEW.encode())
    held = {"secrets": [Secret(OLD, id="current"), Secret(NEW, id="next")]}
    keyring = Keyring(CallableSource(lambda: held["secrets"]), refresh_interval=60)
    keyring.start()
    clock = ManualClock()
    reporter = FleetReporter(keyring, DirectoryFleet(tmp_path), replica_id="r1", clock=clock)
    verifier = Verifier(keyring)
    assert reporter.beat().matches == {}
    verifier.verify(*signed_request({"a": 1}, OLD))  # "current" is the old value here
    verifier.verify(*signed_request({"a": 2}, NEW))  # "next" is the new value here
    held["secrets"] = [Secret(NEW, id="current"), Secret(OLD, id="previous")]  # relabelled
    keyring.refresh_after_mismatch()
    clock.advance(5)
    report = reporter.beat()
    assert report.matches == {old_fp: 1, new_fp: 1}
    assert report.last_match == {old_fp: clock(), new_fp: clock()}
    verifier.verify(*signed_request({"a": 3}, OLD))  # "previous", then removed
    held["secrets"] = [Secret(NEW, id="current")]
    keyring.refresh_after_mismatch()
    clock.advance(5)
    report = reporter.beat()
    assert report.matches == {old_fp: 2, new_fp: 1}
    assert report.last_match[old_fp] == clock()
    keyring.close()


def test_a_cold_keyring_reports_not_ready(tmp_path: Path) -> None:
    def failing() -> list[Secret]:
        raise RuntimeError("source down")

    keyring = Keyring(CallableSource(failing), refresh_interval=60)
    report = FleetReporter(keyring, DirectoryFleet(tmp_path)).beat()
    assert not report.ready
    assert report.set_fingerprint is None
    assert report.reason


def test_redis_fleet_reports_expire_and_close_withdraws(redis_url: str) -> None:
    fleet = RedisFleet(redis_url, group="g1")
    view = FleetView(fleet)
    secrets = SecretSet([Secret(OLD, id="k1")])
    short = FleetReporter(secrets, fleet, replica_id="short", interval=0.05, ttl=0.2)
    kept = FleetReporter(secrets, fleet, replica_id="kept", interval=1, ttl=60)
    short.beat()
    kept.start()
    assert sorted(r.replica for r in view.live()) == ["kept", "short"]
    deadline = time.monotonic() + 10
    while "short" in [r.replica for r in view.live()]:  # Redis expires it by itself
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert view.lagging(fingerprint(NEW.encode())) == ["kept"]
    assert view.lagging(fingerprint(OLD.encode())) == []
    fleet.note({"rotation": "rot-1", "step": "deploy"})
    kept.beat()
    assert kept.notice == {"rotation": "rot-1", "step": "deploy"}
    kept.close()
    assert view.live() == []
    assert FleetView(RedisFleet(redis_url, group="other")).live() == []
    fleet.close()


def test_directory_fleet_ignores_and_clears_expired_reports(tmp_path: Path) -> None:
    clock = ManualClock()
    fleet = DirectoryFleet(tmp_path, clock=clock)
    reporter = FleetReporter(SecretSet([OLD]), fleet, replica_id="r/1", interval=1, ttl=3)
    reporter.beat()
    assert [r.replica for r in fleet.reports()] == ["r/1"]
    clock.advance(3.5)
    assert fleet.reports() == []
    assert list(tmp_path.glob("replica-*")) == []


def test_verified_since_survives_a_replica_restart() -> None:
    base = {"r1@1.0": {"fp-new": 4}, "r2@1.0": {"fp-new": 1}}
    now = {"r1@1.0": {"fp-new": 6}, "r2@9.0": {"fp-new": 2}}  # r2 restarted: counts anew
    assert verified_since(base, now, "fp-new") == 2 + 2


@pytest.mark.parametrize("where", ["redis", "directory"])
def test_one_rotation_claims_the_fleet_at_a_time(
    where: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    backend = (
        RedisFleet(request.getfixturevalue("redis_url"), group=f"claim-{time.time_ns()}")
        if where == "redis"
        else DirectoryFleet(tmp_path)
    )
    try:
        assert backend.claim("rot-a") is None
        assert backend.claim("rot-a") is None  # a resumed rotation claims it again
        assert backend.claim("rot-b") == "rot-a"
        assert backend.release("rot-b") is None  # not b's to release
        assert backend.claim("rot-b") == "rot-a"
        assert backend.release("rot-a") == "rot-a"
        assert backend.claim("rot-b") is None
        assert backend.release("", force=True) == "rot-b"  # --break-lock
        assert backend.release("", force=True) is None
        assert backend.claim("rot-c") is None
    finally:
        backend.close()


@pytest.mark.parametrize(
    "damage",
    [
        {"secrets": ["fp-1"]},
        {"matches": {"fp-1": "many"}},
        {"last_match": {"fp-1": "yesterday"}},
        {"ready": "yes"},
        {"at": None},
    ],
)
def test_a_damaged_report_counts_as_a_replica_serving_nothing(
    tmp_path: Path, damage: dict[str, object]
) -> None:
    # A v1 report with a field of the wrong type crashed the rotation's waits (AttributeError,
    # TypeError). The replica is there, but what it serves is unknown: it holds a deployment
    # back (fail closed) and counts no traffic.
    fleet = DirectoryFleet(tmp_path)
    good = ReplicaReport(
        "r-good", at=1.0, started=1.0, ready=True, secrets={"k": "fp-1"}, matches={"fp-1": 2}
    )
    fleet.publish(good, 60)
    damaged = {**json.loads(good.to_json()), "replica": "r-damaged", **damage}
    fleet.publish(good, 60)
    (tmp_path / "replica-r-damaged.json").write_text(
        json.dumps({"expires": time.time() + 60, "report": json.dumps(damaged)})
    )
    (tmp_path / "replica-r-deep.json").write_text("[" * 100_000)  # ignored: not a report
    view = FleetView(fleet)
    live = {r.replica: r for r in view.live()}
    assert set(live) == {"r-good", "r-damaged"}
    assert not live["r-damaged"].ready
    assert view.lagging("fp-1") == ["r-damaged"]
    assert verified_since({}, view.counts(), "fp-1") == 2


def test_a_report_with_a_field_added_later_is_still_read() -> None:
    report = ReplicaReport("r1", at=1.0, started=1.0, ready=True, secrets={"k": "fp-1"})
    newer = {**json.loads(report.to_json()), "zone": "eu-west-1"}
    assert ReplicaReport.from_json(json.dumps(newer)) == report
