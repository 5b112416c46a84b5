"""PaymentsSource end to end: values in each kind of user store keyed by whsec_ id, liveness from
the imitated payments API (seed pages payments-list-webhook-secrets.txt and
payments-delete-webhook-secret.txt), through a real Keyring."""

from __future__ import annotations

import pytest

from _provider_apis import Answer, ApiServer, example
from _provider_apis.fixtures import PAYMENTS_LIVE_KEY, PAYMENTS_TEST_KEY
from _provider_apis.keyrings import after_next_refresh, keyring_over
from _provider_apis.payments import PaymentsApi
from _provider_apis.stores import EnvStore, Store
from hookseal import NoActiveSecret, SignatureMismatch, verify
from hookseal.errors import ConfigurationError
from hookseal.providers import PaymentsClient, PaymentsError
from hookseal.sources import PaymentsSource, SourceError
from hookseal.testing import ManualClock, signed_request


def client(server: ApiServer[PaymentsApi], key: str = PAYMENTS_TEST_KEY) -> PaymentsClient:
    return PaymentsClient(key, base_url=server.base_url, page_limit=2)


def signed_by(value: str) -> tuple[bytes, dict[str, str]]:
    return signed_request({"key": "charge.complete"}, value)


def test_the_documented_listing_feeds_the_source(payments_server: ApiServer[PaymentsApi]) -> None:
    payments_server.script(Answer(200, example("payments-list-webhook-secrets.200.json")))
    store = EnvStore()
    store.write(
        {"whsec_test_5xuy4w91xqz7d1w9u0t": "documented-secret-value", "whsec_test_old": "x"}
    )
    fetched = PaymentsSource(store.source(), client(payments_server)).fetch()
    assert fetched.secrets.ids == ("whsec_test_5xuy4w91xqz7d1w9u0t",)


def test_a_secret_deleted_at_the_provider_stops_verifying_at_the_next_refresh(
    payments_server: ApiServer[PaymentsApi], store: Store
) -> None:
    api = payments_server.api
    made = dict(api.add_secret() for _ in range(4))  # more than one page of 2
    store.write(made)
    old, *rest = made
    mono = ManualClock()
    with keyring_over(PaymentsSource(store.source(), client(payments_server)), mono) as keyring:
        keyring.start(timeout=10)
        for secret_id, value in made.items():  # verify with old and new: every one is valid
            assert verify(*signed_by(value), keyring).secret_id == secret_id
        client(payments_server).delete_webhook_secret(old)  # the last step of the rotation
        assert verify(*signed_by(made[old]), keyring).secret_id == old  # until the refresh
        after_next_refresh(keyring, mono, lambda s: old not in s.ids)
        with pytest.raises(SignatureMismatch):
            verify(*signed_by(made[old]), keyring)
        for secret_id in rest:
            assert verify(*signed_by(made[secret_id]), keyring).secret_id == secret_id


def test_livemode_separates_test_and_live(payments_server: ApiServer[PaymentsApi]) -> None:
    api = payments_server.api
    test_id, test_value = api.add_secret(livemode=False)
    live_id, live_value = api.add_secret(livemode=True)
    store = EnvStore()
    store.write({test_id: test_value, live_id: live_value})
    test_source = PaymentsSource(store.source(), client(payments_server))
    live_source = PaymentsSource(store.source(), client(payments_server, PAYMENTS_LIVE_KEY))
    assert test_source.fetch().secrets.ids == (test_id,)
    assert live_source.fetch().secrets.ids == (live_id,)
    assert (test_source.name, live_source.name) == (
        "payments:127.0.0.1:test+env:WEBHOOK_SECRETS",
        "payments:127.0.0.1:live+env:WEBHOOK_SECRETS",
    )
    # a live key asked for test secrets lists none of them: the mode is the key's
    mismatched = PaymentsSource(
        store.source(), client(payments_server, PAYMENTS_LIVE_KEY), livemode=False
    )
    with pytest.raises(SourceError, match="no secret is both in use"):
        mismatched.fetch()


def test_newest_secret_first(payments_server: ApiServer[PaymentsApi]) -> None:
    store = EnvStore()
    made = dict(payments_server.api.add_secret() for _ in range(3))
    store.write(made)
    assert PaymentsSource(store.source(), client(payments_server)).fetch().secrets.ids == tuple(
        reversed(made)
    )


def test_deleting_the_only_secret(payments_server: ApiServer[PaymentsApi]) -> None:
    # "If this was your only secret, webhook verification will fail until you create a new one"
    api = payments_server.api
    only, value = api.add_secret()
    store = EnvStore()
    store.write({only: value})
    source = PaymentsSource(store.source(), client(payments_server))
    assert source.fetch().secrets.ids == (only,)
    client(payments_server).delete_webhook_secret(only)
    with pytest.raises(
        SourceError, match=r"no secret is both in use at payments:127.0.0.1:test \(0 listed\)"
    ):
        source.fetch()

    # told that empty is a real answer, source and keyring refuse every delivery with 503
    mono = ManualClock()
    allowed = PaymentsSource(store.source(), client(payments_server), allow_empty=True)
    with keyring_over(allowed, mono, allow_empty=True) as keyring:
        keyring.start(timeout=10)
        with pytest.raises(NoActiveSecret) as caught:
            verify(*signed_by(value), keyring)
        assert caught.value.status == 503
        created = client(payments_server).create_webhook_secret()  # "until you create a new one"
        store.write({created.id: created.secret.reveal().decode()})
        after_next_refresh(keyring, mono, lambda s: s.ids == (created.id,))
        assert verify(*signed_by(created.secret.reveal().decode()), keyring).secret_id == created.id


def test_a_listed_secret_not_yet_stored_is_skipped(
    payments_server: ApiServer[PaymentsApi], caplog: pytest.LogCaptureFixture
) -> None:
    api = payments_server.api
    stored_id, stored_value = api.add_secret()
    fresh, fresh_value = api.add_secret()  # created in the dashboard, not stored yet
    store = EnvStore()
    store.write({stored_id: stored_value})
    assert PaymentsSource(store.source(), client(payments_server)).fetch().secrets.ids == (
        stored_id,
    )
    assert any(
        fresh in r.getMessage() and "does not hold" in r.getMessage() for r in caplog.records
    )
    assert not any(fresh_value in r.getMessage() for r in caplog.records)


def test_provider_errors_are_source_errors(payments_server: ApiServer[PaymentsApi]) -> None:
    store = EnvStore()
    store.write({"whsec_test_a": "v"})
    source = PaymentsSource(store.source(), client(payments_server, "skey_test_revoked"))
    with pytest.raises(PaymentsError, match="HTTP 401: authentication_failure") as caught:
        source.fetch()
    assert isinstance(caught.value, SourceError)
    assert "skey_test_revoked" not in str(caught.value)


async def test_async_fetch(payments_server: ApiServer[PaymentsApi]) -> None:
    made = dict(payments_server.api.add_secret() for _ in range(3))
    store = EnvStore()
    store.write(made)
    source = PaymentsSource(store.source(), client(payments_server))
    assert set((await source.afetch()).secrets.ids) == set(made)


def test_configuration_mistakes(payments_server: ApiServer[PaymentsApi]) -> None:
    store = EnvStore().source()
    with pytest.raises(ConfigurationError, match="give livemode=True or False"):
        PaymentsSource(store, PaymentsClient("restricted_key_1", base_url=payments_server.base_url))
    assert PaymentsSource(
        store, PaymentsClient("restricted_key_1", base_url=payments_server.base_url), livemode=True
    ).listing.name.endswith(":live")
    with pytest.raises(ConfigurationError, match="PaymentsClient"):
        PaymentsSource(store, PAYMENTS_TEST_KEY)  # type: ignore[arg-type]
    source = PaymentsSource(store, client(payments_server))
    assert PAYMENTS_TEST_KEY not in repr(source) + repr(source.listing)
