"""Rotation end to end, with no restart, for every remote-ish source kind.

For each of FileSource, HttpSource, RedisSource and AwsSecretsManagerSource: the FastAPI
example runs on a real uvicorn (127.0.0.1, ephemeral port) behind the ASGI middleware with a
``Keyring`` over that source. Several senders keep posting signed deliveries while an operator
rotates the secret *at the source* (rewrites the file, switches the HTTP answer, ``put_secret``
+ ``retire_secret`` in Redis, ``put_secret_value`` in moto). The new secret is published at
once; the old one stays valid until ``rotate_at``, a few seconds ahead.

What must hold (judged from wall-clock times taken by the senders, never from speed):

* a delivery signed with a secret the source publishes as valid when it is sent is accepted:
  the old secret before ``rotate_at`` (as long as the answer came back before
  ``rotate_at + leeway``, so the verifier's own check was inside the window), the new one any
  time after publication;
* a delivery signed with the old secret and sent at or after ``rotate_at + leeway`` is refused;
* the app saw the very bytes that were signed (it echoes their SHA-256) and reports which
  secret matched; the keyring's counters show both secrets and only a handful of fetches.

A second test sends a storm of 10,000 forged deliveries (some over the socket, the rest through
``Verifier.verify`` in threads) and counts the fetches on the real HTTP secrets server.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import itertools
import json
import math
import os
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import boto3
import httpx
import pytest
import redis

from _http_secrets_server import Server, secrets_http_server
from _moto_server import REGION, moto_server, use_fake_credentials
from _redis_server import redis_server
from _uvicorn_server import uvicorn_server
from hookseal import Keyring, SignatureMismatch, Verifier
from hookseal.sources import AwsSecretsManagerSource, FileSource, HttpSource, RedisSource
from hookseal.sources._base import SecretSource
from hookseal.sources.redis import put_secret, retire_secret
from hookseal.testing import forged_request, signed_request

OLD = "rotation-old-secret-0123456789abcdef"
NEW = "rotation-new-secret-fedcba9876543210"
LEEWAY = 1.0  # the verifier's leeway around rotate_at (production default: 60 s)
ROTATE_AHEAD = 2.5  # rotate_at is this far after publication (AWS: see PREVIOUS_VALID_FOR)
PREVIOUS_VALID_FOR = 3.0  # AWS: CreatedDate (whole seconds in moto) + this = rotate_at
SENDERS = 3
PACE = 0.02  # seconds each sender waits between deliveries: a few hundred per source
BEFORE_ROTATION = 30  # deliveries answered before the operator rotates
LATE_OLD_WANTED = 12  # deliveries signed with the retired secret after rotate_at + leeway
MAX_PER_SENDER = 1_000  # hard bound on each sender's loop
WAIT = 10.0  # upper bound for anything to happen; never a timing assertion
MAX_FETCHES = 5  # start-up, change notices, one mismatch refresh: a handful, not hundreds
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ROUTE = "/webhooks/events/rotation"

Kind = Literal["old", "new"]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


def load_fastapi_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "hookseal_example_rotation", EXAMPLES / "fastapi_app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class KeyringLifespan:
    """The app plus an ASGI lifespan that warms the keyring at start-up and closes it at
    shutdown, on the server's own loop (where its asyncio clients live)."""

    def __init__(self, app: ASGIApp, keyring: Keyring) -> None:
        self.app = app
        self.keyring = keyring

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.keyring.astart(timeout=WAIT)
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.keyring.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


# -- the operators: one per source kind --------------------------------------------------------


@dataclass(frozen=True)
class Rotation:
    """What the source publishes after the rotation."""

    new_id: str
    rotate_at: float  # epoch seconds; the old secret's expires_at


class Operator(ABC):
    """Owns one source's backing store: builds the source, rotates at the source."""

    kind: str
    old_id: str = "k1"

    @abstractmethod
    def source(self) -> SecretSource:
        """A new source reading this operator's store."""

    @abstractmethod
    def rotate(self) -> Rotation:
        """Publish NEW and give OLD an expires_at a few seconds ahead (blocking)."""

    def ready(self) -> None:
        """Block until the source's change notices are being listened for (if any)."""
        return None


def _document(rotate_at: float | None) -> dict[str, Any]:
    if rotate_at is None:
        return {"secrets": [{"id": "k1", "value": OLD}]}
    return {
        "secrets": [
            {"id": "k2", "value": NEW},
            {"id": "k1", "value": OLD, "expires_at": rotate_at},
        ]
    }


class FileOperator(Operator):
    kind = "file"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "secrets.json"
        self._write(_document(None))

    def _write(self, document: dict[str, Any]) -> None:
        """Replace the file atomically, as a deploy tool or a mounted secret would."""
        staging = self.path.with_suffix(".tmp")
        staging.write_text(json.dumps(document))
        os.replace(staging, self.path)

    def source(self) -> SecretSource:
        return FileSource(self.path, watch=True, poll_interval=0.2)

    def rotate(self) -> Rotation:
        rotate_at = time.time() + ROTATE_AHEAD
        self._write(_document(rotate_at))
        return Rotation("k2", rotate_at)


class HttpOperator(Operator):
    kind = "http"

    def __init__(self, server: Server) -> None:
        self.server = server

    def source(self) -> SecretSource:
        return HttpSource(self.server.url, timeout=2.0)

    def rotate(self) -> Rotation:
        rotate_at = time.time() + ROTATE_AHEAD
        self.server.behaviour.document = _document(rotate_at)  # one swap: the next GET has it
        return Rotation("k2", rotate_at)


class RedisOperator(Operator):
    kind = "redis"

    def __init__(self, url: str, client: redis.Redis) -> None:
        self.url = url
        self.client = client
        self.key = f"hookseal:rotation:{uuid.uuid4().hex}"
        self.channel = f"{self.key}:changed"
        put_secret(client, self.key, "k1", OLD)

    def source(self) -> SecretSource:
        return RedisSource(self.url, key=self.key, channel=self.channel)

    def ready(self) -> None:
        """Publishing before the listener's SUBSCRIBE reached Redis would be lost."""
        deadline = time.monotonic() + WAIT
        while dict(self.client.pubsub_numsub(self.channel)).get(self.channel.encode(), 0) < 1:
            assert time.monotonic() < deadline, "the keyring never subscribed to the channel"
            time.sleep(0.01)

    def rotate(self) -> Rotation:
        rotate_at = time.time() + ROTATE_AHEAD
        put_secret(self.client, self.key, "k2", NEW, channel=self.channel)
        retire_secret(self.client, self.key, "k1", rotate_at, channel=self.channel)
        return Rotation("k2", rotate_at)


class AwsOperator(Operator):
    kind = "aws"

    def __init__(self, endpoint: str, admin: Any) -> None:
        self.endpoint = endpoint
        self.admin = admin
        self.name = f"hookseal/rotation/{uuid.uuid4().hex}"
        self.old_id = str(admin.create_secret(Name=self.name, SecretString=OLD)["VersionId"])

    def source(self) -> SecretSource:
        return AwsSecretsManagerSource(
            self.name,
            region_name=REGION,
            endpoint_url=self.endpoint,
            previous_valid_for=PREVIOUS_VALID_FOR,
        )

    def rotate(self) -> Rotation:
        new_id = str(self.admin.put_secret_value(SecretId=self.name, SecretString=NEW)["VersionId"])
        current = self.admin.get_secret_value(SecretId=self.name, VersionStage="AWSCURRENT")
        assert current["VersionId"] == new_id
        # What the source publishes: AWSPREVIOUS is valid until CreatedDate + the window.
        return Rotation(new_id, current["CreatedDate"].timestamp() + PREVIOUS_VALID_FOR)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["file", "http", "redis", "aws"])
def operator(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Operator]:
    """One operator per source kind; its backing store is started lazily and stopped after."""
    kind = request.param
    if kind == "file":
        yield FileOperator(tmp_path)
    elif kind == "http":
        with secrets_http_server(_document(None)) as server:
            yield HttpOperator(server)
    elif kind == "redis":
        url = request.getfixturevalue("redis_url")
        client = redis.Redis.from_url(url)
        try:
            op = RedisOperator(url, client)
            yield op
            client.delete(op.key)
        finally:
            client.close()
    else:
        use_fake_credentials(monkeypatch)
        endpoint = request.getfixturevalue("moto_endpoint")
        admin = boto3.client("secretsmanager", region_name=REGION, endpoint_url=endpoint)
        try:
            yield AwsOperator(endpoint, admin)
        finally:
            admin.close()


# -- the senders -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One signed delivery and its answer, with the wall-clock times around it."""

    kind: Kind
    sha256: str
    sent_at: float
    answered_at: float
    status: int
    answer: dict[str, Any]


@dataclass
class Traffic:
    """The shared state of the senders and the operator."""

    deliveries: list[Delivery] = field(default_factory=list)
    rotation: Rotation | None = None
    published_at: float | None = None
    late_old: int = 0


async def _send(client: httpx.AsyncClient, kind: Kind, seq: int, sender: int) -> Delivery:
    secret = OLD if kind == "old" else NEW
    payload = {"seq": seq, "sender": sender, "pad": "r" * (seq % 97)}
    body, headers = signed_request(payload, secret)
    sent_at = time.time()
    response = await client.post(ROUTE, content=body, headers=headers)
    answered_at = time.time()
    return Delivery(
        kind,
        hashlib.sha256(body).hexdigest(),
        sent_at,
        answered_at,
        response.status_code,
        response.json(),
    )


async def run_traffic(base_url: str, operator: Operator) -> Traffic:
    """SENDERS senders post until enough retired-secret deliveries went out after the end of
    the window; the operator rotates once BEFORE_ROTATION deliveries were answered."""
    traffic = Traffic()
    sequence = itertools.count()

    async def sender(client: httpx.AsyncClient, number: int) -> None:
        for _ in range(MAX_PER_SENDER):
            rotation = traffic.rotation
            if rotation is not None:
                past = time.time() >= rotation.rotate_at + LEEWAY
                if past and traffic.late_old >= LATE_OLD_WANTED:
                    return
                if time.time() > rotation.rotate_at + LEEWAY + WAIT:
                    return  # hard bound; the coverage assertions below then say why
            seq = next(sequence)
            # After publication, alternate: the sender moved on, stragglers still use the old.
            kind: Kind = "old" if rotation is None or seq % 2 else "new"
            delivery = await _send(client, kind, seq, number)
            traffic.deliveries.append(delivery)
            if (
                kind == "old"
                and rotation is not None
                and delivery.sent_at >= rotation.rotate_at + LEEWAY
            ):
                traffic.late_old += 1
            await asyncio.sleep(PACE)

    async def rotate() -> None:
        deadline = time.monotonic() + WAIT
        while len(traffic.deliveries) < BEFORE_ROTATION:
            assert time.monotonic() < deadline, "the senders did not get going"
            await asyncio.sleep(0.01)
        rotation = await asyncio.to_thread(operator.rotate)
        traffic.published_at = time.time()  # the write is complete: the source publishes NEW
        traffic.rotation = rotation

    limits = httpx.Limits(max_connections=SENDERS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=WAIT) as client:
        await asyncio.gather(rotate(), *(sender(client, n) for n in range(SENDERS)))
    return traffic


def judge(traffic: Traffic, old_id: str) -> tuple[list[str], dict[str, int]]:
    """(problems, counts by verdict) for every delivery; see the module docstring."""
    rotation, published_at = traffic.rotation, traffic.published_at
    assert rotation is not None
    assert published_at is not None
    end = rotation.rotate_at + LEEWAY
    problems: list[str] = []
    counts = {"must_accept_old": 0, "must_accept_new": 0, "must_refuse": 0, "either": 0}

    def accepted(d: Delivery, secret_id: str) -> bool:
        return (
            d.status == 200
            and d.answer.get("sha256") == d.sha256
            and d.answer["secret_id"] == secret_id
        )

    def refused(d: Delivery) -> bool:
        return d.status == 401 and d.answer.get("code") == "signature_mismatch"

    for d in traffic.deliveries:
        when = f"sent {d.sent_at - rotation.rotate_at:+.3f} s from rotate_at"
        if d.kind == "new":
            assert d.sent_at >= published_at  # nobody knew NEW before it was published
            counts["must_accept_new"] += 1
            if not accepted(d, rotation.new_id):
                problems.append(f"valid NEW delivery refused ({when}): {d.status} {d.answer}")
        elif d.sent_at < rotation.rotate_at and d.answered_at < end:
            counts["must_accept_old"] += 1
            if not accepted(d, old_id):
                problems.append(f"valid OLD delivery refused ({when}): {d.status} {d.answer}")
        elif d.sent_at >= end:
            counts["must_refuse"] += 1
            if not refused(d):
                problems.append(f"retired OLD delivery not refused ({when}): {d.status}")
        else:  # inside the leeway, or answered after it: either answer is right
            counts["either"] += 1
            if not (accepted(d, old_id) or refused(d)):
                problems.append(f"OLD delivery in the leeway got {d.status} {d.answer}")
    return problems, counts


# -- the tests ---------------------------------------------------------------------------------


async def test_rotation_at_the_source_with_no_restart(operator: Operator) -> None:
    keyring = Keyring(
        operator.source(),
        # Long enough that neither a background refresh nor a second mismatch refresh can
        # paper over a bug during the test: the rotation must come through the mismatch
        # refresh or the source's own change notice.
        refresh_interval=60,
        cooldown=60,
        name=f"rotation-{operator.kind}",
    )
    app = load_fastapi_example().create_app(keyring, leeway=LEEWAY)
    with uvicorn_server(KeyringLifespan(app, keyring), lifespan="on") as port:
        await asyncio.to_thread(operator.ready)
        traffic = await run_traffic(f"http://127.0.0.1:{port}", operator)
    assert traffic.rotation is not None

    problems, counts = judge(traffic, operator.old_id)
    assert not problems, f"{len(problems)} wrong answers, first: {problems[:5]}"
    # The run covered every phase (sanity: a test that checked nothing must not pass).
    assert counts["must_accept_old"] >= BEFORE_ROTATION, counts
    assert counts["must_accept_new"] > 0, counts
    assert traffic.late_old >= LATE_OLD_WANTED, f"too few late deliveries were sent: {counts}"
    assert counts["must_refuse"] == traffic.late_old
    assert any(
        d.kind == "old" and traffic.published_at is not None and d.sent_at > traffic.published_at
        for d in traffic.deliveries
        if d.status == 200
    ), "no delivery with the old secret was accepted during the rotation window"

    stats = keyring.stats()
    accepted_by_id: dict[str, int] = {}
    for d in traffic.deliveries:
        if d.status == 200:
            secret_id = d.answer["secret_id"]
            accepted_by_id[secret_id] = accepted_by_id.get(secret_id, 0) + 1
    assert stats.matches_by_secret_id == accepted_by_id
    assert set(accepted_by_id) == {operator.old_id, traffic.rotation.new_id}
    assert stats.fetch_failures == 0
    assert stats.mismatch_refreshes <= 1
    assert 2 <= stats.fetches <= MAX_FETCHES, stats
    if isinstance(operator, HttpOperator):
        assert operator.server.hits == stats.fetches  # the keyring counts what the server saw


# -- the storm ---------------------------------------------------------------------------------

STORM = 10_000
OVER_THE_SOCKET = 500
STORM_THREADS = 4


@pytest.mark.parametrize("cooldown", [60.0, 0.5])
async def test_a_storm_of_forged_deliveries_costs_one_fetch_per_cooldown(
    cooldown: float, capsys: pytest.CaptureFixture[str]
) -> None:
    with secrets_http_server(_document(None)) as server:
        keyring = Keyring(
            HttpSource(server.url, timeout=2.0), refresh_interval=300, cooldown=cooldown
        )
        app = load_fastapi_example().create_app(keyring, leeway=LEEWAY)
        with uvicorn_server(KeyringLifespan(app, keyring), lifespan="on") as port:
            assert server.hits == 1  # the warm-up
            verifier = Verifier(keyring, leeway=LEEWAY)
            in_process = [forged_request({"n": n}) for n in range(STORM - OVER_THE_SOCKET)]
            over_socket = [forged_request({"n": n}) for n in range(OVER_THE_SOCKET)]
            refused = 0
            refused_lock = threading.Lock()

            def storm(share: list[tuple[bytes, dict[str, str]]]) -> None:
                nonlocal refused
                mine = 0
                for body, headers in share:
                    try:
                        verifier.verify(body, headers)
                    except SignatureMismatch:
                        mine += 1
                with refused_lock:
                    refused += mine

            async def socket_storm() -> list[int]:
                gate = asyncio.Semaphore(16)
                limits = httpx.Limits(max_connections=16)
                base = f"http://127.0.0.1:{port}"
                async with httpx.AsyncClient(base_url=base, limits=limits, timeout=WAIT) as client:

                    async def one(body: bytes, headers: dict[str, str]) -> int:
                        async with gate:
                            response = await client.post(ROUTE, content=body, headers=headers)
                        return response.status_code

                    return await asyncio.gather(*(one(b, h) for b, h in over_socket))

            shares = [in_process[i::STORM_THREADS] for i in range(STORM_THREADS)]
            started = time.monotonic()
            statuses, *_ = await asyncio.gather(
                socket_storm(), *(asyncio.to_thread(storm, share) for share in shares)
            )
            elapsed = time.monotonic() - started
            storm_fetches = server.hits - 1
        stats = keyring.stats()

    assert refused == STORM - OVER_THE_SOCKET
    assert statuses == [401] * OVER_THE_SOCKET
    allowed = math.floor(elapsed / cooldown) + 1
    with capsys.disabled():
        print(
            f"\nstorm: {STORM:,} forged deliveries ({OVER_THE_SOCKET} over the socket) in "
            f"{elapsed:.2f} s caused {storm_fetches} source fetch(es) with cooldown={cooldown:g} s "
            f"(at most {allowed} allowed)"
        )
    assert 1 <= storm_fetches <= allowed
    assert stats.fetches == storm_fetches + 1
    assert storm_fetches <= stats.mismatch_refreshes <= allowed
    assert stats.matches_by_secret_id == {}
