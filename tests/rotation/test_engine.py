"""The rotation engine's rules, in process: a real integrator imitation, a real secrets file,
replicas that are real Keyrings with real FleetReporters in a fleet directory.

The rotation's ``sleep`` is where the world moves on: the replicas refresh, beat, and receive
the deliveries a test wants, so every wait sees the fleet a poll later.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from _provider_apis import ApiServer, serving
from _provider_apis.integrator import IntegratorApi
from hookseal import Keyring, Secret, Verifier
from hookseal.fleet import DirectoryFleet, FleetReporter
from hookseal.providers import IntegratorClient
from hookseal.rotation import (
    STEPS,
    FileStore,
    IntegratorKind,
    Progress,
    Rotation,
    RotationError,
    RotationRefused,
    RotationTimeout,
    Settings,
    StateFile,
)
from hookseal.sources import CallableSource
from hookseal.testing import signed_request

TOKEN = "integrator-token-engine-tests"
OLD = "old-secret-value-0123456789"
FAST = Settings(
    poll=0.02,
    deploy_timeout=5,
    switch_timeout=5,
    confirm_timeout=5,
    remove_timeout=5,
    quiet=0.1,
    grace=0.05,
    leeway=0.0,
    min_deliveries=2,
    min_replicas=2,
)


@dataclass
class Node:
    """One replica: a keyring over the store, a verifier, a reporter (beaten by hand)."""

    keyring: Keyring
    verifier: Verifier
    reporter: FleetReporter


@dataclass
class World:
    store: FileStore
    fleet: DirectoryFleet
    api: IntegratorApi
    server: ApiServer[IntegratorApi]
    tmp: Path
    nodes: list[Node] = field(default_factory=list)
    sending: Callable[[], list[str]] | None = None  # values to sign each delivery with
    frozen: set[int] = field(default_factory=set)  # nodes that stop refreshing
    hook: Callable[[World], None] | None = None

    def tick(self, seconds: float) -> None:
        time.sleep(seconds)
        if self.hook is not None:
            self.hook(self)
        for number, node in enumerate(self.nodes):
            if number not in self.frozen:
                node.keyring.secret_set()  # a stale set refreshes in the background
            if self.sending is not None:
                values = self.sending()
                if values:
                    body, headers = signed_request({"n": 1}, values)
                    node.verifier.verify(body, headers)
            node.reporter.beat()

    def rotation(self, settings: Settings = FAST, **extra: object) -> Rotation:
        client = IntegratorClient(self.server.base_url, token=TOKEN)
        return Rotation(
            IntegratorKind(client),
            store=self.store,
            fleet=self.fleet,
            state=self.tmp / "state.json",
            audit=self.tmp / "audit.log",
            settings=settings,
            progress=Progress(io.StringIO()),
            operator=io.StringIO(),
            sleep=self.tick,
            **extra,  # type: ignore[arg-type]
        )

    def audit(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in (self.tmp / "audit.log").read_text().splitlines()]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    api = IntegratorApi()
    api.add_integrator("i1")
    api.add_token(TOKEN, "i1")
    with serving(api) as server:
        IntegratorClient(server.base_url, token=TOKEN).set_webhook_secret(OLD)
        store = FileStore(tmp_path / "secrets.json")
        store.update(lambda held: {"k1": Secret(OLD, id="k1")}, token="setup")
        fleet = DirectoryFleet(tmp_path / "fleet")
        world = World(store, fleet, api, server, tmp_path)
        for number in range(2):
            keyring = Keyring(
                CallableSource(lambda: list(store.read().values())),
                refresh_interval=0.05,
                min_interval=0.01,
                cooldown=0.01,
            )
            keyring.start()
            reporter = FleetReporter(keyring, fleet, replica_id=f"r{number}", interval=1, ttl=60)
            reporter.beat()
            world.nodes.append(Node(keyring, Verifier(keyring, leeway=0), reporter))
        world.sending = lambda: [v] if (v := api.secret("i1")) else []
        yield world
        for node in world.nodes:
            node.keyring.close()


def test_a_rotation_runs_every_step_and_leaves_only_the_new_secret(world: World) -> None:
    state = world.rotation().run()
    assert state.status == "done"
    assert state.done == list(STEPS)
    held = world.store.read()
    assert list(held) == [state.new_id]
    assert world.api.secret("i1") == held[str(state.new_id)].reveal().decode()
    events = [(line["step"], line["event"]) for line in world.audit()]
    for step in STEPS:
        assert (step, "started") in events
        assert (step, "done") in events
    text = (world.tmp / "audit.log").read_text() + (world.tmp / "state.json").read_text()
    assert OLD not in text
    new_value = world.api.secret("i1")
    assert new_value is not None
    assert new_value not in text  # ids and fingerprints only, never a value


def test_dry_run_prints_the_plan_and_changes_nothing(world: World) -> None:
    before = (world.tmp / "secrets.json").read_text()
    lines = world.rotation().plan()
    assert len(lines) == 1 + len(STEPS)
    assert "PUT /v1/integrator/webhook-secret" in "\n".join(lines)
    assert (world.tmp / "secrets.json").read_text() == before
    assert not (world.tmp / "state.json").exists()
    assert world.api.secret("i1") == OLD


def test_a_replica_that_never_serves_the_new_secret_rolls_everything_back(world: World) -> None:
    world.frozen.add(1)  # this replica stops refreshing: it will never serve the new secret
    world.nodes[1].keyring.close()
    settings = Settings(**{**FAST.__dict__, "deploy_timeout": 0.5})
    with pytest.raises(RotationTimeout, match=r"r1.*rolled back"):
        world.rotation(settings).run()
    assert list(world.store.read()) == ["k1"]
    assert world.api.secret("i1") == OLD  # nothing changed at the provider
    state = StateFile(world.tmp / "state.json").load()
    assert state is not None
    assert state.status == "rolled_back"
    assert ("rollback", "rolled_back") in [(e["step"], e["event"]) for e in world.audit()]


def test_too_few_live_replicas_is_a_timeout_not_a_switch(world: World) -> None:
    for node in world.nodes:
        node.reporter.close()  # withdrawn: no replica is live
    world.nodes.clear()
    settings = Settings(**{**FAST.__dict__, "deploy_timeout": 0.3})
    with pytest.raises(RotationTimeout, match="0 live replica"):
        world.rotation(settings).run()
    assert world.api.secret("i1") == OLD


class Interrupted(Exception):
    """Stands for the process dying in the middle of a wait."""


def interrupt_after(step: str) -> Callable[[World], None]:
    """A hook that interrupts the rotation at its first wait after ``step`` is done."""

    def hook(world: World) -> None:
        if (step, "done") in [(e["step"], e["event"]) for e in world.audit()]:
            raise Interrupted

    return hook


def test_retire_is_refused_while_the_old_secret_still_verifies(world: World) -> None:
    state_file = StateFile(world.tmp / "state.json")
    rotation = world.rotation()
    rotation.run()
    state = state_file.load()
    assert state is not None
    # the old secret is back in the store and a stubborn sender still signs with it
    world.store.update(lambda held: {**held, "k1": Secret(OLD, id="k1")}, token="t")
    state.done = list(STEPS[: STEPS.index("retire")])
    state.status = "running"
    state.old = {"k1": state.old["k1"]}
    state_file.save(state)
    world.sending = lambda: [OLD]
    for _ in range(5):
        world.tick(0.05)
    with pytest.raises(RotationRefused, match="verified traffic"):
        world.rotation().run(resume=True)
    forced = Settings(**{**FAST.__dict__, "force": True})
    world.sending = None
    assert world.rotation(forced).run(resume=True).status == "done"
    assert ("retire", "forced") in [(e["step"], e["event"]) for e in world.audit()]


def test_the_old_secret_is_never_retired_when_the_new_one_is_missing(world: World) -> None:
    state_file = StateFile(world.tmp / "state.json")
    world.rotation().run()
    state = state_file.load()
    assert state is not None
    world.store.update(lambda held: {"k1": Secret(OLD, id="k1")}, token="lost")
    state.done = list(STEPS[: STEPS.index("retire")])
    state.status = "running"
    state_file.save(state)
    with pytest.raises(RotationRefused, match="does not hold the new secret"):
        world.rotation().run(resume=True)
    assert list(world.store.read()) == ["k1"]  # the only secret stays


def test_resume_abort_and_a_second_rotation_in_progress(world: World) -> None:
    with pytest.raises(RotationError, match="no rotation in progress to resume"):
        world.rotation().run(resume=True)
    world.hook = interrupt_after("store")  # dies waiting for the deployment
    with pytest.raises(Interrupted):
        world.rotation().run()
    world.hook = None
    assert len(world.store.read()) == 2
    with pytest.raises(RotationError, match=r"in progress.*--resume"):
        world.rotation().run()
    state = world.rotation().abort()
    assert state.status == "aborted"
    assert list(world.store.read()) == ["k1"]  # rolled back; the provider never switched
    assert world.api.secret("i1") == OLD

    world.hook = interrupt_after("switch")  # dies after switching the provider
    with pytest.raises(Interrupted):
        world.rotation().run()
    world.hook = None
    assert world.api.secret("i1") != OLD
    with pytest.raises(RotationRefused, match="only go forward"):
        world.rotation().abort()
    assert world.rotation().run(resume=True).status == "done"
    assert len(world.store.read()) == 1


def test_a_second_process_cannot_run_the_same_rotation(world: World) -> None:
    holder = StateFile(world.tmp / "state.json")
    holder.lock()
    try:
        with pytest.raises(RotationError, match="another hookseal rotate"):
            world.rotation().run()
    finally:
        holder.unlock()


def test_settings_are_checked() -> None:
    with pytest.raises(RotationError):
        Settings(poll=0)
    with pytest.raises(RotationError):
        Settings(min_deliveries=0)


def test_resume_refuses_a_state_from_another_provider_or_store(world: World) -> None:
    world.hook = interrupt_after("store")  # stops with the provider not yet switched
    with pytest.raises(Interrupted):
        world.rotation().run()
    world.hook = None
    other = IntegratorApi()
    other.add_integrator("i1")
    other.add_token(TOKEN, "i1")
    with serving(other) as elsewhere:
        client = IntegratorClient(elsewhere.base_url, token=TOKEN)
        resumed = Rotation(
            IntegratorKind(client),
            store=world.store,
            fleet=world.fleet,
            state=world.tmp / "state.json",
            audit=world.tmp / "audit.log",
            settings=FAST,
            progress=Progress(io.StringIO()),
            operator=io.StringIO(),
            sleep=world.tick,
        )
        with pytest.raises(RotationError, match=r"integrator API at http://127\.0\.0\.1:\d+"):
            resumed.run(resume=True)
        with pytest.raises(RotationError, match="another provider"):
            resumed.abort()
        assert other.secret("i1") is None  # the other integrator was never switched
    other_store = FileStore(world.tmp / "other-secrets.json")
    other_store.update(lambda held: {"k1": Secret(OLD, id="k1")}, token="setup")
    elsewhere_stored = Rotation(
        IntegratorKind(IntegratorClient(world.server.base_url, token=TOKEN)),
        store=other_store,
        fleet=world.fleet,
        state=world.tmp / "state.json",
        settings=FAST,
        progress=Progress(io.StringIO()),
        sleep=world.tick,
    )
    with pytest.raises(RotationError, match="another store"):
        elsewhere_stored.run(resume=True)
    assert world.api.secret("i1") == OLD
    assert world.rotation().run(resume=True).status == "done"  # the right one goes on


@pytest.mark.parametrize(
    "change",
    [
        {"done": 5},
        {"done": ["create", "fly"]},
        {"old": ["k1"]},
        {"marks": {"switch_started": "soon"}},
        {"baseline": {"r0@1": {"fp-1": "many"}}},
        {"status": "sleeping"},
        {"new_id": 7},
        {"facts": []},
        {"kind": None},
    ],
)
def test_a_corrupt_state_file_is_a_rotation_error(world: World, change: dict[str, object]) -> None:
    world.hook = interrupt_after("store")
    with pytest.raises(Interrupted):
        world.rotation().run()
    world.hook = None
    path = world.tmp / "state.json"
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, **change}))
    with pytest.raises(RotationError, match="state file is unreadable"):
        world.rotation().run(resume=True)
    with pytest.raises(RotationError, match="state file is unreadable"):
        world.rotation().abort()
    path.write_text("[" * 100_000)  # nested deeper than json reads
    with pytest.raises(RotationError, match="state file is unreadable"):
        world.rotation().run(resume=True)


def test_a_second_operator_with_another_state_file_is_refused_while_one_runs(
    world: World,
) -> None:
    # Two operators on two machines each have their own state file; only the fleet and the
    # store are shared. The local lock on the state file cannot see the other one.
    world.hook = interrupt_after("store")  # A stops with its new secret in the store
    with pytest.raises(Interrupted):
        world.rotation().run()
    world.hook = None
    held = dict(world.store.read())
    second = Rotation(
        IntegratorKind(IntegratorClient(world.server.base_url, token=TOKEN)),
        store=world.store,
        fleet=world.fleet,
        state=world.tmp / "operator-b" / "state.json",
        settings=FAST,
        progress=Progress(io.StringIO()),
        operator=io.StringIO(),
        sleep=world.tick,
    )
    with pytest.raises(RotationRefused, match=r"rotation rot-\w+ is in progress"):
        second.run()
    assert world.store.read() == held  # B created and stored nothing
    assert world.api.secret("i1") == OLD
    world.rotation().abort()  # A rolls back: the fleet is free again
    assert second.run().status == "done"
    assert world.api.secret("i1") != OLD
