"""docs/secrets/sources.md: the provider API blocks (marked ``run-by`` this file) run as
written, against the imitated provider APIs; the blocks read their URLs and credentials from
the environment, which this test sets. The page's other blocks run in tests/test_docs.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from _markdown import run_by
from _provider_apis import ApiServer
from _provider_apis.billing import BillingApi
from _provider_apis.fixtures import (
    BILLING_TOKEN,
    CHAIN_ID,
    INTEGRATOR_ID,
    INTEGRATOR_TOKEN,
    PAYMENTS_TEST_KEY,
    RETAIL_SESSION_KEY,
    RETAIL_USER,
)
from _provider_apis.integrator import IntegratorApi
from _provider_apis.payments import PaymentsApi
from _provider_apis.retail import RetailApi
from hookseal.providers.integrator import MISSING_SIGNATURE_HINT

DOC = Path(__file__).resolve().parents[2] / "docs" / "secrets" / "sources.md"
BLOCKS = [block.code for block in run_by(DOC, "tests/sources/test_sources_docs.py")]


def test_the_page_has_a_block_per_api_and_names_each_seed_page() -> None:
    assert len(BLOCKS) == 4
    for page in (
        "retail-get-webhook-signatures.txt",
        "billing-list-webhook-endpoints.txt",
        "payments-list-webhook-secrets.txt",
        "payments-delete-webhook-secret.txt",
        "integrator-update-webhook-secret.txt",
    ):
        assert page in DOC.read_text(encoding="utf-8")


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch,
    retail_server: ApiServer[RetailApi],
    billing_server: ApiServer[BillingApi],
    payments_server: ApiServer[PaymentsApi],
    integrator_server: ApiServer[IntegratorApi],
) -> None:
    """The provider-side state each block expects, and the environment it reads."""
    retail_server.api.add_key(CHAIN_ID)  # 56
    retail_server.api.add_key(CHAIN_ID)  # 57
    monkeypatch.setenv("RETAIL_API_URL", retail_server.base_url)
    monkeypatch.setenv("SPAAZA_USER_ID", RETAIL_USER)
    monkeypatch.setenv("SPAAZA_SESSION_KEY", RETAIL_SESSION_KEY)

    endpoint = billing_server.api.add_endpoint("https://shop.example/hooks/billing", "old-value")
    billing_server.api.start_rotation(endpoint, "new-value", time.time() + 3600)
    monkeypatch.setenv("BILLING_API_URL", billing_server.base_url)
    monkeypatch.setenv("BILLING_API_TOKEN", BILLING_TOKEN)
    monkeypatch.setenv(
        "BILLING_WEBHOOK_SECRETS", _secrets(current="new-value", previous="old-value")
    )

    secret_id, value = payments_server.api.add_secret()
    monkeypatch.setenv("PAYMENTS_API_URL", payments_server.base_url)
    monkeypatch.setenv("PAYMENTS_SECRET_KEY", PAYMENTS_TEST_KEY)
    monkeypatch.setenv("PAYMENTS_WEBHOOK_SECRETS", _secrets(**{secret_id: value}))

    monkeypatch.setenv("INTEGRATOR_API_URL", integrator_server.base_url)
    monkeypatch.setenv("INTEGRATOR_TOKEN", INTEGRATOR_TOKEN)
    monkeypatch.setenv("INTEGRATOR_NEW_SECRET", "integrator-secret-from-docs")
    monkeypatch.setenv("INTEGRATOR_WEBHOOK_SECRETS", _secrets(k1="integrator-secret-from-docs"))


def _secrets(**values: str) -> str:
    return json.dumps([{"id": k, "value": v} for k, v in values.items()])


@pytest.mark.usefixtures("environment")
@pytest.mark.parametrize(
    ("index", "printed"),
    [
        (0, "('56', '57')"),
        (1, "('current', 'previous')"),
        (2, "('whsec_test_"),
        (3, f"401 the Signature header is missing; {MISSING_SIGNATURE_HINT}"),
    ],
)
def test_block_runs(index: int, printed: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(BLOCKS[index], f"{DOC}#block{index}", "exec"), {"__name__": "docs"})  # noqa: S102
    assert printed in capsys.readouterr().out


@pytest.mark.usefixtures("environment")
def test_the_integrator_block_sets_the_secret(integrator_server: ApiServer[IntegratorApi]) -> None:
    exec(compile(BLOCKS[3], f"{DOC}#block3", "exec"), {"__name__": "docs"})  # noqa: S102
    assert integrator_server.api.secret(INTEGRATOR_ID) == "integrator-secret-from-docs"
