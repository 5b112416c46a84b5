"""The Flask extension releases a delivery its view failed, through Flask's test client: the
provider's retry (same webhook-id, new timestamp) is accepted; a processed delivery's retry is
refused as a replay (409). Both ways of guarding a view: ``@seal.verify`` and HOOKSEAL_PATHS."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask, abort, g

from hookseal import ConfigurationError, InMemoryReplayGuard, Verifier
from hookseal.integrations.flask import HookSeal
from hookseal.testing import signed_request

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"type": "invoice.paid"}'
FAILURES = ["raises", "aborts 500", "returns 500", "returns 503"]


def attempt(number: int) -> tuple[bytes, dict[str, str]]:
    """Delivery attempt ``number`` of one event: the same id, a new timestamp each time."""
    timestamp = int(time.time()) - 60 + number
    return signed_request(
        BODY, WHSEC, scheme="standard", message_id="msg_flask_1", timestamp=timestamp
    )


def flaky_app(failure: str, *, guarding: str, testing: bool) -> tuple[Flask, InMemoryReplayGuard]:
    """A view failing its first delivery in the way named, then answering 200."""
    guard = InMemoryReplayGuard()
    app = Flask(__name__)
    app.config["TESTING"] = testing  # True: Flask's test client re-raises the view's exception
    calls: list[int] = []

    def view() -> Any:
        calls.append(1)
        if len(calls) > 1 or failure == "none":
            return {"processed": g.hookseal.message_id}
        if failure == "raises":
            raise RuntimeError("the database is down")
        if failure == "aborts 500":
            abort(500)
        if failure == "returns 500":
            return {"processed": False}, 500
        if failure == "returns 503":
            return "later", 503, {"Retry-After": "5"}
        raise AssertionError(failure)

    if guarding == "decorator":
        seal = HookSeal(app)
        verifier = Verifier(WHSEC, scheme="standard", replay_guard=guard)
        app.post("/hooks")(seal.verify(verifier=verifier)(view))
    else:
        app.config.update(
            HOOKSEAL_SECRETS=WHSEC,
            HOOKSEAL_SCHEME="standard",
            HOOKSEAL_PATHS=["/hooks"],
            HOOKSEAL_REPLAY_GUARD=guard,
        )
        HookSeal(app)
        app.post("/hooks")(view)
    return app, guard


def deliver(client: Any, number: int) -> int:
    body, headers = attempt(number)
    return int(client.post("/hooks", data=body, headers=headers).status_code)


@pytest.mark.parametrize("guarding", ["decorator", "paths"])
@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_delivery_is_released_and_the_retry_accepted(guarding: str, failure: str) -> None:
    app, guard = flaky_app(failure, guarding=guarding, testing=False)
    client = app.test_client()
    assert deliver(client, 1) >= 500
    assert len(guard) == 0
    assert deliver(client, 2) == 200


@pytest.mark.parametrize("guarding", ["decorator", "paths"])
def test_an_exception_flask_propagates_releases_too(guarding: str) -> None:
    """With TESTING (PROPAGATE_EXCEPTIONS) Flask skips after_request: teardown releases."""
    app, guard = flaky_app("raises", guarding=guarding, testing=True)
    client = app.test_client()
    with pytest.raises(RuntimeError):
        deliver(client, 1)
    assert len(guard) == 0
    assert deliver(client, 2) == 200


@pytest.mark.parametrize("guarding", ["decorator", "paths"])
def test_a_processed_delivery_is_kept_and_its_retry_is_409(guarding: str) -> None:
    app, guard = flaky_app("none", guarding=guarding, testing=True)
    client = app.test_client()
    assert deliver(client, 1) == 200
    body, headers = attempt(2)
    response = client.post("/hooks", data=body, headers=headers)
    assert response.status_code == 409
    assert response.json is not None
    assert response.json["code"] == "replayed"
    assert len(guard) == 1


def test_replay_guard_on_the_decorator() -> None:
    guard = InMemoryReplayGuard()
    app = Flask(__name__)
    seal = HookSeal(app)

    @app.post("/hooks")
    @seal.verify(secrets=WHSEC, scheme="standard", replay_guard=guard)
    def hook() -> Any:
        return "", 500

    client = app.test_client()
    assert deliver(client, 1) == 500
    assert len(guard) == 0
    with pytest.raises(ConfigurationError, match="replay_guard"):
        seal.verify(replay_guard=guard)  # the app's secrets take HOOKSEAL_REPLAY_GUARD
