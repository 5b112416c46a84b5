"""A whole rotation through AWS Secrets Manager: ``AwsSecretsManagerStore`` writes the versions,
replicas read them with ``AwsSecretsManagerSource`` (which keeps ``AWSPREVIOUS`` for its
window), against moto on 127.0.0.1 and the integrator imitation."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from _moto_server import REGION, moto_server, use_fake_credentials
from _provider_apis import serving
from _provider_apis.integrator import IntegratorApi
from hookseal import Keyring, Secret, Verifier
from hookseal.fleet import DirectoryFleet, FleetReporter
from hookseal.providers import IntegratorClient
from hookseal.rotation import AwsSecretsManagerStore, IntegratorKind, Progress, Rotation, Settings
from hookseal.sources import AwsSecretsManagerSource
from hookseal.testing import signed_request

TOKEN = "integrator-token-aws-rotation"
OLD = "old-aws-rotation-secret-value"
NAME = "hooks/rotation"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    use_fake_credentials(monkeypatch)
    with moto_server() as url:
        yield url


def test_a_rotation_through_aws_ends_although_awsprevious_still_holds_the_old_secret(
    endpoint: str, tmp_path: Path
) -> None:
    # After the last step the old secret is only in AWSPREVIOUS, past its window: the
    # replicas hold it in their set but can no longer verify with it. The rotation must not
    # wait for it to leave their sets (it would not, until the next rotation's version).
    client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint)
    store = AwsSecretsManagerStore(NAME, client=client)
    store.update(lambda held: {"k1": Secret(OLD, id="k1")}, token="setup")
    fleet = DirectoryFleet(tmp_path / "fleet")
    api = IntegratorApi()
    api.add_integrator("i1")
    api.add_token(TOKEN, "i1")
    with serving(api) as server:
        IntegratorClient(server.base_url, token=TOKEN).set_webhook_secret(OLD)
        replicas: list[tuple[Keyring, Verifier, FleetReporter]] = []
        for number in range(2):
            keyring = Keyring(
                AwsSecretsManagerSource(NAME, client=client),
                refresh_interval=0.05,
                min_interval=0.01,
                cooldown=0.01,
            ).start()
            reporter = FleetReporter(
                keyring, fleet, replica_id=f"r{number}", interval=1, ttl=60, leeway=0
            )
            reporter.beat()
            replicas.append((keyring, Verifier(keyring, leeway=0), reporter))

        def tick(seconds: float) -> None:
            time.sleep(seconds)
            value = api.secret("i1")
            for keyring, verifier, reporter in replicas:
                keyring.secret_set()  # a stale set refreshes in the background
                if value:
                    verifier.verify(*signed_request({"n": 1}, value))
                reporter.beat()

        settings = Settings(
            poll=0.05,
            deploy_timeout=10,
            switch_timeout=10,
            confirm_timeout=10,
            remove_timeout=5,
            quiet=0.2,
            grace=0.1,
            leeway=0.0,
            min_replicas=2,
        )
        rotation = Rotation(
            IntegratorKind(IntegratorClient(server.base_url, token=TOKEN)),
            store=store,
            fleet=fleet,
            state=tmp_path / "state.json",
            settings=settings,
            progress=Progress(io.StringIO()),
            operator=io.StringIO(),
            sleep=tick,
        )
        try:
            assert rotation.run().status == "done"
        finally:
            for keyring, _, _ in replicas:
                keyring.close()
    assert list(store.read()) != ["k1"]
    assert len(store.read()) == 1
