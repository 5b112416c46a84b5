"""Readiness: ready when a usable secret set is held, answered at once, over ASGI and WSGI."""

from __future__ import annotations

import time

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client

from hookseal import Keyring, Secret, SecretSet
from hookseal.health import ReadinessEndpoint, readiness, readiness_wsgi_app
from hookseal.sources import CallableSource
from hookseal.testing import ManualClock


def _down() -> list[Secret]:
    raise RuntimeError("the secrets store is down")


def test_a_cold_keyring_is_not_ready_and_the_check_does_not_wait() -> None:
    keyring = Keyring(CallableSource(_down), fetch_timeout=30)
    started = time.monotonic()
    result = readiness(keyring)
    assert time.monotonic() - started < 5  # no fetch waited for (fetch_timeout is 30 s)
    assert not result.ready
    assert result.reason == "no secret set fetched yet"
    keyring.close()


def test_ready_when_a_valid_secret_is_held_and_not_when_all_expired() -> None:
    clock = ManualClock(1_000.0)
    secrets = SecretSet([Secret("a", id="k1", expires_at=1_100.0)])
    assert readiness(secrets, clock=clock).ready
    clock.advance(200)
    assert readiness(secrets, clock=clock).reason == "no secret is valid now"


def test_asgi_endpoint_for_kubernetes_probes() -> None:
    warm = Keyring(CallableSource(lambda: [Secret("s3cr3t", id="k1")]))
    warm.start()
    cold = Keyring(CallableSource(_down))
    app = Starlette(
        routes=[Route("/readyz", ReadinessEndpoint(warm)), Route("/cold", ReadinessEndpoint(cold))]
    )
    with TestClient(app) as client:
        ok = client.get("/readyz")
        assert ok.status_code == 200
        assert ok.json()["ready"] is True
        assert ok.json()["valid_secrets"] == 1
        assert "s3cr3t" not in ok.text
        assert "k1" not in ok.text
        assert client.head("/readyz").status_code == 200
        down = client.get("/cold")
        assert down.status_code == 503
        assert down.json() == {
            "ready": False,
            "reason": "no secret set fetched yet",
            "valid_secrets": 0,
            "snapshot_age": None,
        }
        assert client.post("/readyz").status_code == 405
    warm.close()
    cold.close()


def test_wsgi_endpoint() -> None:
    client = Client(readiness_wsgi_app(["s3cr3t"]))
    answer = client.get("/")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    cold = Keyring(CallableSource(_down))
    assert Client(readiness_wsgi_app(cold)).get("/").status_code == 503
    cold.close()
