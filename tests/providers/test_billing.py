"""BillingClient against the imitated billing API (seed page billing-list-webhook-endpoints.txt)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from _provider_apis import Answer, ApiServer, example
from _provider_apis.billing import PATH, BillingApi
from _provider_apis.fixtures import BILLING_TOKEN, BILLING_TOKEN_NO_RIGHTS
from hookseal.errors import ConfigurationError
from hookseal.providers import (
    BillingClient,
    BillingError,
    Constraint,
    MalformedAnswer,
    NotListed,
)

DOCUMENTED = example("billing-list-webhook-endpoints.200.json")
DOCUMENTED_ROTATE_AT = "2026-04-08T12:11:10.877301Z"  # the page's items.rotate_at example
LAST_PAGE = DOCUMENTED.replace(
    b'"eyJMYXN0SUQiOiIxYTYyYjQ0Ni01ZDM0LTRiYTQtOGRlZS02NTM5NTU0NjY2MTQifQ=="', b'""'
)


def client(
    server: ApiServer[BillingApi],
    token: str = BILLING_TOKEN,
    page_size: int = 20,
    max_pages: int = 1000,
) -> BillingClient:
    return BillingClient(server.base_url, token=token, page_size=page_size, max_pages=max_pages)


def test_the_documented_example_answer_byte_for_byte(billing_server: ApiServer[BillingApi]) -> None:
    billing_server.script(Answer(200, DOCUMENTED))
    page = client(billing_server).list_webhooks_page()
    (endpoint,) = page.items
    assert endpoint.id == "wep_e2ab41b4-ffa6-490b-9cff-bd3288425aa0"
    assert endpoint.url == "https://mycompany.com/solidgate/webhook"
    assert endpoint.name == "Billing webhook endpoint"
    assert endpoint.description == "Receives billing events for integration"
    assert endpoint.event_types == ("INVOICE_CREATED", "CUSTOMER_UPDATED")
    assert endpoint.status == "ACTIVE"
    assert endpoint.included_channel_ids == ("12345", "67890")
    assert endpoint.excluded_channel_ids is None
    assert endpoint.created_at == 1704103200.0  # 2024-01-01T10:00:00.000000Z
    assert endpoint.rotate_at is None  # no rotation in progress
    assert page.page_size == 20
    assert (
        page.next_page_token
        == "eyJMYXN0SUQiOiIxYTYyYjQ0Ni01ZDM0LTRiYTQtOGRlZS02NTM5NTU0NjY2MTQifQ=="
    )


def test_rotate_at_as_documented(billing_server: ApiServer[BillingApi]) -> None:
    rotating = LAST_PAGE.replace(
        b'"updated_at":"2024-01-02T15:00:00.000000Z"',
        b'"updated_at":"2024-01-02T15:00:00.000000Z","rotate_at":"'
        + DOCUMENTED_ROTATE_AT.encode()
        + b'"',
    )
    billing_server.script(Answer(200, rotating))
    endpoint = client(billing_server).find_webhook(url="https://mycompany.com/solidgate/webhook")
    assert endpoint.rotate_at == 1775650270.877301


def test_request_body_and_bearer_auth(billing_server: ApiServer[BillingApi]) -> None:
    billing_server.api.add_endpoint("https://example.test/hook")
    client(billing_server).list_webhooks_page(page_size=5)
    (request,) = billing_server.received
    assert (request.method, request.path) == ("POST", "/webhooks/list")
    assert request.headers["authorization"] == f"Bearer {BILLING_TOKEN}"
    assert json.loads(request.body) == {"pagination": {"page_size": 5}}


def test_every_page_is_read_until_the_token_is_empty(billing_server: ApiServer[BillingApi]) -> None:
    ids = [billing_server.api.add_endpoint(f"https://example.test/{n}") for n in range(7)]
    listed = client(billing_server, page_size=3).list_webhooks()
    assert [e.id for e in listed] == ids
    bodies = [json.loads(r.body)["pagination"] for r in billing_server.requests_to(PATH)]
    assert len(bodies) == 3
    assert "next_page_token" not in bodies[0]
    token = bodies[1]["next_page_token"]
    assert json.loads(base64.b64decode(token)) == {"LastID": ids[2].removeprefix("wep_")}


def test_find_by_id_stops_at_its_page_and_by_url_reads_them_all(
    billing_server: ApiServer[BillingApi],
) -> None:
    ids = [billing_server.api.add_endpoint(f"https://example.test/{n}") for n in range(7)]
    assert (
        client(billing_server, page_size=3).find_webhook(id=ids[4]).url == "https://example.test/4"
    )
    assert len(billing_server.requests_to(PATH)) == 2
    assert (
        client(billing_server, page_size=3).find_webhook(url="https://example.test/1").id == ids[1]
    )
    assert len(billing_server.requests_to(PATH)) == 5


def test_missing_and_ambiguous_endpoints(billing_server: ApiServer[BillingApi]) -> None:
    first = billing_server.api.add_endpoint("https://example.test/same")
    second = billing_server.api.add_endpoint("https://example.test/same")
    with pytest.raises(NotListed, match="no webhook endpoint with id 'wep_nope' among the 2"):
        client(billing_server).find_webhook(id="wep_nope")
    with pytest.raises(NotListed, match=f"several .*\\({first}, {second}\\); choose one by id"):
        client(billing_server).find_webhook(url="https://example.test/same")


def test_documented_errors(billing_server: ApiServer[BillingApi]) -> None:
    billing_server.script(Answer(400, example("billing-list-webhook-endpoints.400.json")))
    with pytest.raises(BillingError) as caught:
        client(billing_server).list_webhooks()
    error = caught.value
    assert (error.status, error.code) == (400, "VALIDATION")
    assert error.detail == "One or more fields failed validation due to constraints"
    assert error.constraints == {
        "email": Constraint("TYPE", "The 'email' field must be a valid email address"),
        "age": Constraint("MIN", "The 'age' field must be a number greater than or equal to 18"),
    }
    assert (
        "VALIDATION: One or more fields failed validation due to constraints: email: TYPE"
        in str(error)
    )

    billing_server.script(Answer(401, example("billing-list-webhook-endpoints.401.json")))
    with pytest.raises(
        BillingError,
        match="HTTP 401: UNAUTHENTICATED: Credentials are invalid or missing: check the bearer",
    ):
        client(billing_server).list_webhooks()
    billing_server.script(Answer(403, example("billing-list-webhook-endpoints.403.json")))
    with pytest.raises(
        BillingError,
        match="HTTP 403: PERMISSION_DENIED: Permission denied: the token is not allowed",
    ):
        client(billing_server).list_webhooks()


def test_the_imitation_authenticates_and_validates(billing_server: ApiServer[BillingApi]) -> None:
    with pytest.raises(BillingError, match="UNAUTHENTICATED") as caught:
        client(billing_server, token="wrong").list_webhooks()
    assert caught.value.status == 401
    with pytest.raises(BillingError, match="PERMISSION_DENIED") as caught:
        client(billing_server, token=BILLING_TOKEN_NO_RIGHTS).list_webhooks()
    assert caught.value.status == 403
    with pytest.raises(BillingError, match=r"pagination\.page_size: MAX") as caught:
        client(billing_server, page_size=500).list_webhooks()
    assert caught.value.constraints["pagination.page_size"].type == "MAX"
    with pytest.raises(BillingError, match=r"pagination\.next_page_token: TYPE"):
        client(billing_server).list_webhooks_page(next_page_token="bm90IGEgdG9rZW4=")
    answer = httpx.post(
        billing_server.base_url + PATH,
        json={},
        headers={"Authorization": f"Bearer {BILLING_TOKEN}"},
    )
    assert answer.status_code == 400
    assert answer.json()["context"]["constraints"]["pagination"]["type"] == "REQUIRED"


def _page(items: list[dict[str, object]], token: str) -> Answer:
    return Answer(
        200,
        json.dumps(
            {"items": items, "pagination": {"page_size": len(items), "next_page_token": token}}
        ).encode(),
    )


def _item(n: int) -> dict[str, object]:
    return {
        "id": f"wep_{n}",
        "url": f"https://example.test/{n}",
        "name": "n",
        "status": "ACTIVE",
        "event_types": [],
        "created_at": "2024-01-01T10:00:00Z",
        "updated_at": "2024-01-01T10:00:00Z",
    }


def test_a_token_that_loops_is_refused(billing_server: ApiServer[BillingApi]) -> None:
    billing_server.script(_page([_item(1)], "A"), _page([_item(2)], "B"), _page([_item(3)], "A"))
    with pytest.raises(MalformedAnswer, match="repeats a token already followed"):
        client(billing_server).list_webhooks()
    assert len(billing_server.received) == 3


def test_pagination_is_bounded(billing_server: ApiServer[BillingApi]) -> None:
    billing_server.script(*(_page([_item(n)], f"t{n}") for n in range(4)))
    with pytest.raises(MalformedAnswer, match="did not end within 3 pages"):
        client(billing_server, max_pages=3).list_webhooks()
    assert len(billing_server.received) == 3


def test_a_page_larger_than_asked_is_refused(billing_server: ApiServer[BillingApi]) -> None:
    billing_server.script(_page([_item(n) for n in range(21)], ""))
    with pytest.raises(MalformedAnswer, match="a page holds 21 items, more than the 20 asked"):
        client(billing_server).list_webhooks()


def test_an_id_listed_twice_is_refused(billing_server: ApiServer[BillingApi]) -> None:
    billing_server.script(_page([_item(1)], "A"), _page([_item(1)], ""))
    with pytest.raises(MalformedAnswer, match="'wep_1' is listed twice"):
        client(billing_server).list_webhooks()


def _broken(key: str, value: object) -> Answer:
    item = _item(1)
    if value is _DROP:
        del item[key]
    else:
        item[key] = value
    return _page([item], "")


_DROP = object()


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        (Answer(200, b"{"), "not JSON"),
        (Answer(200, b'{"items": {}, "pagination": {"page_size": 0}}'), "items is not a list"),
        (Answer(200, b'{"items": []}'), "pagination is not an object"),
        (Answer(200, b'{"items": [], "pagination": {}}'), "pagination.page_size is missing"),
        (
            Answer(200, b'{"items": [], "pagination": {"page_size": "1"}}'),
            "page_size is not an integer",
        ),
        (
            Answer(200, b'{"items": [], "pagination": {"page_size": 0, "next_page_token": 7}}'),
            "next_page_token is not a string",
        ),
        (
            Answer(200, b'{"items": [7], "pagination": {"page_size": 1}}'),
            r"items\[0\] is not an object",
        ),
        (_broken("id", _DROP), r"items\[0\]\.id is missing"),
        (_broken("id", ""), r"items\[0\]\.id is empty"),
        (_broken("url", 5), "url is not a string"),
        (_broken("event_types", "INVOICE_CREATED"), "event_types is not a list of strings"),
        (_broken("created_at", 1704103200), "created_at is not an ISO-8601 time string"),
        (_broken("rotate_at", "tomorrow"), "rotate_at: not an ISO-8601 time"),
        (_broken("rotate_at", "2026-04-08T12:11:10"), "rotate_at: the time needs a timezone"),
        (_broken("included_channel_ids", [1, 2]), "included_channel_ids is not a list of strings"),
    ],
)
def test_malformed_answers_are_source_errors(
    billing_server: ApiServer[BillingApi], answer: Answer, complaint: str
) -> None:
    billing_server.script(answer)
    with pytest.raises(MalformedAnswer, match=complaint) as caught:
        client(billing_server).list_webhooks()
    assert str(caught.value).startswith("billing API (127.0.0.1): POST /webhooks/list:")


def test_an_empty_listing(billing_server: ApiServer[BillingApi]) -> None:
    assert client(billing_server).list_webhooks() == []
    billing_server.script(Answer(200, b'{"pagination": {"page_size": 0, "next_page_token": ""}}'))
    assert client(billing_server).list_webhooks() == []


async def test_async_calls(billing_server: ApiServer[BillingApi]) -> None:
    ids = [billing_server.api.add_endpoint(f"https://example.test/{n}") for n in range(5)]
    billing = client(billing_server, page_size=2)
    assert [e.id for e in await billing.alist_webhooks()] == ids
    assert (await billing.afind_webhook(id=ids[3])).url == "https://example.test/3"
    page = await billing.alist_webhooks_page(page_size=4)
    assert len(page.items) == 4
    assert page.next_page_token


def test_configuration_mistakes() -> None:
    with pytest.raises(ConfigurationError, match="token"):
        BillingClient("https://billing.example", token="")
    with pytest.raises(ConfigurationError, match="page_size"):
        BillingClient("https://billing.example", token="t", page_size=0)
    with pytest.raises(ConfigurationError, match="max_pages"):
        BillingClient("https://billing.example", token="t", max_pages=True)
    billing = BillingClient("https://billing.example", token="t")
    with pytest.raises(ConfigurationError, match="exactly one of id= or url="):
        billing.find_webhook()
    with pytest.raises(ConfigurationError, match="exactly one of id= or url="):
        billing.find_webhook(id="a", url="b")
    secretive = BillingClient("https://billing.example", token=BILLING_TOKEN)
    assert BILLING_TOKEN not in repr(secretive) + repr(secretive.http)
