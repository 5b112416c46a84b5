"""pytest fixtures serving each imitated API with a known account; imported by the conftests
of ``tests/providers`` and ``tests/sources``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._server import ApiServer, serving
from .billing import BillingApi
from .integrator import IntegratorApi
from .payments import PaymentsApi
from .retail import RetailApi

CHAIN_ID = 1743
OTHER_CHAIN_ID = 1744
RETAIL_USER = "3636813"
RETAIL_SESSION_KEY = "sess-4f1c2b8e-very-private-session-key"
BILLING_TOKEN = "bill-token-0123456789-very-private"
BILLING_TOKEN_NO_RIGHTS = "bill-token-without-webhook-rights"
PAYMENTS_TEST_KEY = "skey_test_5xuy4w91xqz7d1w9u0t"
PAYMENTS_LIVE_KEY = "skey_5xuy4w91xqz7d1w9u0tlive"
INTEGRATOR_ID = "int_42"
INTEGRATOR_TOKEN = "integrator-token-0123456789-private"
INTEGRATOR_TOKEN_NO_SCOPE = "integrator-token-read-only"


@pytest.fixture
def retail_server() -> Iterator[ApiServer[RetailApi]]:
    api = RetailApi()
    api.add_chain(CHAIN_ID, "ACME Retail")
    api.add_chain(OTHER_CHAIN_ID, "Other Retail")
    api.add_session(RETAIL_USER, RETAIL_SESSION_KEY, {CHAIN_ID})
    with serving(api) as server:
        yield server


@pytest.fixture
def billing_server() -> Iterator[ApiServer[BillingApi]]:
    api = BillingApi()
    api.add_token(BILLING_TOKEN)
    api.add_token(BILLING_TOKEN_NO_RIGHTS, may_list=False)
    with serving(api) as server:
        yield server


@pytest.fixture
def payments_server() -> Iterator[ApiServer[PaymentsApi]]:
    api = PaymentsApi()
    api.add_key(PAYMENTS_TEST_KEY)
    api.add_key(PAYMENTS_LIVE_KEY)
    with serving(api) as server:
        yield server


@pytest.fixture
def integrator_server() -> Iterator[ApiServer[IntegratorApi]]:
    api = IntegratorApi()
    api.add_integrator(INTEGRATOR_ID)
    api.add_token(INTEGRATOR_TOKEN, INTEGRATOR_ID)
    api.add_token(INTEGRATOR_TOKEN_NO_SCOPE, INTEGRATOR_ID, scopes={"webhooks:read"})
    with serving(api) as server:
        yield server
