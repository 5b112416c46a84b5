"""The FastAPI dependency releases a delivery the endpoint failed, through FastAPI's TestClient:
the provider's retry (same webhook-id, new timestamp) is accepted; a processed delivery's retry
is refused as a replay (409)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import Depends, FastAPI, HTTPException, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from hookseal import InMemoryReplayGuard, Verified
from hookseal.integrations.fastapi import VerifiedWebhook, install
from hookseal.testing import signed_request

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"type": "invoice.paid"}'


def attempt(number: int) -> tuple[bytes, dict[str, str]]:
    """Delivery attempt ``number`` of one event: the same id, a new timestamp each time."""
    timestamp = int(time.time()) - 60 + number
    return signed_request(
        BODY, WHSEC, scheme="standard", message_id="msg_fastapi_1", timestamp=timestamp
    )


def flaky_app(failure: str, *, installed: bool = False) -> tuple[FastAPI, InMemoryReplayGuard]:
    """An endpoint that fails its first delivery in the way named, then answers 200."""
    guard = InMemoryReplayGuard()
    verified = VerifiedWebhook(WHSEC, scheme="standard", replay_guard=guard)
    app = FastAPI()
    if installed:
        install(app)
    calls: list[int] = []

    @app.post("/hooks")
    async def hook(response: Response, event: Verified = Depends(verified)) -> Any:  # noqa: B008
        calls.append(1)
        if len(calls) > 1 or failure == "none":
            return {"processed": event.message_id}
        if failure == "raises":
            raise RuntimeError("the database is down")
        if failure == "HTTPException 503":
            raise HTTPException(503, "try later")
        if failure == "HTTPException 404":
            raise HTTPException(404, "no such invoice")
        if failure == "sets 500":
            response.status_code = 500
            return {"processed": False}
        if failure == "returns 500":
            return JSONResponse({"processed": False}, status_code=500)
        raise AssertionError(failure)

    return app, guard


def deliver(client: TestClient, number: int) -> int:
    body, headers = attempt(number)
    return int(client.post("/hooks", content=body, headers=headers).status_code)


@pytest.mark.parametrize(
    ("failure", "installed"),
    [
        ("raises", False),
        ("raises", True),
        ("HTTPException 503", False),
        ("sets 500", False),
        ("sets 500", True),
        ("returns 500", True),
    ],
)
def test_a_failed_delivery_is_released_and_the_retry_accepted(
    failure: str, installed: bool
) -> None:
    app, guard = flaky_app(failure, installed=installed)
    client = TestClient(app, raise_server_exceptions=False)
    assert deliver(client, 1) >= 500
    assert len(guard) == 0
    assert deliver(client, 2) == 200


@pytest.mark.parametrize("installed", [False, True])
def test_a_processed_delivery_is_kept_and_its_retry_is_409(installed: bool) -> None:
    app, guard = flaky_app("none", installed=installed)
    client = TestClient(app)
    assert deliver(client, 1) == 200
    body, headers = attempt(2)
    response = client.post("/hooks", content=body, headers=headers)
    assert response.status_code == 409
    assert response.json()["code"] == "replayed"
    assert len(guard) == 1


def test_a_returned_5xx_response_needs_install() -> None:
    """The documented limit: a dependency never sees a Response object the endpoint returns,
    so without install(app) that delivery keeps its key (and its retry is 409)."""
    app, guard = flaky_app("returns 500")
    client = TestClient(app)
    assert deliver(client, 1) == 500
    assert len(guard) == 1
    assert deliver(client, 2) == 409


def test_install_settles_every_claim_once_and_other_requests_pass_through() -> None:
    app, guard = flaky_app("raises", installed=True)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"ok": "yes"}

    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/health").status_code == 200
    assert deliver(client, 1) == 500
    assert deliver(client, 2) == 200
    assert deliver(client, 3) == 409  # released once only: the accepted retry keeps its key
    assert len(guard) == 1


@pytest.mark.parametrize("installed", [False, True])
def test_a_4xx_httpexception_keeps_the_key(installed: bool) -> None:
    """HTTPException(404) is FastAPI's 404 answer, not a failure: the same rule as a 4xx."""
    app, guard = flaky_app("HTTPException 404", installed=installed)
    client = TestClient(app)
    assert deliver(client, 1) == 404
    assert len(guard) == 1
    assert deliver(client, 2) == 409
