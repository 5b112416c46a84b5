"""Hostile answers from a provider API: every one ends in a typed ProviderError, never another
exception (the clients run inside the keyring's fetch and inside ``hookseal rotate``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from _provider_apis import Answer, ApiServer, Received, serving
from _provider_apis.billing import BillingApi
from _provider_apis.fixtures import (
    BILLING_TOKEN,
    CHAIN_ID,
    INTEGRATOR_TOKEN,
    PAYMENTS_TEST_KEY,
    RETAIL_SESSION_KEY,
    RETAIL_USER,
)
from _provider_apis.integrator import IntegratorApi
from _provider_apis.payments import PaymentsApi
from _provider_apis.retail import RetailApi
from hookseal.errors import ConfigurationError
from hookseal.providers import (
    BillingClient,
    IntegratorClient,
    MalformedAnswer,
    PaymentsClient,
    ProviderError,
    ProviderUnreachable,
    RetailClient,
    SpaazaSession,
)

# Nested deeper than the json module's recursion allows, and far under the 1 MiB answer cap.
DEEP_ARRAY = b"[" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000


def _calls(
    retail: ApiServer[RetailApi],
    billing: ApiServer[BillingApi],
    payments: ApiServer[PaymentsApi],
    integrator: ApiServer[IntegratorApi],
) -> list[tuple[Any, Callable[[], object]]]:
    """Each client's main call, next to the server that answers it."""
    session = SpaazaSession(RETAIL_USER, RETAIL_SESSION_KEY)
    retail_client = RetailClient(retail.base_url, session=session)
    billing_client = BillingClient(billing.base_url, token=BILLING_TOKEN)
    payments_client = PaymentsClient(PAYMENTS_TEST_KEY, base_url=payments.base_url)
    integrator_client = IntegratorClient(integrator.base_url, token=INTEGRATOR_TOKEN)
    return [
        (retail, lambda: retail_client.get_webhook_signatures(CHAIN_ID)),
        (billing, billing_client.list_webhooks),
        (payments, payments_client.list_webhook_secrets),
        (integrator, lambda: integrator_client.set_webhook_secret("a-new-secret")),
    ]


@pytest.mark.parametrize("body", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize("status", [200, 400, 302, 503])
def test_json_nested_too_deeply_is_a_provider_error(
    retail_server: ApiServer[RetailApi],
    billing_server: ApiServer[BillingApi],
    payments_server: ApiServer[PaymentsApi],
    integrator_server: ApiServer[IntegratorApi],
    status: int,
    body: bytes,
) -> None:
    calls = _calls(retail_server, billing_server, payments_server, integrator_server)
    for server, call in calls:
        if status == 200 and server is integrator_server:
            continue  # a 200 to PUT is read by its status alone
        server.script(Answer(status, body))
        with pytest.raises(ProviderError) as caught:
            call()
        assert caught.value.status == status
        if status == 200:
            assert isinstance(caught.value, MalformedAnswer)
            assert "not JSON" in str(caught.value)


class EndlessBilling:
    """A billing listing that never ends: every page is empty, takes a while (each byte
    dripped, each request well within the client's timeout) and names a fresh token."""

    def __init__(self) -> None:
        self.pages = 0

    def route(self, request: Received) -> Answer:
        self.pages += 1
        page = {"items": [], "pagination": {"page_size": 0, "next_page_token": f"t{self.pages}"}}
        return Answer(200, json.dumps(page).encode(), drip=0.004)  # ~0.3 s a page


@pytest.mark.parametrize("driver", ["blocking", "asyncio"])
def test_a_listing_that_never_ends_is_bounded_by_the_deadline_not_pages_times_timeout(
    driver: str,
) -> None:
    # A source's fetch is one call: a keyring has one thread in a source at a time, so a call
    # of max_pages (1000) slow pages would hold off every refresh for 1000 x 0.3 s, and up to
    # 1000 x timeout: a secret revoked meanwhile would go on verifying.
    with serving(EndlessBilling()) as server:
        client = BillingClient(server.base_url, token=BILLING_TOKEN, timeout=2, deadline=2)
        started = time.monotonic()

        def listing() -> object:
            if driver == "blocking":
                return client.list_webhooks()
            return asyncio.run(client.alist_webhooks())

        with pytest.raises(ProviderUnreachable, match=r"the call did not complete within 2 s"):
            listing()
        assert time.monotonic() - started < 30  # a failure bound; unbounded it runs minutes
        assert server.api.pages < 100


def test_the_deadline_defaults_to_six_timeouts_and_is_checked() -> None:
    assert BillingClient("https://billing.example", token="t", timeout=3).http.deadline == 18
    with pytest.raises(ConfigurationError, match="deadline"):
        PaymentsClient(PAYMENTS_TEST_KEY, timeout=5, deadline=1)
    with pytest.raises(ConfigurationError, match="deadline"):
        RetailClient("https://r.example", headers={"X": "y"}, deadline=0)
    assert IntegratorClient("https://i.example", token="t", deadline=30).http.deadline == 30


@pytest.mark.parametrize(
    "url", ["https://admin:hunter2-pass@api.example", "https://hunter2-pass@api.example/v1"]
)
def test_credentials_in_the_base_url_are_refused_without_being_shown(url: str) -> None:
    # Kept, they went into every client's repr and, through the rotation kinds' describe(),
    # into hookseal rotate's progress, audit log, state file and --dry-run plan.
    for make in (
        lambda: RetailClient(url, headers={"X-Spaaza-Session-Key": "k"}),
        lambda: BillingClient(url, token="t"),
        lambda: PaymentsClient(PAYMENTS_TEST_KEY, base_url=url),
        lambda: IntegratorClient(url, token="t"),
    ):
        with pytest.raises(ConfigurationError, match="credentials") as caught:
            make()
        assert "hunter2" not in str(caught.value)
