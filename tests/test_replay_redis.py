"""RedisReplayGuard: one delivery is accepted once across every replica sharing a Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio

from _redis_server import redis_server
from hookseal import Replayed, ReplayGuard, Verifier
from hookseal.errors import ConfigurationError
from hookseal.replay import RedisReplayGuard, ReplayGuardUnavailable
from hookseal.testing import signed_request

SECRET = "replay-test-secret"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def prefix() -> str:
    return f"hookseal:test:{uuid.uuid4().hex}:"


@pytest.fixture
def replicas(redis_url: str, prefix: str) -> Iterator[tuple[Verifier, Verifier]]:
    """Two "replicas": separate verifiers, separate guards and connections, one Redis."""
    guards = [RedisReplayGuard(redis_url, prefix=prefix) for _ in range(2)]
    yield Verifier(SECRET, replay_guard=guards[0]), Verifier(SECRET, replay_guard=guards[1])
    for guard in guards:
        guard.close()


@pytest.fixture
async def async_replicas(redis_url: str, prefix: str) -> AsyncIterator[tuple[Verifier, Verifier]]:
    """The same two replicas for asyncio code (asyncio clients need aclose())."""
    guards = [RedisReplayGuard(redis_url, prefix=prefix) for _ in range(2)]
    yield Verifier(SECRET, replay_guard=guards[0]), Verifier(SECRET, replay_guard=guards[1])
    for guard in guards:
        await guard.aclose()


def test_a_replay_to_another_replica_is_refused(replicas: tuple[Verifier, Verifier]) -> None:
    a, b = replicas
    body, headers = signed_request({"order": 1}, SECRET)
    accepted = a.verify(body, headers)
    assert accepted.replay_key is not None
    with pytest.raises(Replayed):
        b.verify(body, headers)
    with pytest.raises(Replayed):
        a.verify(body, headers)
    other_body, other_headers = signed_request({"order": 2}, SECRET)
    assert b.verify(other_body, other_headers).secret_id


async def test_async_replicas(async_replicas: tuple[Verifier, Verifier]) -> None:
    a, b = async_replicas
    body, headers = signed_request({"order": 3}, SECRET)
    await a.averify(body, headers)
    with pytest.raises(Replayed):
        await b.averify(body, headers)
    with pytest.raises(Replayed):
        b.verify(body, headers)  # sync and async paths share the same keys


def test_standard_webhooks_message_id_across_replicas(redis_url: str, prefix: str) -> None:
    secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="
    guards = [RedisReplayGuard(redis_url, prefix=prefix) for _ in range(2)]
    try:
        a, b = (Verifier(secret, scheme="standard", replay_guard=g) for g in guards)
        body, headers = signed_request({"x": 1}, secret, scheme="standard", message_id="msg_1")
        a.verify(body, headers)
        with pytest.raises(Replayed):
            b.verify(body, headers)
    finally:
        for guard in guards:
            guard.close()


def test_remember_forget_and_expiry(redis_url: str, prefix: str) -> None:
    guard = RedisReplayGuard(redis_url, prefix=prefix, ttl=600)
    peek = redis.Redis.from_url(redis_url)
    try:
        assert isinstance(guard, ReplayGuard)
        assert guard.remember("k") is True
        assert guard.remember("k") is False
        assert 0 < peek.pttl(prefix + "k") <= 600_000  # the default ttl was applied
        assert guard.remember("short", 1.5) is True
        assert 0 < peek.pttl(prefix + "short") <= 1500
        guard.forget("k")
        assert guard.remember("k") is True
        assert guard.remember("tiny", 0.0001) is True  # rounds up to 1 ms, never 0
    finally:
        guard.close()
        peek.close()


async def test_async_remember_forget_with_an_async_client(redis_url: str, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    guard = RedisReplayGuard(client, prefix=prefix)
    try:
        assert await guard.aremember("k", 60) is True
        assert await guard.aremember("k", 60) is False
        await guard.aforget("k")
        assert await guard.aremember("k", 60) is True
        with pytest.raises(ConfigurationError, match="asyncio client"):
            guard.remember("k", 60)
    finally:
        await guard.aclose()
        assert await client.ping()  # the user's client stays open
        await client.aclose()


async def test_sync_client_works_from_async_code(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    guard = RedisReplayGuard(client, prefix=prefix)
    try:
        assert await guard.aremember("k", 60) is True
        assert guard.remember("k", 60) is False
    finally:
        guard.close()
        client.close()


def test_redis_down_fails_closed_with_503() -> None:
    guard = RedisReplayGuard("redis://127.0.0.1:1/0")
    verifier = Verifier(SECRET, replay_guard=guard)
    body, headers = signed_request({"order": 4}, SECRET)
    try:
        with pytest.raises(ReplayGuardUnavailable) as info:
            verifier.verify(body, headers)
    finally:
        guard.close()
    assert info.value.status == 503
    assert info.value.response_headers() == {"Retry-After": "30"}
    assert info.value.__cause__ is None


async def test_redis_down_fails_closed_async() -> None:
    guard = RedisReplayGuard("redis://127.0.0.1:1/0")
    try:
        with pytest.raises(ReplayGuardUnavailable):
            await guard.aremember("k", 60)
        with pytest.raises(ReplayGuardUnavailable):
            await guard.aforget("k")
    finally:
        await guard.aclose()


@pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), True])
def test_bad_ttl(redis_url: str, ttl: float) -> None:
    with pytest.raises(ConfigurationError):
        RedisReplayGuard(redis_url, ttl=ttl)
    guard = RedisReplayGuard(redis_url)
    try:
        with pytest.raises(ConfigurationError):
            guard.remember("k", ttl)
    finally:
        guard.close()
