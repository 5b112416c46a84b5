"""``hookseal rotate`` across a fleet, for each provider kind, with real parts only.

For each of the four documented APIs: its imitation server (tests/_provider_apis), a real
redis-server (the shared store and the fleet's heartbeats), two replica processes of
examples/replica_app.py under uvicorn, and a sender posting a delivery every few hundredths
of a second, signed with whatever the provider signs with at that moment. ``hookseal rotate``
runs as a subprocess; where the procedure needs a person at the provider's console (billing,
retail), the test plays that person from the command's printed instructions.

Each rotation must lose nothing: every delivery accepted, every replica confirmed (in the audit
log) before the switch, and afterwards the old secret refused by every replica. Then the same
rotation again, killed (SIGKILL, at a fail point) right after the work of each step in turn
and resumed each time, with the same guarantees. The deliveries sent, accepted and refused
during each rotation are printed (``pytest -s``).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from _provider_apis import ApiServer, serving
from _provider_apis.billing import BillingApi
from _provider_apis.integrator import IntegratorApi
from _provider_apis.payments import PaymentsApi
from _provider_apis.retail import RetailApi
from _redis_server import redis_server
from hookseal.providers import IntegratorClient
from hookseal.rotation import STEPS
from hookseal.sources.redis import put_secret

from ._harness import Replica, RotateRun, Sender, replicas, rotate, signature

REPLICAS = 2
CHAIN = 1743
RETAIL_USER, RETAIL_KEY = "3636813", "sess-e2e-private-session-key"
BILLING_TOKEN = "bill-e2e-token-private"
PAYMENTS_KEY = "skey_test_e2e5xuy4w91xqz7d1w9u0t"
INTEGRATOR, INTEGRATOR_TOKEN = "int_e2e", "integrator-e2e-token-private"
ROTATE_AT_AFTER = 1.5  # the billing provider's rotation window, as the operator sets it

REPLICA_TIMINGS = {
    "HOOKSEAL_HEARTBEAT": "0.2",
    "HOOKSEAL_HEARTBEAT_TTL": "10",
    "HOOKSEAL_REFRESH": "0.5",
    "HOOKSEAL_LEEWAY": "0.3",
}
ROTATE_TIMINGS = [
    "--poll", "0.1", "--progress-every", "1",
    "--deploy-timeout", "60", "--switch-timeout", "60", "--confirm-timeout", "60",
    "--remove-timeout", "60", "--quiet", "0.6", "--grace", "0.5", "--leeway", "0.3",
    "--min-deliveries", "3", "--min-replicas", str(REPLICAS),
]  # fmt: skip


@dataclass
class Provider:
    """One provider kind in the test: its server, how it signs now, how a person at its
    console answers the rotation's instructions, and the rotation's arguments."""

    kind: str
    server: ApiServer  # type: ignore[type-arg]
    holds: Callable[[], list[tuple[str, str]]]
    args: list[str]
    env: dict[str, str]
    replica_env: dict[str, str]
    old_value: Callable[[], str]
    operator: Callable[[str, list[str]], None] = lambda line, lines: None
    reset: Callable[[], None] = lambda: None
    state: dict[str, object] = field(default_factory=dict)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def _store(url: str, key: str) -> redis.Redis:
    client = redis.Redis.from_url(url)
    client.delete(key)
    return client


def _integrator(url: str, key: str) -> Generator[Provider, None, None]:
    api = IntegratorApi()
    api.add_integrator(INTEGRATOR)
    api.add_token(INTEGRATOR_TOKEN, INTEGRATOR)
    with serving(api) as server:
        store = _store(url, key)
        old = {"value": secrets.token_urlsafe(24)}
        put_secret(store, key, "k-old", old["value"], channel=key + ":ch")
        IntegratorClient(server.base_url, token=INTEGRATOR_TOKEN).set_webhook_secret(old["value"])

        def reset() -> None:  # each rotation's new secret is the next one's old
            old["value"] = api.secret(INTEGRATOR) or ""

        def holds() -> list[tuple[str, str]]:
            value = api.secret(INTEGRATOR)
            return [("current", value)] if value else []

        yield Provider(
            "integrator",
            server,
            holds,
            ["--kind", "integrator", "--provider-url", server.base_url, "--redis", url,
             "--redis-key", key, "--redis-channel", key + ":ch", "--fleet-group", key],
            {"HOOKSEAL_INTEGRATOR_TOKEN": INTEGRATOR_TOKEN},
            {"HOOKSEAL_SOURCE": "redis"},
            lambda: old["value"],
            reset=reset,
        )  # fmt: skip
        store.close()


def _payments(url: str, key: str) -> Generator[Provider, None, None]:
    api = PaymentsApi()
    api.add_key(PAYMENTS_KEY)
    with serving(api) as server:
        store = _store(url, key)
        secret_id, value = api.add_secret()
        put_secret(store, key, secret_id, value, channel=key + ":ch")
        old = {"value": value}

        def reset() -> None:  # a rotation leaves exactly its new secret, the next one's old
            held = {
                k.decode() if isinstance(k, bytes) else k: v for k, v in store.hgetall(key).items()
            }
            assert list(held) == api.ids()
            old["value"] = json.loads(next(iter(held.values())))["value"]

        def holds() -> list[tuple[str, str]]:  # the payments API signs with every secret
            return [(f"s{n}", v) for n, v in enumerate(api.signing_values())]

        yield Provider(
            "payments",
            server,
            holds,
            ["--kind", "payments", "--provider-url", server.base_url, "--redis", url,
             "--redis-key", key, "--redis-channel", key + ":ch", "--fleet-group", key],
            {"HOOKSEAL_PAYMENTS_SECRET_KEY": PAYMENTS_KEY},
            {"HOOKSEAL_SOURCE": "payments", "HOOKSEAL_PROVIDER_URL": server.base_url,
             "HOOKSEAL_PAYMENTS_SECRET_KEY": PAYMENTS_KEY},
            lambda: old["value"],
            reset=reset,
        )  # fmt: skip
        store.close()


def _billing(url: str, key: str) -> Generator[Provider, None, None]:
    api = BillingApi()
    api.add_token(BILLING_TOKEN)
    with serving(api) as server:
        store = _store(url, key)
        endpoint = api.add_endpoint("https://receiver.example/webhooks/invoice")
        old = {"value": api.signing_value(endpoint)}
        put_secret(store, key, "current", old["value"], channel=key + ":ch")

        def reset() -> None:
            old["value"] = api.signing_value(endpoint)

        def operator(line: str, lines: list[str]) -> None:
            # the person at the billing console starts the rotation with the printed secret
            if line.startswith("secret next: "):
                value = line.split(": ", 1)[1]
                api.start_rotation(endpoint, value, time.time() + ROTATE_AT_AFTER)

        yield Provider(
            "billing",
            server,
            lambda: [("current", api.signing_value(endpoint))],
            ["--kind", "billing", "--provider-url", server.base_url, "--endpoint-id", endpoint,
             "--redis", url, "--redis-key", key, "--redis-channel", key + ":ch",
             "--fleet-group", key],
            {"HOOKSEAL_BILLING_TOKEN": BILLING_TOKEN},
            {"HOOKSEAL_SOURCE": "billing", "HOOKSEAL_PROVIDER_URL": server.base_url,
             "HOOKSEAL_BILLING_TOKEN": BILLING_TOKEN, "HOOKSEAL_ENDPOINT_ID": endpoint},
            lambda: old["value"],
            operator=operator,
            reset=reset,
        )  # fmt: skip
        store.close()


def _retail(url: str, key: str) -> Generator[Provider, None, None]:
    api = RetailApi()
    api.add_chain(CHAIN, "ACME Retail")
    api.add_session(RETAIL_USER, RETAIL_KEY, {CHAIN})
    with serving(api) as server:
        values: dict[str, str] = {}
        first = secrets.token_hex(16)
        values[str(api.add_key(CHAIN, first))] = first
        linked = {"id": next(iter(values))}
        created: dict[str, str] = {}

        def reset() -> None:
            created.clear()

        def operator(line: str, lines: list[str]) -> None:
            # the person at the retail console: create the key, link it, deactivate the old
            if line.startswith("operator: create a new webhook signature key") and not created:
                value = secrets.token_hex(16)
                created["id"] = str(api.add_key(CHAIN, value))
                values[created["id"]] = value
            elif line.startswith("operator: link the webhook(s)"):
                linked["id"] = line.split("signature key ", 1)[1].split(" ", 1)[0]
            elif line.startswith("operator: deactivate or delete signature key(s) "):
                for old_id in line.split("key(s) ", 1)[1].split(" of chain")[0].split(", "):
                    api.set_active(int(old_id), False)

        yield Provider(
            "retail",
            server,
            lambda: [(linked["id"], values[linked["id"]])],
            ["--kind", "retail", "--provider-url", server.base_url, "--chain-id", str(CHAIN),
             "--fleet-redis", url, "--fleet-group", key],
            {"HOOKSEAL_RETAIL_SESSION": f"{RETAIL_USER}:{RETAIL_KEY}"},
            {"HOOKSEAL_SOURCE": "retail", "HOOKSEAL_PROVIDER_URL": server.base_url,
             "HOOKSEAL_RETAIL_SESSION": f"{RETAIL_USER}:{RETAIL_KEY}",
             "HOOKSEAL_CHAIN_ID": str(CHAIN), "HOOKSEAL_FLEET_REDIS": url},
            lambda: values[linked["id"]],
            operator=operator,
            reset=reset,
        )  # fmt: skip


SETUPS = {"integrator": _integrator, "payments": _payments, "billing": _billing, "retail": _retail}


@dataclass
class Fleet:
    provider: Provider
    replicas: list[Replica]
    workdir: Path
    redis_url: str


@pytest.fixture(scope="module", params=list(SETUPS))
def fleet(
    request: pytest.FixtureRequest, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    kind = request.param
    workdir = tmp_path_factory.mktemp(f"fleet-{kind}")
    setup = SETUPS[kind](redis_url, f"e2e:{kind}")
    provider = next(setup)
    provider.reset()
    env = {
        **REPLICA_TIMINGS,
        **provider.replica_env,
        "HOOKSEAL_REDIS_URL": redis_url,
        "HOOKSEAL_REDIS_KEY": f"e2e:{kind}",
        "HOOKSEAL_REDIS_CHANNEL": f"e2e:{kind}:ch",
        "HOOKSEAL_FLEET_GROUP": f"e2e:{kind}",
    }
    try:
        with replicas(REPLICAS, env, workdir) as started:
            yield Fleet(provider, started, workdir, redis_url)
    finally:
        setup.close()


def _audit(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _refused_everywhere(fleet: Fleet, value: str) -> list[int]:
    body = b'{"event": "after.rotation"}'
    headers = {"Signature": signature(value, body)}
    with httpx.Client(timeout=10) as client:
        return [
            client.post(r.url + "/webhooks/invoice", content=body, headers=headers).status_code
            for r in fleet.replicas
        ]


def _check(fleet: Fleet, sender: Sender, audit: list[dict[str, object]], label: str) -> None:
    numbers = sender.summary()
    print(f"\n{fleet.provider.kind} rotation ({label}): {numbers}")
    refused = [d for d in sender.deliveries if d.status != 200]
    assert not refused, f"valid deliveries refused: {refused[:5]}"
    assert numbers["sent"] > 20  # the stream really flowed through the rotation
    deployed = [e for e in audit if e["step"] == "deploy" and e["event"] == "done"]
    switched = [e for e in audit if e["step"] == "switch" and e["event"] == "started"]
    assert deployed
    assert switched
    assert deployed[-1]["replicas"] == sorted(r.name for r in fleet.replicas)
    assert str(deployed[-1]["time"]) <= str(switched[0]["time"])  # confirmed before the switch
    assert [e["step"] for e in audit if e["event"] == "done"][-1] == "done"
    served = {d.secret_id for d in sender.deliveries[-5:]}
    new_id = audit[-1]["new"]
    assert served == {new_id}, (served, new_id)


def _run(fleet: Fleet, label: str, crash_steps: list[str]) -> None:
    provider = fleet.provider
    provider.reset()
    old = provider.old_value()
    audit_path = fleet.workdir / f"{label}.log"
    args = [
        *provider.args,
        *ROTATE_TIMINGS,
        "--state", str(fleet.workdir / f"{label}.json"),
        "--audit", str(audit_path),
    ]  # fmt: skip
    runs: list[RotateRun] = []
    with Sender([r.url for r in fleet.replicas], provider.holds) as sender:
        time.sleep(0.3)  # deliveries on the old secret before the rotation starts
        for number, step in enumerate([*crash_steps, None]):
            resume = ["--resume"] if number else []
            run = rotate([*args, *resume], provider.env, provider.operator, crash_at=step)
            runs.append(run)
            expected = 0 if step is None else -9
            assert run.returncode == expected, (step, run.returncode, run.stderr[-3000:])
        time.sleep(0.3)  # and deliveries on the new one after it
    audit = _audit(audit_path)
    _check(fleet, sender, audit, label)
    if crash_steps:
        resumed = [e for e in audit if e["event"] == "resumed"]
        assert len(resumed) == len(crash_steps)
    assert _refused_everywhere(fleet, old) == [401] * len(fleet.replicas)
    text = audit_path.read_text() + "".join(r.stderr for r in runs)
    assert old not in text  # the audit log and the progress never show a value


def test_rotation(fleet: Fleet) -> None:
    _run(fleet, "clean", [])


def test_rotation_killed_at_each_step_and_resumed(fleet: Fleet) -> None:
    _run(fleet, "crashes", list(STEPS))
