"""PaymentsClient against the imitated payments API (seed pages payments-list-webhook-secrets.txt
and payments-delete-webhook-secret.txt)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from _provider_apis import Answer, ApiServer, example
from _provider_apis.fixtures import PAYMENTS_LIVE_KEY, PAYMENTS_TEST_KEY
from _provider_apis.payments import PATH, PaymentsApi
from hookseal.errors import ConfigurationError
from hookseal.providers import MalformedAnswer, PaymentsClient, PaymentsError
from hookseal.providers import _payments_create as create_adapter

DOCUMENTED_ID = "whsec_test_5xuy4w91xqz7d1w9u0t"  # the id in the pages' code samples


def client(
    server: ApiServer[PaymentsApi], key: str = PAYMENTS_TEST_KEY, page_limit: int = 100
) -> PaymentsClient:
    return PaymentsClient(key, base_url=server.base_url, page_limit=page_limit)


def test_the_documented_listing(payments_server: ApiServer[PaymentsApi]) -> None:
    payments_server.script(Answer(200, example("payments-list-webhook-secrets.200.json")))
    page = client(payments_server).list_webhook_secrets_page()
    (info,) = page.data
    assert (info.id, info.livemode, info.created_at) == (DOCUMENTED_ID, False, 1559120400.0)
    assert (page.limit, page.offset, page.total, page.order) == (20, 0, 1, "chronological")


def test_request_auth_and_pagination_parameters(payments_server: ApiServer[PaymentsApi]) -> None:
    client(payments_server).list_webhook_secrets_page(limit=20, offset=0)
    (request,) = payments_server.received
    assert (request.method, request.path) == ("GET", "/webhooks/secrets")
    assert request.query == {"limit": ["20"], "offset": ["0"], "order": ["chronological"]}
    # curl -u skey_test_5xuy4w91xqz7d1w9u0t:  (the key as user name, an empty password)
    expected = base64.b64encode(f"{PAYMENTS_TEST_KEY}:".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"


def test_every_page_is_read(payments_server: ApiServer[PaymentsApi]) -> None:
    made = [payments_server.api.add_secret()[0] for _ in range(7)]
    listed = client(payments_server, page_limit=3).list_webhook_secrets()
    assert [s.id for s in listed] == made
    offsets = [r.param("offset") for r in payments_server.requests_to(PATH)]
    assert offsets == ["0", "3", "6"]
    newest_first = client(payments_server).list_webhook_secrets(order="reverse_chronological")
    assert [s.id for s in newest_first] == made[::-1]


def test_livemode_separates_test_and_live(payments_server: ApiServer[PaymentsApi]) -> None:
    test_id, _ = payments_server.api.add_secret(livemode=False)
    live_id, _ = payments_server.api.add_secret(livemode=True)
    test_client, live_client = client(payments_server), client(payments_server, PAYMENTS_LIVE_KEY)
    assert (test_client.livemode, live_client.livemode) == (False, True)
    assert [(s.id, s.livemode) for s in test_client.list_webhook_secrets()] == [(test_id, False)]
    assert [(s.id, s.livemode) for s in live_client.list_webhook_secrets()] == [(live_id, True)]
    assert test_id.startswith("whsec_test_")
    assert live_id.startswith("whsec_")


def test_delete_is_irreversible(payments_server: ApiServer[PaymentsApi]) -> None:
    payments = client(payments_server)
    keep, _ = payments_server.api.add_secret()
    gone, _ = payments_server.api.add_secret()
    deleted = payments.delete_webhook_secret(gone)
    assert deleted is not None
    assert (deleted.id, deleted.deleted, deleted.livemode) == (gone, True, False)
    assert [s.id for s in payments.list_webhook_secrets()] == [keep]
    with pytest.raises(PaymentsError) as caught:
        payments.delete_webhook_secret(gone)
    assert (caught.value.status, caught.value.code) == (404, "not_found")
    assert "has already been deleted" not in str(caught.value)  # the provider's words, not ours
    assert "no such secret on this account" in str(caught.value)
    assert payments.delete_webhook_secret(gone, missing_ok=True) is None  # a resumed rotation


def test_deleting_the_only_secret_leaves_an_empty_listing(
    payments_server: ApiServer[PaymentsApi],
) -> None:
    # "If this was your only secret, webhook verification will fail until you create a new one"
    only, _ = payments_server.api.add_secret()
    payments = client(payments_server)
    payments.delete_webhook_secret(only)
    assert payments.list_webhook_secrets() == []
    created = payments.create_webhook_secret()
    assert [s.id for s in payments.list_webhook_secrets()] == [created.id]


def test_the_documented_deletion_answer(payments_server: ApiServer[PaymentsApi]) -> None:
    payments_server.script(Answer(200, example("payments-delete-webhook-secret.200.json")))
    deleted = client(payments_server).delete_webhook_secret(DOCUMENTED_ID)
    assert deleted is not None
    assert (deleted.id, deleted.deleted, deleted.livemode) == (DOCUMENTED_ID, True, False)
    (request,) = payments_server.received
    assert (request.method, request.path) == ("DELETE", f"/webhooks/secrets/{DOCUMENTED_ID}")
    payments_server.script(Answer(404, example("payments-delete-webhook-secret.404.json")))
    with pytest.raises(
        PaymentsError,
        match="HTTP 404: not_found: webhook secret whsec_test_5xuy4w91xqz7d1w9u0t was not found",
    ) as caught:
        client(payments_server).delete_webhook_secret(DOCUMENTED_ID)
    assert caught.value.location == "https://www.omise.co/api-errors#not-found"


def test_a_deletion_answer_that_confirms_nothing_is_refused(
    payments_server: ApiServer[PaymentsApi],
) -> None:
    payments_server.script(
        Answer(
            200,
            json.dumps(
                {
                    "object": "webhook_secret",
                    "id": "whsec_other",
                    "deleted": True,
                    "livemode": False,
                }
            ).encode(),
        ),
        Answer(
            200,
            json.dumps(
                {
                    "object": "webhook_secret",
                    "id": DOCUMENTED_ID,
                    "deleted": False,
                    "livemode": False,
                }
            ).encode(),
        ),
    )
    for _ in range(2):
        with pytest.raises(MalformedAnswer, match="does not confirm the deletion"):
            client(payments_server).delete_webhook_secret(DOCUMENTED_ID)


def test_create_follows_the_documented_conventions(payments_server: ApiServer[PaymentsApi]) -> None:
    created = client(payments_server).create_webhook_secret()
    (request,) = payments_server.received
    assert (request.method, request.path) == (create_adapter.METHOD, create_adapter.PATH)
    assert created.id.startswith("whsec_test_")
    assert created.secret.id == created.id
    assert created.livemode is False
    assert created.created_at is not None
    assert payments_server.api.signing_values() == [created.secret.reveal().decode()]
    assert created.secret.reveal().decode() not in repr(created)


def test_a_created_secret_is_kept_even_without_its_metadata(
    payments_server: ApiServer[PaymentsApi],
) -> None:
    payments_server.script(
        Answer(200, b'{"object": "webhook_secret", "id": "whsec_test_1", "secret": "v"}')
    )
    created = client(payments_server).create_webhook_secret()
    assert (created.id, created.secret.reveal(), created.livemode, created.created_at) == (
        "whsec_test_1",
        b"v",
        None,
        None,
    )
    payments_server.script(Answer(200, b'{"object": "webhook_secret", "id": "whsec_test_1"}'))
    with pytest.raises(MalformedAnswer, match="secret is missing"):
        client(payments_server).create_webhook_secret()


def test_authentication_failures(payments_server: ApiServer[PaymentsApi]) -> None:
    for key in ("skey_test_unknown", "skey_unknown"):
        with pytest.raises(PaymentsError) as caught:
            client(payments_server, key).list_webhook_secrets()
        assert (caught.value.status, caught.value.code) == (401, "authentication_failure")
        assert "authentication failed: check the secret key" in str(caught.value)
    payments_server.script(Answer(401, example("payments-list-webhook-secrets.401.json")))
    with pytest.raises(PaymentsError, match="authentication_failure: authentication failed"):
        client(payments_server).list_webhook_secrets()
    no_auth = httpx.get(payments_server.base_url + PATH)
    assert no_auth.status_code == 401
    assert no_auth.json()["code"] == "authentication_failure"
    with pytest.raises(ConfigurationError, match="public key"):
        PaymentsClient("pkey_test_5xuy4w91xqz7d1w9u0t", base_url=payments_server.base_url)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=101", "invalid_parameters"),
        ("limit=0", "invalid_parameters"),
        ("offset=-1", "invalid_parameters"),
        ("order=sideways", "bad_request"),
    ],
)
def test_the_imitation_validates_pagination(
    payments_server: ApiServer[PaymentsApi], query: str, code: str
) -> None:
    answer = httpx.get(f"{payments_server.base_url}{PATH}?{query}", auth=(PAYMENTS_TEST_KEY, ""))
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert answer.json()["object"] == "error"


def test_the_imitation_checks_the_id_format(payments_server: ApiServer[PaymentsApi]) -> None:
    answer = httpx.delete(f"{payments_server.base_url}{PATH}/wh_1", auth=(PAYMENTS_TEST_KEY, ""))
    assert answer.status_code == 400
    assert answer.json()["code"] == "bad_request"
    with pytest.raises(ConfigurationError, match="starts with whsec_"):
        client(payments_server).delete_webhook_secret("wh_1")
    with pytest.raises(ConfigurationError, match="starts with whsec_"):
        client(payments_server).delete_webhook_secret("whsec_../../charges")


def test_client_side_limits() -> None:
    for bad in (0, 101, True):
        with pytest.raises(ConfigurationError, match="from 1 to 100"):
            PaymentsClient(PAYMENTS_TEST_KEY, page_limit=bad)
        with pytest.raises(ConfigurationError, match="from 1 to 100"):
            PaymentsClient(PAYMENTS_TEST_KEY).list_webhook_secrets_page(limit=bad)
    with pytest.raises(ConfigurationError, match="order"):
        PaymentsClient(PAYMENTS_TEST_KEY).list_webhook_secrets(order="random")


def _listing(
    ids: list[str], *, offset: int = 0, total: int | None = None, limit: int = 100
) -> Answer:
    data = [
        {
            "object": "webhook_secret",
            "id": i,
            "livemode": False,
            "created_at": "2019-05-29T09:00:00Z",
        }
        for i in ids
    ]
    document = {
        "object": "list",
        "data": data,
        "limit": limit,
        "offset": offset,
        "total": len(ids) + offset if total is None else total,
        "order": "chronological",
    }
    return Answer(200, json.dumps(document).encode())


def test_a_listing_that_changes_between_pages_is_read_again(
    payments_server: ApiServer[PaymentsApi],
) -> None:
    payments_server.script(
        _listing(["whsec_a", "whsec_b"], total=4, limit=2),
        _listing(["whsec_d"], offset=2, total=3, limit=2),  # whsec_b... deleted meanwhile
        _listing(["whsec_a", "whsec_c"], total=3, limit=2),
        _listing(["whsec_d"], offset=2, total=3, limit=2),
    )
    listed = client(payments_server, page_limit=2).list_webhook_secrets()
    assert [s.id for s in listed] == ["whsec_a", "whsec_c", "whsec_d"]
    assert len(payments_server.received) == 4


def test_a_listing_that_never_settles_is_an_error(payments_server: ApiServer[PaymentsApi]) -> None:
    payments_server.script(*(_listing(["whsec_a", "whsec_a"], total=2) for _ in range(3)))
    with pytest.raises(MalformedAnswer, match="changed while it was read, 3 times in a row"):
        client(payments_server).list_webhook_secrets()
    assert len(payments_server.received) == 3


def test_huge_listings_and_pages_are_refused(payments_server: ApiServer[PaymentsApi]) -> None:
    payments_server.script(_listing(["whsec_a"], total=10_001))
    with pytest.raises(MalformedAnswer, match="total is 10001, more than max_items=10000"):
        client(payments_server).list_webhook_secrets()
    payments_server.script(_listing([f"whsec_{n}" for n in range(4)], limit=3))
    with pytest.raises(MalformedAnswer, match="a page holds 4 secrets, more than the 3 asked"):
        client(payments_server, page_limit=3).list_webhook_secrets()
    payments_server.script(_listing(["whsec_a"], offset=5))
    with pytest.raises(MalformedAnswer, match="offset is 5, not the 0 asked"):
        client(payments_server).list_webhook_secrets()


def test_an_offset_that_stops_moving_ends_the_listing(
    payments_server: ApiServer[PaymentsApi],
) -> None:
    # a total larger than what the pages hold: an empty page ends the pass, the count is off
    payments_server.script(
        *(
            a
            for _ in range(3)
            for a in (_listing(["whsec_a"], total=5), _listing([], offset=1, total=5))
        )
    )
    with pytest.raises(MalformedAnswer, match="changed while it was read"):
        client(payments_server).list_webhook_secrets()
    assert len(payments_server.received) == 6


def _empty_list(**changes: object) -> Answer:
    document = {"object": "list", "data": [], "limit": 20, "offset": 0, "total": 0}
    document.update({"order": "chronological", **changes})
    return Answer(200, json.dumps(document).encode())


def _secret_item(**changes: object) -> Answer:
    item: dict[str, object] = {
        "object": "webhook_secret",
        "id": "whsec_a",
        "livemode": False,
        "created_at": "2019-05-29T09:00:00Z",
    }
    item.update(changes)
    item = {k: v for k, v in item.items() if v is not None}
    document = {
        "object": "list",
        "data": [item],
        "limit": 20,
        "offset": 0,
        "total": 1,
        "order": "chronological",
    }
    return Answer(200, json.dumps(document).encode())


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        (Answer(200, b"[]"), "the answer is not an object"),
        (Answer(200, b'{"object": "error"}'), "'object' is not 'list'"),
        (Answer(200, b'{"object": "list", "data": {}}'), "data is missing or not a list"),
        (_empty_list(total="1"), "total is not an integer"),
        (_empty_list(total=-1), "total is below 0"),
        (_empty_list(order="up"), "order is neither"),
        (_secret_item(object="card"), r"data\[0\]: 'object' is not 'webhook_secret'"),
        (_secret_item(id="sec_1"), r"data\[0\]\.id is not a whsec_ id"),
        (_secret_item(id=7), r"data\[0\]\.id is not a string"),
        (_secret_item(livemode="false"), "livemode is not a boolean"),
        (_secret_item(created_at=None), "created_at is missing"),
        (_secret_item(created_at="yesterday"), "created_at: not an ISO-8601 time"),
    ],
)
def test_malformed_answers_are_source_errors(
    payments_server: ApiServer[PaymentsApi], answer: Answer, complaint: str
) -> None:
    payments_server.script(answer)
    with pytest.raises(MalformedAnswer, match=complaint):
        client(payments_server).list_webhook_secrets()


async def test_async_calls(payments_server: ApiServer[PaymentsApi]) -> None:
    payments = client(payments_server, page_limit=2)
    made = [payments_server.api.add_secret()[0] for _ in range(3)]
    assert [s.id for s in await payments.alist_webhook_secrets()] == made
    page = await payments.alist_webhook_secrets_page(limit=1, offset=2)
    assert [s.id for s in page.data] == made[2:]
    deleted = await payments.adelete_webhook_secret(made[0])
    assert deleted is not None
    created = await payments.acreate_webhook_secret()
    assert [s.id for s in await payments.alist_webhook_secrets()] == [*made[1:], created.id]


def test_reprs_hold_no_key(payments_server: ApiServer[PaymentsApi]) -> None:
    payments = client(payments_server)
    assert PAYMENTS_TEST_KEY not in repr(payments) + repr(payments.http)
    encoded = base64.b64encode(f"{PAYMENTS_TEST_KEY}:".encode()).decode()
    assert encoded not in repr(payments) + repr(payments.http)
