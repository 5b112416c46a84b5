"""The payments rotation's clean-up of secrets whose value was lost, against the real imitation
of the payments API: it deletes what this rotation created, and nothing anyone else did."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from _provider_apis import Answer, ApiServer, serving
from _provider_apis.payments import PaymentsApi
from hookseal import Secret
from hookseal.fleet import DirectoryFleet
from hookseal.providers import PaymentsClient, PaymentsError
from hookseal.rotation import (
    FileStore,
    PaymentsKind,
    Progress,
    Rotation,
    RotationTimeout,
    Settings,
    StateFile,
)
from hookseal.testing import ManualClock

KEY = "skey_test_5xuy4w91xqz7d1w9u0t"
OLD = "old-payments-secret-value"
# No replica reports and one is needed: a rotation stops in its deploy step and rolls back.
STOP_AT_DEPLOY = Settings(poll=0.02, deploy_timeout=0.2, min_replicas=1)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


class FirstCreateFails(PaymentsApi):
    """The payments API, whose first create answers 500 (nothing created)."""

    failed = False

    def _create_answer(self, livemode: bool) -> Answer:
        if not self.failed:
            self.failed = True
            return Answer(500, b'{"object": "error", "code": "internal_error"}')
        return super()._create_answer(livemode)


@pytest.fixture
def server(clock: ManualClock) -> Iterator[ApiServer[FirstCreateFails]]:
    api = FirstCreateFails(clock=clock)
    api.add_key(KEY)
    with serving(api) as running:
        yield running


def _rotation(tmp: Path, server: ApiServer[FirstCreateFails], clock: ManualClock) -> Rotation:
    return Rotation(
        PaymentsKind(PaymentsClient(KEY, base_url=server.base_url)),
        store=FileStore(tmp / "secrets.json"),
        fleet=DirectoryFleet(tmp / "fleet"),
        state=tmp / "state.json",
        settings=STOP_AT_DEPLOY,
        progress=Progress(io.StringIO()),
        operator=io.StringIO(),
        clock=clock,
    )


def test_a_resumed_create_deletes_only_secrets_this_rotation_made(
    tmp_path: Path, server: ApiServer[FirstCreateFails], clock: ManualClock
) -> None:
    old_id, _ = server.api.add_secret(value=OLD)
    FileStore(tmp_path / "secrets.json").update(
        lambda held: {old_id: Secret(OLD, id=old_id)}, token="setup"
    )
    with pytest.raises(PaymentsError):  # the create call fails: nothing was created
        _rotation(tmp_path, server, clock).run()
    # An hour later, before anyone resumes, another team adds a secret in the dashboard,
    # whose value lives in their own store, not ours.
    clock.advance(3600)
    theirs, _ = server.api.add_secret()
    with pytest.raises(RotationTimeout):
        _rotation(tmp_path, server, clock).run(resume=True)
    assert theirs in server.api.ids()  # a deletion is irreversible: never someone else's
    assert server.api.ids() == [old_id, theirs]  # and ours was rolled back


def test_a_secret_created_just_before_a_crash_is_deleted_on_resume(
    tmp_path: Path, server: ApiServer[FirstCreateFails], clock: ManualClock
) -> None:
    old_id, _ = server.api.add_secret(value=OLD)
    FileStore(tmp_path / "secrets.json").update(
        lambda held: {old_id: Secret(OLD, id=old_id)}, token="setup"
    )
    server.api.failed = True
    with pytest.raises(RotationTimeout):
        _rotation(tmp_path, server, clock).run()
    # Replay the crash between the create call and the state's save: the provider holds a
    # secret whose id and value no state or store recorded.
    state_file = StateFile(tmp_path / "state.json")
    state = state_file.load()
    assert state is not None
    state.status, state.done, state.new_id, state.new_fingerprint = "running", [], None, None
    state_file.save(state)
    DirectoryFleet(tmp_path / "fleet").claim(state.rotation_id)
    lost = PaymentsClient(KEY, base_url=server.base_url).create_webhook_secret().id
    with pytest.raises(RotationTimeout):
        _rotation(tmp_path, server, clock).run(resume=True)
    assert lost not in server.api.ids()
    assert server.api.ids() == [old_id]
