"""``VerifiedWebhook.router()``: routes that verify before FastAPI reads the body (issue 10,
item 10), tested with FastAPI's own TestClient.

FastAPI parses body parameters before it runs dependencies, so with a plain
``dependencies=[Depends(verified)]`` an unsigned request with a broken body got FastAPI's 422,
a validation error about content nobody signed. On the router it gets hookseal's 401.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Form
from fastapi.testclient import TestClient
from pydantic import BaseModel

from hookseal import InMemoryReplayGuard, Verified, sign
from hookseal.integrations.fastapi import VerifiedWebhook
from hookseal.testing import forged_request, signed_request

SECRET = "router-test-secret"
JSON = {"Content-Type": "application/json"}


class Invoice(BaseModel):
    id: str
    amount: int


def build(verified: VerifiedWebhook) -> FastAPI:
    app = FastAPI()
    hooks = verified.router(prefix="/hooks")

    @hooks.post("/model")
    async def model(invoice: Invoice) -> dict[str, Any]:
        return {"id": invoice.id}

    @hooks.post("/dict")
    async def plain(payload: dict[str, Any], event: Verified = Depends(verified)) -> dict[str, Any]:  # noqa: B008
        return {"payload": payload, "secret": event.secret_id}

    @hooks.post("/form")
    async def form(text: str = Form(...)) -> dict[str, Any]:
        return {"text": text}

    @app.post("/plain", dependencies=[Depends(verified)])
    async def unprotected_parse(invoice: Invoice) -> dict[str, Any]:
        return {"id": invoice.id}

    app.include_router(hooks)
    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(build(VerifiedWebhook(SECRET)))


@pytest.mark.parametrize("route", ["/hooks/model", "/hooks/dict"])
@pytest.mark.parametrize(
    "content", [b"{not json", b'{"id": 1}', b"[1, 2]", b"", b'{"id": "x", "amount": "lots"}']
)
def test_unsigned_requests_get_401_never_a_validation_error(
    client: TestClient, route: str, content: bytes
) -> None:
    response = client.post(route, content=content, headers=JSON)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "missing_signature"
    assert "lots" not in response.text
    assert "not json" not in response.text


def test_forged_requests_get_401_even_with_an_invalid_body(client: TestClient) -> None:
    body, headers = forged_request(b"{not json")
    response = client.post("/hooks/model", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "signature_mismatch"


def test_signed_requests_are_parsed_after_verification(client: TestClient) -> None:
    body, headers = signed_request({"id": "in_1", "amount": 4200}, SECRET)
    assert client.post("/hooks/model", content=body, headers=headers).json() == {"id": "in_1"}
    response = client.post("/hooks/dict", content=body, headers=headers)
    assert response.json()["payload"] == {"id": "in_1", "amount": 4200}


def test_a_signed_invalid_body_still_gets_fastapis_validation(client: TestClient) -> None:
    body, headers = signed_request({"id": "in_1", "amount": "lots"}, SECRET)
    assert client.post("/hooks/model", content=body, headers=headers).status_code == 422


def test_form_routes_verify_then_parse(client: TestClient) -> None:
    """Before, a Form() route could not be verified by the dependency at all."""
    body, headers = signed_request(b"text=hello", SECRET)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert client.post("/hooks/form", content=body, headers=headers).json() == {"text": "hello"}
    del headers["Signature"]
    assert client.post("/hooks/form", content=body, headers=headers).status_code == 401


def test_the_dependency_in_a_router_route_does_not_verify_twice() -> None:
    """A replay guard would refuse a second verification of the same delivery."""
    client = TestClient(build(VerifiedWebhook(SECRET, replay_guard=InMemoryReplayGuard())))
    body, headers = signed_request({"id": "in_1", "amount": 1}, SECRET)
    first = client.post("/hooks/dict", content=body, headers=headers)
    assert first.status_code == 200, first.text
    again = client.post("/hooks/dict", content=body, headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "replayed"


def test_dependency_overrides_turn_the_early_check_off() -> None:
    verified = VerifiedWebhook(SECRET)
    app = build(verified)
    app.dependency_overrides[verified] = lambda: None
    response = TestClient(app).post("/hooks/model", json={"id": "x", "amount": 1})
    assert response.status_code == 200


def test_openapi_still_documents_the_signature_header(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    parameters = schema["paths"]["/hooks/model"]["post"]["parameters"]
    assert [p["name"] for p in parameters] == ["Signature"]


def test_a_route_that_parses_first_is_named_in_a_warning_once(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside the router the dependency runs after FastAPI parsed the body: the exposure
    to 422s is logged, once per route, naming the way out."""
    body, headers = signed_request({"id": "in_1", "amount": 1}, SECRET)
    with caplog.at_level(logging.WARNING, logger="hookseal"):
        for _ in range(3):
            assert client.post("/plain", content=body, headers=headers).status_code == 200
    warnings = [r for r in caplog.records if "verified.router()" in r.getMessage()]
    assert len(warnings) == 1
    assert "/plain" in warnings[0].getMessage()
    unsigned = client.post("/plain", content=b"{not json", headers=JSON)
    assert unsigned.status_code == 422  # the documented limit of a plain dependency


def test_a_plain_dependency_answers_401_to_valid_json_that_misfits_the_model(
    client: TestClient,
) -> None:
    """The limit is exactly a body that is not JSON: FastAPI runs dependencies before it
    checks the body against the model, so an unsigned or forged request with JSON that does
    not fit the model is still hookseal's 401 (docs/frameworks/fastapi.md says so)."""
    misfit = b'{"unexpected": true}'
    unsigned = client.post("/plain", content=misfit, headers=JSON)
    assert unsigned.status_code == 401
    assert unsigned.json()["code"] == "missing_signature"
    forged = client.post("/plain", content=misfit, headers={**JSON, **sign(misfit, "wrong")})
    assert forged.status_code == 401
    assert forged.json()["code"] == "signature_mismatch"
    broken = b"{not json"
    forged = client.post("/plain", content=broken, headers={**JSON, **sign(broken, "wrong")})
    assert forged.status_code == 422  # the documented limit: forged as well as unsigned
