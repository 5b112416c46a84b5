"""RetailSource end to end: a real Keyring over the imitated retail API (seed page
retail-get-webhook-signatures.txt), several active keys verifying at once."""

from __future__ import annotations

import logging

import pytest

from _provider_apis import Answer, ApiServer, example
from _provider_apis.fixtures import CHAIN_ID, RETAIL_SESSION_KEY, RETAIL_USER
from _provider_apis.keyrings import aafter_next_refresh, after_next_refresh, keyring_over
from _provider_apis.retail import RetailApi
from hookseal import SignatureMismatch, verify
from hookseal.errors import ConfigurationError
from hookseal.providers import RetailClient, RetailError, SpaazaSession
from hookseal.sources import RetailSource, SourceError
from hookseal.testing import ManualClock, signed_request

KEY_A = "0123456789abcdef0123456789abcdef"
KEY_B = "fedcba9876543210fedcba9876543210"
KEY_OFF = "00000000000000000000000000000000"
KEY_GONE = "11111111111111111111111111111111"


def source(server: ApiServer[RetailApi], key: str = RETAIL_SESSION_KEY) -> RetailSource:
    client = RetailClient(server.base_url, session=SpaazaSession(RETAIL_USER, key))
    return RetailSource(client, CHAIN_ID)


def signed_by(value: str) -> tuple[bytes, dict[str, str]]:
    return signed_request({"event": "basket.created"}, value)


@pytest.fixture
def keys(retail_server: ApiServer[RetailApi]) -> dict[str, int]:
    api = retail_server.api
    ids = {v: api.add_key(CHAIN_ID, v) for v in (KEY_A, KEY_B, KEY_OFF, KEY_GONE)}
    api.set_active(ids[KEY_OFF], False)
    api.delete_key(ids[KEY_GONE])
    return ids


def test_the_documented_example_feeds_the_source(retail_server: ApiServer[RetailApi]) -> None:
    retail_server.script(Answer(200, example("retail-get-webhook-signatures.200.json")))
    fetched = source(retail_server).fetch()
    assert fetched.secrets.ids == ("56", "57")
    assert fetched.ttl is None
    request = retail_server.received[-1]
    assert request.query["exclude_inactive"] == ["true"]


def test_several_active_keys_verify_at_once(
    retail_server: ApiServer[RetailApi], keys: dict[str, int]
) -> None:
    mono = ManualClock()
    with keyring_over(source(retail_server), mono) as keyring:
        keyring.start(timeout=10)
        for value in (KEY_A, KEY_B):
            body, headers = signed_by(value)
            assert verify(body, headers, keyring).secret_id == str(keys[value])
        for value in (KEY_OFF, KEY_GONE):  # inactive, deleted
            body, headers = signed_by(value)
            with pytest.raises(SignatureMismatch):
                verify(body, headers, keyring)
        assert keyring.stats().matches_by_secret_id == {str(keys[KEY_A]): 1, str(keys[KEY_B]): 1}


def test_a_key_deactivated_or_deleted_at_the_provider_stops_at_the_next_refresh(
    retail_server: ApiServer[RetailApi], keys: dict[str, int]
) -> None:
    mono = ManualClock()
    api = retail_server.api
    with keyring_over(source(retail_server), mono) as keyring:
        keyring.start(timeout=10)
        api.set_active(keys[KEY_A], False)
        body, headers = signed_by(KEY_A)
        assert verify(body, headers, keyring).secret_id == str(keys[KEY_A])  # the snapshot
        after_next_refresh(keyring, mono, lambda s: str(keys[KEY_A]) not in s.ids)
        with pytest.raises(SignatureMismatch):
            verify(body, headers, keyring)
        api.delete_key(keys[KEY_B])  # deleted while still flagged active
        new = api.add_key(CHAIN_ID, "abababababababababababababababab")
        after_next_refresh(keyring, mono, lambda s: s.ids == (str(new),))
        body, headers = signed_by(KEY_B)
        with pytest.raises(SignatureMismatch):
            verify(body, headers, keyring)


def test_an_expired_session_keeps_the_last_good_set_and_says_why(
    retail_server: ApiServer[RetailApi], keys: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    mono = ManualClock()
    with keyring_over(source(retail_server), mono) as keyring:
        keyring.start(timeout=10)
        retail_server.api.add_session(RETAIL_USER, "a-new-session-key", {CHAIN_ID})  # expired
        with caplog.at_level(logging.WARNING, logger="hookseal"):
            after_next_refresh(keyring, mono, lambda s: keyring.stats().fetch_failures >= 1)
        body, headers = signed_by(KEY_A)
        assert verify(body, headers, keyring).secret_id == str(keys[KEY_A])
    assert any("no_valid_session (code 6)" in r.getMessage() for r in caplog.records)
    assert not any(RETAIL_SESSION_KEY in r.getMessage() for r in caplog.records)


def test_errors_are_source_errors_naming_code_and_name(retail_server: ApiServer[RetailApi]) -> None:
    with pytest.raises(RetailError, match=r"HTTP 401: no_valid_session \(code 6\)") as caught:
        source(retail_server, "wrong").fetch()
    assert isinstance(caught.value, SourceError)
    other = RetailSource(
        RetailClient(
            retail_server.base_url, session=SpaazaSession(RETAIL_USER, RETAIL_SESSION_KEY)
        ),
        4242,
    )
    with pytest.raises(
        RetailError, match=r"HTTP 403: permission_denied_or_non_existent \(code 68\)"
    ):
        other.fetch()


def test_no_usable_key_is_a_failure(retail_server: ApiServer[RetailApi]) -> None:
    api = retail_server.api
    api.set_active(api.add_key(CHAIN_ID), False)
    with pytest.raises(SourceError, match="no active, undeleted signature key among the 0"):
        source(retail_server).fetch()
    every = RetailSource(source(retail_server).client, CHAIN_ID, exclude_inactive=False)
    with pytest.raises(SourceError, match="among the 1 returned"):
        every.fetch()


async def test_async_keyring_over_the_source(
    retail_server: ApiServer[RetailApi], keys: dict[str, int]
) -> None:
    mono = ManualClock()
    keyring = keyring_over(source(retail_server), mono)
    try:
        await keyring.astart(timeout=10)
        body, headers = signed_by(KEY_B)
        assert verify(body, headers, await keyring.asecret_set()).secret_id == str(keys[KEY_B])
        retail_server.api.set_active(keys[KEY_B], False)
        await aafter_next_refresh(keyring, mono, lambda s: str(keys[KEY_B]) not in s.ids)
    finally:
        await keyring.aclose()


def test_configuration_mistakes(retail_server: ApiServer[RetailApi]) -> None:
    client = source(retail_server).client
    with pytest.raises(ConfigurationError, match="RetailClient"):
        RetailSource("https://api0.spaaza.com", CHAIN_ID)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="chain_id"):
        RetailSource(client, "1743")  # type: ignore[arg-type]
    assert RETAIL_SESSION_KEY not in repr(RetailSource(client, CHAIN_ID))
