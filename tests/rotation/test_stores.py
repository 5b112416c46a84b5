"""The rotation's stores write what the matching sources read, atomically, on real backends:
a real redis-server, a real file, moto's Secrets Manager server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import redis

from _moto_server import REGION, moto_server, use_fake_credentials
from _redis_server import redis_server
from hookseal import Secret
from hookseal.rotation import AwsSecretsManagerStore, FileStore, RedisStore, RotationError
from hookseal.rotation.stores import Secrets
from hookseal.sources import AwsSecretsManagerSource, FileSource, RedisSource


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def _add(secret: Secret) -> object:
    def change(held: Secrets) -> Secrets:
        return {**held, secret.id: secret}

    return change


def test_redis_store_writes_what_redis_source_reads_and_announces_ids_only(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe("rot:ch")
    pubsub.get_message(timeout=1)
    store = RedisStore(redis_url, key="rot:h", channel="rot:ch")
    store.update(lambda held: {"k1": Secret("old-value", id="k1")}, token="t1")
    store.update(
        lambda held: {
            **held,
            "k1": held["k1"].replace(expires_at=2e9),
            "k2": Secret("new-value", id="k2"),
        },
        token="t2",
    )
    read = RedisSource(redis_url, key="rot:h").fetch().secrets
    assert sorted(read.ids) == ["k1", "k2"]
    assert read.get("k1") == Secret("old-value", id="k1", expires_at=2e9)
    notices = [pubsub.get_message(timeout=1) for _ in range(2)]
    for notice in notices:
        assert notice is not None
        text = notice["data"].decode()
        assert "old-value" not in text
        assert "new-value" not in text
    assert json.loads(notices[1]["data"])["ids"] == ["k1", "k2"]
    store.update(lambda held: {"k2": held["k2"]}, token="t3")
    assert list(store.read()) == ["k2"]
    store.close()
    client.close()


def test_redis_store_change_is_one_transaction(redis_url: str) -> None:
    """Two rotations changing the hash at once: neither change is lost (WATCH retries)."""
    store = RedisStore(redis_url, key="rot:tx")
    store.update(lambda held: {}, token="t0")
    barrier = threading.Barrier(8)

    def add(number: int) -> None:
        barrier.wait()
        store.update(
            lambda held: {**held, f"k{number}": Secret(f"v{number}", id=f"k{number}")},
            token=str(number),
        )

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(store.read()) == sorted(f"k{n}" for n in range(8))


def test_file_store_writes_what_file_source_reads(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    store = FileStore(path)
    assert store.read() == {}
    store.update(lambda held: {"k1": Secret("one", id="k1", expires_at=2e9)}, token="t")
    store.update(lambda held: {**held, "k2": Secret("two", id="k2")}, token="t2")
    read = FileSource(path).fetch().secrets
    assert read.ids == ("k1", "k2")
    assert read.get("k1") == Secret("one", id="k1", expires_at=2e9)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_store_holding_something_unreadable_is_an_error_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text('{"secrets": [{"id": "k1", "value": "v", "expirs_at": 1}]}')
    with pytest.raises(RotationError):
        FileStore(path).read()
    path.write_text('{"secrets":' * 50_000)  # nested deeper than json reads
    with pytest.raises(RotationError, match="is not JSON"):
        FileStore(path).read()


def test_aws_store_makes_a_new_version_the_source_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_credentials(monkeypatch)
    with moto_server() as endpoint:
        client = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint)
        store = AwsSecretsManagerStore("hooks/test", client=client)
        assert store.read() == {}
        store.update(lambda held: {"k1": Secret("one", id="k1")}, token="rot-1:store")
        store.update(lambda held: {**held, "k2": Secret("two", id="k2")}, token="rot-1:store2")
        again = store.update(lambda held: {**held, "k2": Secret("two", id="k2")}, token="x")
        assert sorted(again) == ["k1", "k2"]
        versions = client.list_secret_version_ids(SecretId="hooks/test")["Versions"]
        assert len(versions) == 2  # an unchanged set makes no new version
        source = AwsSecretsManagerSource("hooks/test", client=client)
        assert sorted(source.fetch().secrets.ids) == ["k1", "k2"]
        client.put_secret_value(SecretId="hooks/test", SecretString="a-plain-secret")
        with pytest.raises(RotationError, match="JSON object"):
            store.read()
