"""RedisSource and the operators' helpers against a real redis-server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio

from hookseal import Keyring, SignatureMismatch, Verifier
from hookseal.errors import ConfigurationError
from hookseal.sources._base import SourceError
from hookseal.sources.redis import RedisSource, put_secret, remove_secret, retire_secret
from hookseal.testing import signed_request

OLD = "old-redis-secret-1234567890"
NEW = "new-redis-secret-0987654321"
WAIT = 10.0  # upper bound for a background event; never a timing assertion


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(redis_url)
    yield conn
    conn.close()


@pytest.fixture
def key() -> str:
    return f"hookseal:test:{uuid.uuid4().hex}"


def _wait_for_subscriber(client: redis.Redis, channel: str) -> None:
    """Publishing before the listener's SUBSCRIBE reached the server would be lost."""
    deadline = time.monotonic() + WAIT
    while dict(client.pubsub_numsub(channel)).get(channel.encode(), 0) < 1:
        assert time.monotonic() < deadline, "the listener never subscribed"
        time.sleep(0.01)


def test_reads_json_and_plain_fields(client: redis.Redis, redis_url: str, key: str) -> None:
    client.hset(key, "plain", OLD)
    client.hset(key, "k2", json.dumps({"value": NEW, "not_before": "2026-01-01T00:00:00Z"}))
    source = RedisSource(redis_url, key=key)
    try:
        secrets = source.fetch().secrets
    finally:
        source.close()
    assert {s.id: s.reveal() for s in secrets} == {"plain": OLD.encode(), "k2": NEW.encode()}
    k2 = secrets.get("k2")
    assert k2 is not None
    assert k2.not_before == 1767225600.0


def test_empty_hash_is_a_failure(redis_url: str, key: str) -> None:
    source = RedisSource(redis_url, key=key)
    try:
        with pytest.raises(SourceError, match="is empty or missing"):
            source.fetch()
    finally:
        source.close()


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ('{"value": ', "starts with '{' but is not valid JSON"),
        ('{"a":' * 50_000, "starts with '{' but is not valid JSON"),  # nested too deeply
        ('{"secret": "' + OLD + '"}', "has no non-empty string 'value'"),
        ('{"value": ""}', "has no non-empty string 'value'"),
        ('{"value": "x", "expires_at": "later"}', "'expires_at' of field 'k': not an ISO"),
        (b"\xff\xfe", "field 'k' is not UTF-8 text"),
    ],
)
def test_broken_records_never_quote_values(
    client: redis.Redis, redis_url: str, key: str, stored: str | bytes, message: str
) -> None:
    client.hset(key, "k", stored)
    source = RedisSource(redis_url, key=key)
    try:
        with pytest.raises(SourceError, match=message) as info:
            source.fetch()
    finally:
        source.close()
    assert OLD not in str(info.value)


def test_wrong_type_and_unreachable_redis(client: redis.Redis, redis_url: str, key: str) -> None:
    client.set(key, "a string, not a hash")
    source = RedisSource(client, key=key)
    with pytest.raises(SourceError, match="WRONGTYPE"):
        source.fetch()
    source.close()
    client.ping()  # a client the user gave stays open

    down = RedisSource("redis://127.0.0.1:1/0", key=key)
    try:
        with pytest.raises(SourceError, match="ConnectionError"):
            down.fetch()
    finally:
        down.close()


def test_rotation_by_an_operator_end_to_end(client: redis.Redis, redis_url: str, key: str) -> None:
    put_secret(client, key, "k1", OLD)
    replica_a = RedisSource(redis_url, key=key)
    replica_b = RedisSource(redis.Redis.from_url(redis_url), key=key)
    rotate_at = 2_000_000_000
    try:
        assert replica_a.fetch().secrets.ids == ("k1",)
        put_secret(client, key, "k2", NEW)
        retire_secret(client, key, "k1", rotate_at)
        for replica in (replica_a, replica_b):
            secrets = replica.fetch().secrets
            assert secrets.ids == ("k2", "k1")  # open-ended first
            verifier = Verifier(secrets)
            body, headers = signed_request({"a": 1}, OLD, now=rotate_at - 10)
            assert verifier.verify(body, headers, now=rotate_at - 10).secret_id == "k1"
            body, headers = signed_request({"a": 2}, NEW, now=rotate_at + 61)
            assert verifier.verify(body, headers, now=rotate_at + 61).secret_id == "k2"
            body, headers = signed_request({"a": 3}, OLD, now=rotate_at + 61)
            with pytest.raises(SignatureMismatch):
                verifier.verify(body, headers, now=rotate_at + 61)
        assert remove_secret(client, key, "k1") is True
        assert replica_a.fetch().secrets.ids == ("k2",)
    finally:
        replica_a.close()
        replica_b.close()


def test_operator_helpers_validate(client: redis.Redis, key: str) -> None:
    with pytest.raises(ConfigurationError):
        put_secret(client, key, "k1", "")
    with pytest.raises(ConfigurationError):
        put_secret(client, key, "k1", b"\xff")
    with pytest.raises(ConfigurationError, match="no secret 'ghost'"):
        retire_secret(client, key, "ghost", 2_000_000_000)
    put_secret(client, key, "k1", OLD, not_before=2_000_000_000)
    with pytest.raises(ConfigurationError, match="cannot retire secret 'k1'"):
        retire_secret(client, key, "k1", 1_000_000_000)
    assert client.hlen(key) == 1


def test_pubsub_notifies_subscribers_at_once(client: redis.Redis, redis_url: str, key: str) -> None:
    channel = f"{key}:rotations"
    put_secret(client, key, "k1", OLD)
    source = RedisSource(redis_url, key=key, channel=channel)
    seen: list[tuple[str, ...]] = []
    changed = threading.Event()

    def on_rotation() -> None:
        seen.append(source.fetch().secrets.ids)
        changed.set()

    unsubscribe = source.subscribe(on_rotation)
    try:
        _wait_for_subscriber(client, channel)
        put_secret(client, key, "k2", NEW, channel=channel)
        assert changed.wait(WAIT)
        assert seen[-1] == ("k1", "k2")

        changed.clear()
        unsubscribe()
        retire_secret(client, key, "k1", 2_000_000_000, channel=channel)
        # a second, still-registered callback proves the message arrived while the first is gone
        second = threading.Event()
        source.subscribe(second.set)
        retire_secret(client, key, "k1", 2_000_000_001, channel=channel)
        assert second.wait(WAIT)
        assert not changed.is_set()
    finally:
        source.close()
    listeners = [t for t in threading.enumerate() if t.name == f"hookseal-{source.name}"]
    assert listeners == []
    assert dict(client.pubsub_numsub(channel)).get(channel.encode(), 0) == 0


def test_a_failing_callback_does_not_stop_the_listener(
    client: redis.Redis, redis_url: str, key: str
) -> None:
    channel = f"{key}:rotations"
    source = RedisSource(redis_url, key=key, channel=channel)
    done = threading.Event()

    def broken() -> None:
        raise RuntimeError("callback bug")

    source.subscribe(broken)
    source.subscribe(done.set)
    try:
        _wait_for_subscriber(client, channel)
        client.publish(channel, "rotated")
        assert done.wait(WAIT)
    finally:
        source.close()


def test_subscribe_without_channel_or_after_close(redis_url: str, key: str) -> None:
    quiet = RedisSource(redis_url, key=key)
    unsubscribe = quiet.subscribe(lambda: None)
    unsubscribe()
    assert not [t for t in threading.enumerate() if t.name == f"hookseal-{quiet.name}"]
    quiet.close()
    closed = RedisSource(redis_url, key=key, channel="c")
    closed.close()
    with pytest.raises(ConfigurationError, match="closed"):
        closed.subscribe(lambda: None)


def test_bad_configuration() -> None:
    with pytest.raises(ConfigurationError):
        RedisSource("http://127.0.0.1:6379")
    with pytest.raises(ConfigurationError):
        RedisSource(object())
    with pytest.raises(ConfigurationError):
        RedisSource("redis://127.0.0.1:6379", key="")


async def test_async_fetch_from_url_and_from_clients(
    client: redis.Redis, redis_url: str, key: str
) -> None:
    put_secret(client, key, "k1", OLD, expires_at=2_000_000_000)
    from_url = RedisSource(redis_url, key=key)
    async_client = redis.asyncio.Redis.from_url(redis_url)
    from_async = RedisSource(async_client, key=key)
    from_sync = RedisSource(client, key=key)
    try:
        for source in (from_url, from_async, from_sync):
            secrets = (await source.afetch()).secrets
            only = secrets.get("k1")
            assert only is not None
            assert only.expires_at == 2_000_000_000.0
        with pytest.raises(ConfigurationError, match="asyncio client"):
            from_async.fetch()
        with pytest.raises(ConfigurationError, match="sync client to listen"):
            RedisSource(async_client, key=key, channel="c").subscribe(lambda: None)
    finally:
        await from_url.aclose()
        await from_async.aclose()
        await from_sync.aclose()
        await async_client.aclose()


async def test_async_unreachable() -> None:
    down = RedisSource("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(SourceError, match="ConnectionError"):
            await down.afetch()
    finally:
        await down.aclose()


def test_a_keyring_over_an_asyncio_client_fetches_on_its_own_loop(
    client: redis.Redis, redis_url: str, key: str
) -> None:
    """Given only an asyncio client, the keyring fetches with afetch on a loop of its own:
    from a thread with no loop, and from short-lived loops that are gone at once."""
    put_secret(client, key, "k1", OLD)
    async_client = redis.asyncio.Redis.from_url(redis_url)
    source = RedisSource(async_client, key=key)
    assert source.async_only
    keyring = Keyring(source, cooldown=0)
    try:
        assert keyring.start().secret_set().ids == ("k1",)
        put_secret(client, key, "k2", NEW)
        assert asyncio.run(keyring.arefresh_after_mismatch()) is not None
        assert keyring.secret_set().ids == ("k1", "k2")
        remove_secret(client, key, "k2")
        found = keyring.refresh_after_mismatch()
        assert found is not None
        assert found.ids == ("k1",)
        assert keyring.stats().fetch_failures == 0
    finally:
        keyring.close()  # the client is the user's: the keyring does not close it
    assert [t for t in threading.enumerate() if t.name.startswith("hookseal-keyring")] == []
    asyncio.run(async_client.aclose())
