"""RetailClient against the imitated retail API (seed page retail-get-webhook-signatures.txt)."""

from __future__ import annotations

import json

import pytest

from _provider_apis import Answer, ApiServer, example
from _provider_apis.fixtures import CHAIN_ID, OTHER_CHAIN_ID, RETAIL_SESSION_KEY, RETAIL_USER
from _provider_apis.retail import ERRORS, PATH, RetailApi, error_body
from hookseal.errors import ConfigurationError
from hookseal.providers import MalformedAnswer, RetailClient, RetailError, SpaazaSession
from hookseal.sources import SourceError

DOCUMENTED = example("retail-get-webhook-signatures.200.json")


def client(server: ApiServer[RetailApi], key: str = RETAIL_SESSION_KEY) -> RetailClient:
    return RetailClient(server.base_url, session=SpaazaSession(RETAIL_USER, key))


def test_the_documented_example_answer_byte_for_byte(retail_server: ApiServer[RetailApi]) -> None:
    # retail-get-webhook-signatures.txt, "Example response JSON", as published
    retail_server.script(Answer(200, DOCUMENTED))
    keys = client(retail_server).get_webhook_signatures(CHAIN_ID)
    assert [k.id for k in keys] == [56, 57]
    assert [k.secret.id for k in keys] == ["56", "57"]
    assert keys[0].secret.reveal() == b"a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
    assert keys[1].secret.reveal() == b"f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6"
    assert all(k.active and not k.deleted and k.usable for k in keys)
    assert keys[0].chain_id == CHAIN_ID
    assert keys[0].chain_name == "ACME Retail"
    assert keys[0].created_date == 1781949300.0  # 2026-06-20T09:55:00+00:00
    assert keys[1].last_modified_date == 1782300000.0  # 2026-06-24T11:20:00+00:00


def test_request_path_params_and_session_headers(retail_server: ApiServer[RetailApi]) -> None:
    retail_server.api.add_key(CHAIN_ID)
    client(retail_server).get_webhook_signatures(CHAIN_ID, exclude_inactive=True)
    (request,) = retail_server.received
    assert request.method == "GET"
    assert request.path == "/internal/get-webhook-signatures" == PATH
    assert request.query == {"chain_id": ["1743"], "exclude_inactive": ["true"]}
    assert request.headers["x-spaaza-session-user-id"] == RETAIL_USER
    assert request.headers["x-spaaza-session-key"] == RETAIL_SESSION_KEY


def test_optional_session_headers_and_custom_headers(retail_server: ApiServer[RetailApi]) -> None:
    session = SpaazaSession(
        RETAIL_USER, RETAIL_SESSION_KEY, app_hostname="shop.example", api_version="1.6.1"
    )
    retail_server.api.add_key(CHAIN_ID)
    RetailClient(retail_server.base_url, session=session).get_webhook_signatures(CHAIN_ID)
    headers = retail_server.received[-1].headers
    assert headers["x-spaaza-myprice-app-hostname"] == "shop.example"
    assert headers["x-spaaza-api-version"] == "1.6.1"
    # other header names (the older session-user-id/session-key spelling): headers=
    legacy = RetailClient(
        retail_server.base_url, headers={"session-key": "x", "session-user-id": "1"}
    )
    with pytest.raises(RetailError, match="no_valid_session"):
        legacy.get_webhook_signatures(CHAIN_ID)
    assert retail_server.received[-1].headers["session-key"] == "x"


def test_inactive_and_deleted_keys_are_reported_as_such(
    retail_server: ApiServer[RetailApi],
) -> None:
    api = retail_server.api
    live, off, gone = api.add_key(CHAIN_ID), api.add_key(CHAIN_ID), api.add_key(CHAIN_ID)
    api.set_active(off, False)
    api.delete_key(gone)
    everything = client(retail_server).get_webhook_signatures(CHAIN_ID)
    assert [(k.id, k.active, k.deleted, k.usable) for k in everything] == [
        (live, True, False, True),
        (off, False, False, False),
        (gone, True, True, False),
    ]
    active = client(retail_server).get_webhook_signatures(CHAIN_ID, exclude_inactive=True)
    assert [k.id for k in active] == [live, gone]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("no_valid_session", {"key": "wrong-session-key"}),
        ("permission_denied_or_non_existent", {"chain": OTHER_CHAIN_ID}),
        ("permission_denied_or_non_existent", {"chain": 999}),
    ],
)
def test_documented_errors_name_code_and_name(
    retail_server: ApiServer[RetailApi], name: str, kwargs: dict[str, object]
) -> None:
    key = str(kwargs.get("key", RETAIL_SESSION_KEY))
    chain = kwargs.get("chain", CHAIN_ID)
    assert isinstance(chain, int)
    with pytest.raises(RetailError) as caught:
        client(retail_server, key).get_webhook_signatures(chain)
    code, status, description = ERRORS[name]
    error = caught.value
    assert isinstance(error, SourceError)
    assert (error.status, error.code, error.name, error.description) == (
        status,
        code,
        name,
        description,
    )
    assert f"HTTP {status}: {name} (code {code}): {description}" in str(error)
    assert not error.retryable


@pytest.mark.parametrize("name", ["http_vars_missing", "chain_id_invalid"])
def test_the_imitation_checks_chain_id(retail_server: ApiServer[RetailApi], name: str) -> None:
    import httpx

    query = "" if name == "http_vars_missing" else "?chain_id=abc"
    answer = httpx.get(
        retail_server.base_url + PATH + query,
        headers={
            "X-Spaaza-Session-User-Id": RETAIL_USER,
            "X-Spaaza-Session-Key": RETAIL_SESSION_KEY,
        },
    )
    code, status, _ = ERRORS[name]
    assert answer.status_code == status
    assert answer.json()["error"] == {"code": code, "name": name, "description": ERRORS[name][2]}
    # and the client reads that envelope the same way
    retail_server.script(Answer(status, error_body(name)))
    with pytest.raises(RetailError, match=f"{name} \\(code {code}\\)"):
        client(retail_server).get_webhook_signatures(CHAIN_ID)


def test_an_error_envelope_with_status_200_is_an_error(retail_server: ApiServer[RetailApi]) -> None:
    retail_server.script(Answer(200, error_body("no_valid_session")))
    with pytest.raises(RetailError, match="HTTP 200: no_valid_session"):
        client(retail_server).get_webhook_signatures(CHAIN_ID)


def test_the_older_errors_list_and_bodyless_statuses(retail_server: ApiServer[RetailApi]) -> None:
    legacy = {
        "result": {"code": 2, "status": "error"},
        "errors": [{"code": 6, "name": "no_valid_session", "description": "expired"}],
    }
    retail_server.script(
        Answer(401, json.dumps(legacy).encode()),
        Answer(502, b"<html>bad gateway</html>", content_type="text/html"),
    )
    with pytest.raises(RetailError, match="no_valid_session \\(code 6\\): expired"):
        client(retail_server).get_webhook_signatures(CHAIN_ID)
    with pytest.raises(RetailError, match="HTTP 502: no error envelope") as caught:
        client(retail_server).get_webhook_signatures(CHAIN_ID)
    assert caught.value.retryable


def _documented_with(change: str, replacement: str) -> bytes:
    text = DOCUMENTED.decode()
    assert change in text
    return text.replace(change, replacement, 1).encode()


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"not json", "not JSON"),
        (b"[]", "the answer is not an object"),
        (b'{"result": {"code": 1, "status": "ok"}}', "results is not an object"),
        (
            b'{"result": {"code": 1, "status": "ok"}, "results": {}}',
            "webhook_signatures is missing",
        ),
        (b'{"results": {"webhook_signatures": []}}', "result is not an object"),
        (b'{"result": {"status": "maybe"}, "results": {"webhook_signatures": []}}', "neither"),
        (
            _documented_with('"id": 56', '"id": "56"'),
            r"webhook_signatures\[0\]\.id is not an integer",
        ),
        (_documented_with('"id": 56', '"id": true'), "is not an integer"),
        (_documented_with('"id": 57', '"id": 56'), "same id twice"),
        (_documented_with('"active": true', '"active": "yes"'), "active is not a boolean"),
        (_documented_with('"deleted": false,\n"id": 56', '"id": 56'), "deleted is missing"),
        (_documented_with('"value": "a1b2', '"value": 5, "x": "'), "value is not a string"),
        (
            _documented_with('"value": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"', '"value": ""'),
            "value is empty",
        ),
        (
            _documented_with(
                '"created_date": "2026-06-20T09:55:00+00:00"', '"created_date": "soon"'
            ),
            "created_date: not an ISO-8601 time",
        ),
        (
            _documented_with(
                '"created_date": "2026-06-20T09:55:00+00:00"',
                '"created_date": "2026-06-20T09:55:00"',
            ),
            "needs a timezone",
        ),
        (_documented_with('"id": 1743', '"id": 1744'), "belong to another chain"),
        (_documented_with('"get-webhook-signatures"', '"get-something-else"'), "result_type"),
    ],
)
def test_malformed_answers_are_source_errors(
    retail_server: ApiServer[RetailApi], body: bytes, complaint: str
) -> None:
    retail_server.script(Answer(200, body))
    with pytest.raises(MalformedAnswer, match=complaint) as caught:
        client(retail_server).get_webhook_signatures(CHAIN_ID)
    message = str(caught.value)
    assert message.startswith("retail API (127.0.0.1): GET /internal/get-webhook-signatures:")
    assert "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6" not in message


async def test_async_calls(retail_server: ApiServer[RetailApi]) -> None:
    retail_server.script(Answer(200, DOCUMENTED))
    keys = await client(retail_server).aget_webhook_signatures(CHAIN_ID)
    assert [k.id for k in keys] == [56, 57]
    with pytest.raises(RetailError, match="no_valid_session"):
        await client(retail_server, "nope").aget_webhook_signatures(CHAIN_ID)


def test_configuration_mistakes() -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        RetailClient("https://api0.spaaza.com")
    session = SpaazaSession(1, "k")
    with pytest.raises(ConfigurationError, match="absolute http"):
        RetailClient("api0.spaaza.com", session=session)
    with pytest.raises(ConfigurationError, match="chain_id must be an integer"):
        RetailClient("https://api0.spaaza.com", session=session).get_webhook_signatures("1743")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="'X-Spaaza-Session-Key' is empty"):
        RetailClient("https://api0.spaaza.com", session=SpaazaSession(1, ""))


def test_reprs_hold_no_session_key(retail_server: ApiServer[RetailApi]) -> None:
    session = SpaazaSession(RETAIL_USER, RETAIL_SESSION_KEY)
    retail = client(retail_server)
    for text in (repr(session), str(session), repr(retail), repr(retail.http)):
        assert RETAIL_SESSION_KEY not in text
