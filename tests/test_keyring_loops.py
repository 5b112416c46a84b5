"""A keyring used from short-lived event loops refreshes: issue 8, item 1.

``asyncio.run()`` per call, asgiref's ``async_to_sync`` and Flask's async views (which use it)
each run a request on a loop that is gone when the request ends. The keyring used to start its
background refresh as a task on that loop, which was cancelled before the fetch ran: a secret
removed at the source kept verifying until ``max_stale``, nothing was logged, and
``stats().fetches`` counted fetches that never reached the source. Here a real HTTP source on
127.0.0.1 revokes a secret, and the request keeps coming through each kind of short-lived loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from flask import Flask, request

from _http_secrets_server import Server, secrets_http_server
from hookseal import Keyring, SignatureMismatch, Verifier
from hookseal.sources.http import HttpSource
from hookseal.testing import signed_request

OLD = "loops-old-secret-aaaaaaaaaaaaaaaa"
NEW = "loops-new-secret-bbbbbbbbbbbbbbbb"
BOTH = {"secrets": [{"id": "k2", "value": NEW}, {"id": "k1", "value": OLD}]}
ONLY_OLD = {"secrets": [{"id": "k1", "value": OLD}]}
DEADLINE = 20.0  # a failure bound: with refresh_interval=1 it takes about a second
PAUSE = 0.05

Deliver = Callable[[Verifier, bytes, dict[str, str]], bool]


def by_asyncio_run(verifier: Verifier, body: bytes, headers: dict[str, str]) -> bool:
    async def once() -> bool:
        try:
            await verifier.averify(body, headers)
        except SignatureMismatch:
            return False
        return True

    return asyncio.run(once())


def by_async_to_sync(verifier: Verifier, body: bytes, headers: dict[str, str]) -> bool:
    async def once() -> bool:
        try:
            await verifier.averify(body, headers)
        except SignatureMismatch:
            return False
        return True

    return bool(async_to_sync(once)())


def by_flask_async_view(verifier: Verifier, body: bytes, headers: dict[str, str]) -> bool:
    app = Flask("keyring-loops")

    @app.post("/hook")
    async def hook() -> tuple[str, int]:
        try:
            await verifier.averify(request.get_data(), dict(request.headers))
        except SignatureMismatch:
            return "refused", 401
        return "ok", 200

    response = app.test_client().post("/hook", data=body, headers=headers)
    assert response.status_code in (200, 401)
    return response.status_code == 200


DELIVERIES = [
    pytest.param(by_asyncio_run, id="asyncio.run"),
    pytest.param(by_async_to_sync, id="async_to_sync"),
    pytest.param(by_flask_async_view, id="flask-async-view"),
]


@pytest.fixture
def server() -> Iterator[Server]:
    with secrets_http_server(BOTH) as running:
        yield running


def keyring_for(server: Server, **options: Any) -> Keyring:
    options.setdefault("refresh_interval", 1)
    options.setdefault("cooldown", 3_600)  # only the interval refresh can notice a removal
    options.setdefault("backoff_base", 0.1)
    options.setdefault("backoff_max", 0.5)
    return Keyring(HttpSource(server.url, timeout=2), **options)


def until(condition: Callable[[], bool]) -> bool:
    """Poll ``condition`` every PAUSE seconds, for at most DEADLINE seconds."""
    pause = threading.Event()
    for _ in range(int(DEADLINE / PAUSE)):
        if condition():
            return True
        pause.wait(PAUSE)
    return condition()


@pytest.mark.parametrize("deliver", DELIVERIES)
def test_a_secret_removed_at_the_source_stops_verifying(server: Server, deliver: Deliver) -> None:
    keyring = keyring_for(server).start()
    verifier = Verifier(keyring)
    body, headers = signed_request({"event": "paid"}, NEW)
    try:
        assert deliver(verifier, body, headers)
        server.behaviour.document = ONLY_OLD  # revoked at the source
        assert until(lambda: not deliver(verifier, *signed_request({"n": 1}, NEW)))
        assert deliver(verifier, *signed_request({"n": 2}, OLD))  # the rest still verifies
        assert keyring.stats().fetches >= 2
        # Only fetches that reached the source are counted: between two fetches the counts
        # agree (a fetch counted but never run would keep them apart for good). Compared while
        # open: close() may end a fetch after it was counted and before its request was sent.
        assert until(lambda: keyring.stats().fetches == server.hits)
    finally:
        keyring.close()


@pytest.mark.parametrize("deliver", DELIVERIES)
def test_failures_seen_from_short_lived_loops_are_counted_and_logged(
    server: Server, deliver: Deliver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hookseal")
    keyring = keyring_for(server).start()
    verifier = Verifier(keyring)
    server.behaviour.mode = "status"
    server.behaviour.status = 503
    try:

        def failed_once() -> bool:
            assert deliver(verifier, *signed_request({"n": 1}, NEW))  # the last good set
            return keyring.stats().fetch_failures >= 1

        assert until(failed_once)
        assert until(lambda: "fetch failed" in caplog.text)
        assert "answered HTTP 503" in caplog.text
        assert until(lambda: keyring.stats().fetches == server.hits)  # as above
    finally:
        keyring.close()
