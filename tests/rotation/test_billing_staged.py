"""BillingSource(staged_id=...): the secret a rotation deploys before the billing provider
switches to it verifies at once, with or without a rotation in progress, and its absence is
normal (no warning)."""

from __future__ import annotations

import logging

import pytest

from _provider_apis import ApiServer
from _provider_apis.billing import BillingApi
from _provider_apis.fixtures import BILLING_TOKEN, billing_server
from hookseal import Secret
from hookseal.providers import BillingClient
from hookseal.sources import StaticSource
from hookseal.sources.billing import BillingSource

__all__ = ["billing_server"]


def test_the_staged_secret_verifies_before_and_during_the_providers_rotation(
    billing_server: ApiServer[BillingApi], caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = billing_server.api.add_endpoint("https://receiver.example/hooks")
    client = BillingClient(billing_server.base_url, token=BILLING_TOKEN)
    staged = StaticSource([Secret("cur", id="current"), Secret("nxt", id="next")])
    source = BillingSource(staged, client, endpoint_id=endpoint, staged_id="next")
    assert source.fetch().secrets.ids == ("current", "next")
    billing_server.api.start_rotation(endpoint, "nxt", 4_000_000_000)
    rotating = StaticSource(
        [Secret("nxt", id="current"), Secret("cur", id="previous"), Secret("x", id="other")]
    )
    with caplog.at_level(logging.WARNING, logger="hookseal"):
        fetched = BillingSource(rotating, client, endpoint_id=endpoint, staged_id="next").fetch()
    assert fetched.secrets.ids == ("current", "previous")
    assert fetched.secrets.get("previous") == Secret("cur", id="previous", expires_at=4e9)
    assert not caplog.records  # no staged secret held: nothing to warn about
    without = BillingSource(staged, client, endpoint_id=endpoint)
    assert without.fetch().secrets.ids == ("current",)
