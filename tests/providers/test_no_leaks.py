"""No secret value, credential or token in any error, log line or repr, even when a provider
echoes them back in its error bodies or sends them in a malformed answer."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator

import pytest

from _provider_apis import Answer, ApiServer, Received, serving
from _provider_apis.keyrings import after_next_refresh, keyring_over
from _provider_apis.stores import EnvStore
from hookseal import NoActiveSecret
from hookseal.providers import (
    BillingClient,
    IntegratorClient,
    PaymentsClient,
    ProviderError,
    RetailClient,
    SpaazaSession,
)
from hookseal.sources import BillingSource, PaymentsSource, RetailSource
from hookseal.testing import ManualClock

SESSION_KEY = "leak-session-key-7f3a9"
TOKEN = "leak-bearer-token-c41d2"
SECRET_KEY = "skey_test_leakleakleak"
SECRET_VALUE = "leak-secret-value-5e8b0"
STORED = "leak-stored-value-91ac7"
EVERYTHING = (SESSION_KEY, TOKEN, SECRET_KEY, SECRET_VALUE, STORED)


class Parrot:
    """An API that answers every request with an error body quoting everything it was sent
    (every header, the body, the query) in every text field a provider's error can have."""

    def __init__(self) -> None:
        self.status = 400

    def route(self, request: Received) -> Answer:
        sent = [*request.headers.values(), request.body.decode(), json.dumps(request.query)]
        echo = "you sent: " + " ".join(sent)
        body = {
            "result": {"code": 2, "status": "error"},
            "error": {"code": 6, "name": echo, "description": echo},
            "code": echo,
            "message": echo,
            "location": echo,
            "context": {"constraints": {echo: {"type": echo, "message": echo}}},
            "object": "error",
            "type": echo,
            "title": echo,
            "detail": echo,
            "instance": echo,
            "realm": echo,
            "scope": echo,
            "resourceType": echo,
            "resourceId": echo,
        }
        return Answer(self.status, json.dumps(body).encode())


@pytest.fixture
def parrot() -> Iterator[ApiServer[Parrot]]:
    with serving(Parrot()) as server:
        yield server


def texts_of(error: BaseException) -> list[str]:
    found = [str(error), repr(error), *(str(a) for a in error.args)]
    for value in vars(error).values():
        found.append(repr(value))
    return found


def calls(url: str) -> list[tuple[str, Callable[[], object]]]:
    retail = RetailClient(url, session=SpaazaSession("1", SESSION_KEY))
    billing = BillingClient(url, token=TOKEN)
    payments = PaymentsClient(SECRET_KEY, base_url=url)
    integrator = IntegratorClient(url, token=TOKEN)
    return [
        ("retail", lambda: retail.get_webhook_signatures(1743)),
        ("billing", billing.list_webhooks),
        ("payments list", payments.list_webhook_secrets),
        ("payments delete", lambda: payments.delete_webhook_secret("whsec_test_1")),
        ("payments create", payments.create_webhook_secret),
        ("integrator", lambda: integrator.set_webhook_secret(SECRET_VALUE)),
    ]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 500])
def test_echoed_secrets_never_reach_an_error(parrot: ApiServer[Parrot], status: int) -> None:
    parrot.api.status = status
    for name, call in calls(parrot.base_url):
        with pytest.raises(ProviderError) as caught:
            call()
        for text in texts_of(caught.value):
            for secret in EVERYTHING:
                assert secret not in text, f"{name}: {secret!r} leaked into {text!r}"
        assert "[redacted]" in str(caught.value), name


def test_a_malformed_answer_holding_values_quotes_none(parrot: ApiServer[Parrot]) -> None:
    body = json.dumps(
        {
            "result": {"code": 1, "status": "ok"},
            "results": {"webhook_signatures": [{"id": 1, "value": SECRET_VALUE, "active": "yes"}]},
        }
    )
    parrot.script(Answer(200, body.encode()))
    retail = RetailClient(parrot.base_url, session=SpaazaSession("1", SESSION_KEY))
    with pytest.raises(ProviderError) as caught:
        retail.get_webhook_signatures(1743)
    assert all(SECRET_VALUE not in text for text in texts_of(caught.value))


def test_keyring_logs_hold_no_secret(
    parrot: ApiServer[Parrot], caplog: pytest.LogCaptureFixture
) -> None:
    store = EnvStore()
    store.write({"current": STORED, "whsec_test_1": STORED + "x"})
    sources = [
        RetailSource(RetailClient(parrot.base_url, session=SpaazaSession("1", SESSION_KEY)), 1743),
        BillingSource(store.source(), BillingClient(parrot.base_url, token=TOKEN), endpoint_id="w"),
        PaymentsSource(store.source(), PaymentsClient(SECRET_KEY, base_url=parrot.base_url)),
    ]
    with caplog.at_level(logging.DEBUG, logger="hookseal"):
        for source in sources:
            mono = ManualClock()
            keyring = keyring_over(source, mono)
            with pytest.raises(NoActiveSecret):
                keyring.start(timeout=10)
            keyring.close()
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        for secret in EVERYTHING:
            assert secret not in text


def test_a_refreshing_keyring_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    # a working source whose provider then starts parroting: the failure is logged, safely
    parrot = Parrot()
    parrot.status = 200
    with serving(parrot) as server:
        server.script(
            Answer(
                200,
                json.dumps(
                    {
                        "result": {"code": 1, "status": "ok"},
                        "results": {
                            "webhook_signatures": [
                                {
                                    "id": 1,
                                    "value": STORED,
                                    "active": True,
                                    "deleted": False,
                                    "created_date": "2026-06-20T09:55:00+00:00",
                                    "last_modified_date": "2026-06-20T09:55:00+00:00",
                                }
                            ]
                        },
                    }
                ).encode(),
            )
        )
        parrot.status = 401
        source = RetailSource(
            RetailClient(server.base_url, session=SpaazaSession("1", SESSION_KEY)), 1743
        )
        mono = ManualClock()
        with (
            caplog.at_level(logging.DEBUG, logger="hookseal"),
            keyring_over(source, mono) as keyring,
        ):
            keyring.start(timeout=10)
            after_next_refresh(keyring, mono, lambda s: keyring.stats().fetch_failures >= 1)
    assert any("HTTP 401" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        for secret in EVERYTHING:
            assert secret not in record.getMessage() + (record.exc_text or "")


def test_reprs_of_clients_sources_and_results_hold_no_secret() -> None:
    store = EnvStore()
    store.write({"current": STORED})
    retail = RetailClient("https://r.example", session=SpaazaSession("1", SESSION_KEY))
    billing = BillingClient("https://b.example", token=TOKEN)
    payments = PaymentsClient(SECRET_KEY)
    integrator = IntegratorClient("https://i.example", token=TOKEN)
    objects: list[object] = [
        retail,
        retail.http,
        SpaazaSession("1", SESSION_KEY),
        billing,
        billing.http,
        payments,
        payments.http,
        integrator,
        integrator.http,
        RetailSource(retail, 1743),
        BillingSource(store.source(), billing, endpoint_id="w"),
        PaymentsSource(store.source(), payments),
    ]
    for thing in objects:
        for secret in EVERYTHING:
            assert secret not in repr(thing)
            assert secret not in str(thing)
