"""BillingSource end to end: values from each kind of user store, the rotation window from the
imitated billing API's endpoint listing (seed page billing-list-webhook-endpoints.txt)."""

from __future__ import annotations

import time

import pytest

from _provider_apis import Answer, ApiServer, example
from _provider_apis.billing import BillingApi
from _provider_apis.fixtures import BILLING_TOKEN, BILLING_TOKEN_NO_RIGHTS
from _provider_apis.keyrings import after_next_refresh, keyring_over
from _provider_apis.stores import EnvStore, Store
from hookseal import SignatureMismatch, verify
from hookseal.errors import ConfigurationError
from hookseal.providers import BillingClient, BillingError, NotListed
from hookseal.sources import BillingSource, SourceError
from hookseal.testing import ManualClock, signed_request

OLD = "billing-old-secret-0123456789abcdef"
NEW = "billing-new-secret-fedcba9876543210"
URL = "https://shop.example/hooks/billing"
DOCUMENTED_URL = "https://mycompany.com/solidgate/webhook"


def client(server: ApiServer[BillingApi], token: str = BILLING_TOKEN) -> BillingClient:
    return BillingClient(server.base_url, token=token, page_size=2)


def signed_by(value: str) -> tuple[bytes, dict[str, str]]:
    return signed_request({"type": "INVOICE_CREATED"}, value)


def test_the_documented_example_feeds_the_source(billing_server: ApiServer[BillingApi]) -> None:
    documented = example("billing-list-webhook-endpoints.200.json")
    last_page = documented.replace(
        b'"eyJMYXN0SUQiOiIxYTYyYjQ0Ni01ZDM0LTRiYTQtOGRlZS02NTM5NTU0NjY2MTQifQ=="', b'""'
    )
    rotating = last_page.replace(
        b'"updated_at":"2024-01-02T15:00:00.000000Z"',
        b'"updated_at":"2024-01-02T15:00:00.000000Z","rotate_at":"2026-04-08T12:11:10.877301Z"',
    )
    store = EnvStore()
    store.write({"current": NEW, "previous": OLD})
    source = BillingSource(store.source(), client(billing_server), endpoint_url=DOCUMENTED_URL)
    billing_server.script(Answer(200, last_page), Answer(200, rotating))
    assert source.fetch().secrets.ids == ("current",)  # no rotate_at: no rotation in progress
    secrets = source.fetch().secrets
    assert secrets.ids == ("current", "previous")
    previous = secrets.get("previous")
    assert previous is not None
    assert previous.expires_at == 1775650270.877301  # the documented rotate_at


def test_a_rotation_through_each_kind_of_store(
    billing_server: ApiServer[BillingApi], store: Store
) -> None:
    api = billing_server.api
    for n in range(3):  # the endpoint sits on the second page
        api.add_endpoint(f"https://other.example/{n}")
    endpoint = api.add_endpoint(URL, OLD)
    store.write({"current": OLD})
    mono = ManualClock()
    source = BillingSource(store.source(), client(billing_server), endpoint_id=endpoint)
    with keyring_over(source, mono) as keyring:
        keyring.start(timeout=10)
        body, headers = signed_by(OLD)
        assert verify(body, headers, keyring).secret_id == "current"

        # the operator stores the new secret next to the old one, and starts the rotation
        rotate_at = time.time() + 3600
        store.write({"current": NEW, "previous": OLD})
        api.start_rotation(endpoint, NEW, rotate_at)
        secrets = after_next_refresh(keyring, mono, lambda s: len(s) == 2)
        previous = secrets.get("previous")
        assert previous is not None
        assert previous.expires_at == pytest.approx(rotate_at, abs=1e-3)
        for value, secret_id in ((api.signing_value(endpoint), "current"), (OLD, "previous")):
            body, headers = signed_by(value)
            assert verify(body, headers, keyring).secret_id == secret_id
        # after rotate_at (plus leeway) the previous secret never verifies, whatever the set
        body, headers = signed_by(OLD)
        with pytest.raises(SignatureMismatch):
            verify(body, headers, keyring, now=rotate_at + 61)
        assert verify(*signed_by(NEW), keyring, now=rotate_at + 61).secret_id == "current"


def test_no_rotation_in_progress_keeps_only_the_current_secret(
    billing_server: ApiServer[BillingApi],
) -> None:
    api = billing_server.api
    endpoint = api.add_endpoint(URL, NEW)
    store = EnvStore()
    store.write({"current": NEW, "previous": OLD, "unrelated": "x" * 20})
    mono = ManualClock()
    source = BillingSource(store.source(), client(billing_server), endpoint_url=URL)
    with keyring_over(source, mono) as keyring:
        keyring.start(timeout=10)
        assert keyring.secret_set().ids == ("current",)
        with pytest.raises(SignatureMismatch):
            verify(*signed_by(OLD), keyring)
        # a rotation whose rotate_at has passed is over: the listing no longer carries it
        api.start_rotation(endpoint, "billing-third-secret-00000000000", time.time() - 1)
        after_next_refresh(keyring, mono, lambda s: keyring.stats().fetches >= 2)
        assert keyring.secret_set().ids == ("current",)


def test_the_current_secret_must_be_in_the_store(billing_server: ApiServer[BillingApi]) -> None:
    billing_server.api.add_endpoint(URL)
    store = EnvStore()
    store.write({"previous": OLD})
    source = BillingSource(store.source(), client(billing_server), endpoint_url=URL)
    with pytest.raises(
        SourceError,
        match="says secret 'current' is in use, and env:WEBHOOK_SECRETS does not hold it",
    ):
        source.fetch()


def test_custom_ids_for_current_and_previous(billing_server: ApiServer[BillingApi]) -> None:
    endpoint = billing_server.api.add_endpoint(URL, NEW)
    billing_server.api.start_rotation(endpoint, NEW, time.time() + 600)
    store = EnvStore()
    store.write({"k2": NEW, "k1": OLD})
    source = BillingSource(
        store.source(),
        client(billing_server),
        endpoint_id=endpoint,
        current_id="k2",
        previous_id="k1",
    )
    assert source.fetch().secrets.ids == ("k2", "k1")


def test_provider_errors_are_clear_source_errors(billing_server: ApiServer[BillingApi]) -> None:
    billing_server.api.add_endpoint(URL)
    store = EnvStore()
    store.write({"current": NEW})
    cases = [
        (client(billing_server, "wrong-token"), "HTTP 401: UNAUTHENTICATED"),
        (client(billing_server, BILLING_TOKEN_NO_RIGHTS), "HTTP 403: PERMISSION_DENIED"),
        (BillingClient(billing_server.base_url, token=BILLING_TOKEN, page_size=1000), "VALIDATION"),
    ]
    for billing, complaint in cases:
        source = BillingSource(store.source(), billing, endpoint_url=URL)
        with pytest.raises(BillingError, match=complaint) as caught:
            source.fetch()
        assert isinstance(caught.value, SourceError)
        assert BILLING_TOKEN not in str(caught.value)
    missing = BillingSource(store.source(), client(billing_server), endpoint_url=URL + "/nope")
    with pytest.raises(NotListed, match="no webhook endpoint with url"):
        missing.fetch()


async def test_async_fetch(billing_server: ApiServer[BillingApi]) -> None:
    endpoint = billing_server.api.add_endpoint(URL, NEW)
    billing_server.api.start_rotation(endpoint, NEW, time.time() + 600)
    store = EnvStore()
    store.write({"current": NEW, "previous": OLD})
    source = BillingSource(store.source(), client(billing_server), endpoint_url=URL)
    assert (await source.afetch()).secrets.ids == ("current", "previous")


def test_configuration_mistakes(billing_server: ApiServer[BillingApi]) -> None:
    store = EnvStore().source()
    billing = client(billing_server)
    with pytest.raises(ConfigurationError, match="exactly one of endpoint_id= or endpoint_url="):
        BillingSource(store, billing)
    with pytest.raises(ConfigurationError, match="exactly one"):
        BillingSource(store, billing, endpoint_id="wep_1", endpoint_url=URL)
    with pytest.raises(ConfigurationError, match="two different ids"):
        BillingSource(store, billing, endpoint_id="wep_1", current_id="k", previous_id="k")
    with pytest.raises(ConfigurationError, match="BillingClient"):
        BillingSource(store, "https://billing.example", endpoint_id="wep_1")  # type: ignore[arg-type]
