"""One replica of a webhook receiver, ready for ``hookseal rotate``: run several of them.

    HOOKSEAL_SOURCE=redis HOOKSEAL_REDIS_URL=redis://127.0.0.1:6379/0 PORT=8001 \\
        python examples/replica_app.py

Each replica verifies deliveries with a refreshing Keyring, publishes a heartbeat (the
fingerprint of the set it serves, never a value, and which secret verified how much) that
``hookseal rotate`` waits on, answers Kubernetes probes on ``/readyz`` and Prometheus on
``/metrics``. Settings, all from the environment:

- ``HOOKSEAL_SOURCE``: ``redis`` (a RedisSource), ``file`` (``HOOKSEAL_FILE``), ``payments``
  (PaymentsSource over the Redis store), ``billing`` (BillingSource over the Redis store,
  ``HOOKSEAL_ENDPOINT_ID``) or ``retail`` (RetailSource, ``HOOKSEAL_CHAIN_ID``);
- ``HOOKSEAL_REDIS_URL``, ``HOOKSEAL_REDIS_KEY`` (``hookseal:secrets``),
  ``HOOKSEAL_REDIS_CHANNEL`` (``hookseal:rotations``); ``HOOKSEAL_PROVIDER_URL`` and the
  credential variables of ``hookseal rotate`` for the provider APIs;
- ``HOOKSEAL_FLEET_REDIS`` (default: the Redis URL) or ``HOOKSEAL_FLEET_DIR``,
  ``HOOKSEAL_FLEET_GROUP``, ``HOOKSEAL_REPLICA_ID``, ``HOOKSEAL_HEARTBEAT`` (seconds, 5),
  ``HOOKSEAL_HEARTBEAT_TTL`` (three heartbeats);
- ``HOOKSEAL_REFRESH`` (keyring refresh interval, 300), ``HOOKSEAL_LEEWAY`` (60), ``PORT``.

Routes: ``POST /webhooks/{topic}`` (verified: answers the matching secret id and this
replica's id), ``GET /readyz``, ``GET /metrics``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hookseal import Keyring, Verifier
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.fleet import DirectoryFleet, FleetBackend, FleetReporter, RedisFleet
from hookseal.health import ReadinessEndpoint
from hookseal.metrics import Metrics
from hookseal.sources import RedisSource, SecretSource


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise SystemExit(f"replica_app: set {name}")
    return value


def source_from_env() -> SecretSource:
    """The secret source the settings name (see the module docstring)."""
    kind = env("HOOKSEAL_SOURCE", "redis")
    if kind == "file":
        from hookseal.sources import FileSource

        return FileSource(env("HOOKSEAL_FILE"), watch=True, poll_interval=0.2)
    if kind == "retail":
        from hookseal.providers import RetailClient, SpaazaSession
        from hookseal.sources.retail import RetailSource

        user_id, _, key = env("HOOKSEAL_RETAIL_SESSION").partition(":")
        client = RetailClient(env("HOOKSEAL_PROVIDER_URL"), session=SpaazaSession(user_id, key))
        return RetailSource(client, int(env("HOOKSEAL_CHAIN_ID")))
    store = RedisSource(
        env("HOOKSEAL_REDIS_URL"),
        key=env("HOOKSEAL_REDIS_KEY", "hookseal:secrets"),
        channel=env("HOOKSEAL_REDIS_CHANNEL", "hookseal:rotations"),
    )
    if kind == "redis":
        return store
    if kind == "payments":
        from hookseal.providers import PaymentsClient
        from hookseal.sources.payments import PaymentsSource

        payments = PaymentsClient(
            env("HOOKSEAL_PAYMENTS_SECRET_KEY"), base_url=env("HOOKSEAL_PROVIDER_URL")
        )
        return PaymentsSource(store, payments)
    if kind == "billing":
        from hookseal.providers import BillingClient
        from hookseal.sources.billing import BillingSource

        billing = BillingClient(env("HOOKSEAL_PROVIDER_URL"), token=env("HOOKSEAL_BILLING_TOKEN"))
        return BillingSource(
            store, billing, endpoint_id=env("HOOKSEAL_ENDPOINT_ID"), staged_id="next"
        )
    raise SystemExit(f"replica_app: unknown HOOKSEAL_SOURCE {kind!r}")


def fleet_from_env() -> FleetBackend:
    directory = os.environ.get("HOOKSEAL_FLEET_DIR")
    if directory:
        return DirectoryFleet(directory)
    url = os.environ.get("HOOKSEAL_FLEET_REDIS") or env("HOOKSEAL_REDIS_URL")
    return RedisFleet(url, group=env("HOOKSEAL_FLEET_GROUP", "default"))


def create_app() -> Starlette:
    """The replica: verification, heartbeat, readiness and metrics, from the environment."""
    refresh = float(env("HOOKSEAL_REFRESH", "300"))
    metrics = Metrics()
    keyring = Keyring(
        source_from_env(),
        refresh_interval=refresh,
        min_interval=min(refresh, 10.0),
        cooldown=min(refresh, 60.0),
        on_event=metrics.keyring_hook("webhooks"),
    )
    metrics.watch_keyring(keyring, "webhooks")
    leeway = float(env("HOOKSEAL_LEEWAY", "60"))
    reporter = FleetReporter(
        keyring,
        fleet_from_env(),
        replica_id=os.environ.get("HOOKSEAL_REPLICA_ID"),
        interval=float(env("HOOKSEAL_HEARTBEAT", "5")),
        ttl=float(os.environ["HOOKSEAL_HEARTBEAT_TTL"])
        if "HOOKSEAL_HEARTBEAT_TTL" in os.environ
        else None,
        leeway=leeway,  # a secret serves as long as these verifiers accept it
    )
    metrics.watch_rotation(reporter)
    verifier = Verifier(keyring, leeway=leeway, observer=metrics)

    async def webhook(request: Request) -> JSONResponse:
        verified = request.state.hookseal
        await request.body()
        return JSONResponse({"secret_id": verified.secret_id, "replica": reporter.replica_id})

    routes: list[Any] = [
        Route("/webhooks/{topic}", webhook, methods=["POST"]),
        Route("/readyz", ReadinessEndpoint(keyring)),
    ]
    with contextlib.suppress(Exception):  # /metrics only with the prometheus extra
        from prometheus_client import CollectorRegistry

        from hookseal.metrics import PrometheusExporter

        exporter = PrometheusExporter(metrics, registry=CollectorRegistry())
        routes.append(Route("/metrics", exporter.asgi_app()))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await keyring.astart(timeout=10)
        reporter.start()
        try:
            yield
        finally:
            reporter.close()
            await keyring.aclose()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(WebhookVerificationMiddleware, verifier=verifier, paths=["/webhooks"])
    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=int(env("PORT", "8000")),
        log_level=env("HOOKSEAL_LOG_LEVEL", "warning"),
    )
