"""Django releases a delivery its view failed, through Django's own test clients: the provider's
retry (same webhook-id, new timestamp) is accepted; a processed delivery's retry is refused as a
replay (409). The middleware (sync and async) and the decorator (sync and async view)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path

from hookseal import InMemoryReplayGuard, Verifier
from hookseal.integrations.django import verify_webhook
from hookseal.testing import signed_request

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BODY = b'{"type": "invoice.paid"}'
FAILURES = ["raises", "returns 500", "returns 503"]

MIDDLEWARE_GUARD = InMemoryReplayGuard()
VIEW_GUARD = InMemoryReplayGuard()
_calls: dict[str, int] = {}  # per message id: how often a view ran for that event


def _answer(request: HttpRequest) -> HttpResponse:
    """Fail the first delivery of an event as its X-Fail header says, then answer 200."""
    message_id = request.hookseal.message_id
    _calls[message_id] = _calls.get(message_id, 0) + 1
    failure = request.headers.get("X-Fail", "none")
    if _calls[message_id] > 1 or failure == "none":
        return JsonResponse({"processed": message_id})
    if failure == "raises":
        raise RuntimeError("the database is down")
    if failure == "raises 404":
        raise Http404("no such invoice")
    if failure == "returns 500":
        return JsonResponse({"processed": False}, status=500)
    if failure == "returns 503":
        return HttpResponse("later", status=503)
    raise AssertionError(failure)


def view(request: HttpRequest) -> HttpResponse:
    return _answer(request)


async def async_view(request: HttpRequest) -> HttpResponse:
    return _answer(request)


_own = Verifier(WHSEC, scheme="standard", replay_guard=VIEW_GUARD)

urlpatterns = [
    path("webhooks/sync", view),
    path("webhooks/async", async_view),
    path("hooks/sync", verify_webhook(verifier=_own)(view)),
    path("hooks/async", verify_webhook(verifier=_own)(async_view)),
]


@pytest.fixture(autouse=True)
def _settings() -> Iterator[None]:
    hookseal = {
        "SECRETS": WHSEC,
        "SCHEME": "standard",
        "PATHS": ["/webhooks/"],
        "REPLAY_GUARD": MIDDLEWARE_GUARD,
    }
    with override_settings(ROOT_URLCONF=sys.modules[__name__], HOOKSEAL=hookseal):
        yield


def attempt(number: int, message_id: str, failure: str) -> tuple[bytes, dict[str, str]]:
    """Delivery attempt ``number`` of one event: the same id, a new timestamp each time."""
    timestamp = int(time.time()) - 60 + number
    body, headers = signed_request(
        BODY, WHSEC, scheme="standard", message_id=message_id, timestamp=timestamp
    )
    headers.pop("Content-Type")
    return body, {**headers, "X-Fail": failure}


async def deliver(url: str, number: int, message_id: str, failure: str) -> int:
    """Post one attempt with a fresh client (sync or async as the URL says); the status."""
    body, headers = attempt(number, message_id, failure)
    if url.endswith("/async"):
        client: Any = AsyncClient(raise_request_exception=False)
        response = await client.post(url, body, "application/json", headers=headers)
    else:
        client = Client(raise_request_exception=False)
        response = client.post(url, body, "application/json", headers=headers)
    return int(response.status_code)


URLS = ["/webhooks/sync", "/webhooks/async", "/hooks/sync", "/hooks/async"]


def guard_for(url: str) -> InMemoryReplayGuard:
    return MIDDLEWARE_GUARD if url.startswith("/webhooks/") else VIEW_GUARD


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("failure", FAILURES)
async def test_a_failed_delivery_is_released_and_the_retry_accepted(url: str, failure: str) -> None:
    message_id = f"msg_{url}_{failure}".replace("/", "_").replace(" ", "_")
    assert await deliver(url, 1, message_id, failure) >= 500
    assert await deliver(url, 2, message_id, "none") == 200
    assert await deliver(url, 3, message_id, "none") == 409  # the retry's key is kept


@pytest.mark.parametrize("url", URLS)
async def test_a_processed_delivery_is_kept_and_its_retry_is_409(url: str) -> None:
    message_id = f"msg_ok_{url}".replace("/", "_")
    assert await deliver(url, 1, message_id, "none") == 200
    assert await deliver(url, 2, message_id, "none") == 409
    assert _calls[message_id] == 1


@pytest.mark.parametrize("url", URLS)
async def test_a_4xx_raised_by_the_view_keeps_the_key(url: str) -> None:
    """Http404 is Django's 404 answer, not a failure: the same rule as a returned 4xx."""
    message_id = f"msg_404_{url}".replace("/", "_")
    assert await deliver(url, 1, message_id, "raises 404") == 404
    assert await deliver(url, 2, message_id, "none") == 409


def test_an_exception_the_client_re_raises_still_releases() -> None:
    """Django's test client re-raises the view's exception after the 500 was produced."""
    message_id = "msg_reraised"
    body, headers = attempt(1, message_id, "raises")
    with pytest.raises(RuntimeError):
        Client().post("/hooks/sync", body, "application/json", headers=headers)
    body, headers = attempt(2, message_id, "none")
    assert (
        Client().post("/hooks/sync", body, "application/json", headers=headers).status_code == 200
    )
