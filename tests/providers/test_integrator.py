"""IntegratorClient against the imitated integrator API (seed page
integrator-update-webhook-secret.txt), and its deliveries into a real app under uvicorn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from _provider_apis import Answer, ApiServer, example
from _provider_apis.fixtures import (
    INTEGRATOR_ID,
    INTEGRATOR_TOKEN,
    INTEGRATOR_TOKEN_NO_SCOPE,
)
from _provider_apis.integrator import PATH, IntegratorApi
from _uvicorn_server import uvicorn_server
from hookseal import Keyring, MissingSignature, Secret, Verifier, verify
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.errors import ConfigurationError
from hookseal.providers import IntegratorClient, IntegratorProblem
from hookseal.providers.integrator import MISSING_SIGNATURE_HINT, signature_scheme
from hookseal.schemes import Signature
from hookseal.sources import FileSource
from hookseal.testing import signed_request

SECRET = "integrator-webhook-secret-0123456789"


def client(server: ApiServer[IntegratorApi], token: str = INTEGRATOR_TOKEN) -> IntegratorClient:
    return IntegratorClient(server.base_url, token=token)


def test_put_sets_the_secret(integrator_server: ApiServer[IntegratorApi]) -> None:
    assert integrator_server.api.secret(INTEGRATOR_ID) is None
    client(integrator_server).set_webhook_secret(SECRET)
    assert integrator_server.api.secret(INTEGRATOR_ID) == SECRET
    (request,) = integrator_server.received
    assert (request.method, request.path) == ("PUT", "/v1/integrator/webhook-secret")
    assert json.loads(request.body) == {"secret": SECRET}
    assert request.headers["authorization"] == f"Bearer {INTEGRATOR_TOKEN}"
    client(integrator_server).set_webhook_secret(Secret("s", id="k2"))  # a Secret works too
    assert integrator_server.api.secret(INTEGRATOR_ID) == "s"


def test_at_least_one_character() -> None:
    integrator = IntegratorClient("https://integrator.example", token="t")
    with pytest.raises(ConfigurationError, match="at least 1 character"):
        integrator.set_webhook_secret("")
    with pytest.raises(ConfigurationError, match="exactly one"):
        IntegratorClient("https://integrator.example")


def test_the_401_problem_with_realm_and_scope(integrator_server: ApiServer[IntegratorApi]) -> None:
    for token in ("unknown-token", INTEGRATOR_TOKEN_NO_SCOPE):
        with pytest.raises(IntegratorProblem) as caught:
            client(integrator_server, token).set_webhook_secret(SECRET)
        problem = caught.value
        assert (problem.status, problem.type, problem.title) == (401, "about:blank", "Unauthorized")
        assert (problem.realm, problem.scope) == ("integrator", "webhooks:write")
        assert problem.instance == PATH
        assert "realm integrator; scope webhooks:write" in str(problem)
    assert integrator_server.api.secret(INTEGRATOR_ID) is None


def test_the_404_problem_with_resource_type_and_id(
    integrator_server: ApiServer[IntegratorApi],
) -> None:
    integrator_server.api.remove_integrator(INTEGRATOR_ID)
    with pytest.raises(IntegratorProblem) as caught:
        client(integrator_server).set_webhook_secret(SECRET)
    problem = caught.value
    assert (problem.status, problem.resource_type, problem.resource_id) == (
        404,
        "integrator",
        INTEGRATOR_ID,
    )
    assert "HTTP 404: Not Found" in str(problem)
    assert "resourceType integrator; resourceId int_42" in str(problem)


@pytest.mark.parametrize(
    ("name", "status", "members"),
    [
        (
            "integrator-update-webhook-secret.401.json",
            401,
            {
                "type": "about:blank",
                "title": "Unauthorized",
                "realm": "integrator",
                "scope": "webhooks:write",
                "detail": "The access token is missing or invalid",
            },
        ),
        (
            "integrator-update-webhook-secret.404.json",
            404,
            {
                "type": "about:blank",
                "title": "Not Found",
                "resource_type": "integrator",
                "resource_id": "int_42",
                "instance": "/v1/integrator/webhook-secret",
            },
        ),
        (
            "integrator-update-webhook-secret.500.json",
            500,
            {
                "type": "about:blank",
                "title": "Internal Server Error",
                "detail": "An unexpected error occurred",
                "realm": None,
            },
        ),
    ],
)
def test_documented_problem_members_are_kept(
    integrator_server: ApiServer[IntegratorApi], name: str, status: int, members: dict[str, object]
) -> None:
    integrator_server.script(Answer(status, example(name), content_type="application/problem+json"))
    with pytest.raises(IntegratorProblem) as caught:
        client(integrator_server).set_webhook_secret(SECRET)
    for attribute, value in members.items():
        assert getattr(caught.value, attribute) == value
    assert caught.value.status == status
    assert caught.value.retryable is (status == 500)


def test_answers_without_a_problem_document(integrator_server: ApiServer[IntegratorApi]) -> None:
    integrator_server.script(Answer(502, b"upstream down", content_type="text/plain"))
    with pytest.raises(IntegratorProblem, match="HTTP 502: no problem document") as caught:
        client(integrator_server).set_webhook_secret(SECRET)
    assert caught.value.type is None
    integrator_server.script(Answer(400, b'{"status": 400, "title": 7}'))
    with pytest.raises(IntegratorProblem, match="HTTP 400: no problem document") as caught:
        client(integrator_server).set_webhook_secret(SECRET)
    assert caught.value.title is None


def test_the_imitation_refuses_an_empty_secret(integrator_server: ApiServer[IntegratorApi]) -> None:
    answer = httpx.put(
        integrator_server.base_url + PATH,
        json={"secret": ""},
        headers={"Authorization": f"Bearer {INTEGRATOR_TOKEN}"},
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "Bad Request"


def test_an_echoed_secret_never_reaches_the_error(
    integrator_server: ApiServer[IntegratorApi],
) -> None:
    echo = {
        "title": f"Rejected {SECRET}",
        "status": 400,
        "detail": f"secret {SECRET} is weak",
        "scope": INTEGRATOR_TOKEN,
    }
    integrator_server.script(Answer(400, json.dumps(echo).encode()))
    with pytest.raises(IntegratorProblem) as caught:
        client(integrator_server).set_webhook_secret(SECRET)
    problem = caught.value
    texts = [
        str(problem),
        repr(problem),
        *map(str, problem.args),
        *map(str, vars(problem).values()),
    ]
    assert not any(SECRET in t or INTEGRATOR_TOKEN in t for t in texts)
    assert problem.detail == "secret [redacted] is weak"


async def test_async_put(integrator_server: ApiServer[IntegratorApi]) -> None:
    await client(integrator_server).aset_webhook_secret(SECRET)
    assert integrator_server.api.secret(INTEGRATOR_ID) == SECRET


# -- what the integrator sends, verified by hookseal ------------------------------------------


def test_the_missing_header_refusal_says_why() -> None:
    body = b'{"event": "order.created"}'
    with pytest.raises(MissingSignature) as caught:
        verify(body, {}, SECRET, scheme=signature_scheme())
    assert caught.value.detail == f"the Signature header is missing; {MISSING_SIGNATURE_HINT}"
    with pytest.raises(MissingSignature) as caught:
        verify(body, {"Signature": ""}, SECRET, scheme=signature_scheme())
    assert MISSING_SIGNATURE_HINT in caught.value.detail
    # the default scheme is unchanged
    with pytest.raises(MissingSignature) as caught:
        verify(body, {}, SECRET)
    assert caught.value.detail == "the Signature header is missing"
    with pytest.raises(ConfigurationError, match="missing_hint"):
        Signature(missing_hint="line one\nline two")
    signed_body, headers = signed_request({"event": "x"}, SECRET, scheme=signature_scheme())
    assert verify(signed_body, headers, SECRET, scheme=signature_scheme()).scheme == "signature"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "integrator-secret.json"
    path.write_text(json.dumps({"secrets": [{"id": "k1", "value": SECRET}]}))
    return path


@pytest.fixture
def app_url(store: Path) -> Iterator[str]:
    keyring = Keyring(FileSource(store, watch=True, poll_interval=0.05), cooldown=0)
    keyring.start(timeout=5)

    async def hook(request: Request) -> JSONResponse:
        return JSONResponse({"secret_id": request.state.hookseal.secret_id})

    app = Starlette(routes=[Route("/hooks/integrator", hook, methods=["POST"])])
    verifier = Verifier(keyring, scheme=signature_scheme())
    wrapped = WebhookVerificationMiddleware(app, verifier=verifier, paths=["/hooks"])
    try:
        with uvicorn_server(wrapped) as port:
            yield f"http://127.0.0.1:{port}/hooks/integrator"
    finally:
        keyring.close()


def test_deliveries_before_and_after_the_secret_is_set(
    integrator_server: ApiServer[IntegratorApi], app_url: str, store: Path
) -> None:
    api = integrator_server.api
    body = b'{"event":"order.created","id":1}'
    status, answer = api.deliver(INTEGRATOR_ID, app_url, body)  # no secret set: no header
    assert status == 401
    assert MISSING_SIGNATURE_HINT in json.loads(answer)["detail"]

    client(integrator_server).set_webhook_secret(SECRET)  # the value our store already holds
    status, answer = api.deliver(INTEGRATOR_ID, app_url, body)
    assert (status, json.loads(answer)) == (200, {"secret_id": "k1"})

    # a new secret: stored next to the old one first, then set at the provider
    new = "integrator-webhook-secret-rotated-9876"
    store.write_text(
        json.dumps({"secrets": [{"id": "k2", "value": new}, {"id": "k1", "value": SECRET}]})
    )
    client(integrator_server).set_webhook_secret(new)
    status, answer = api.deliver(INTEGRATOR_ID, app_url, body)
    assert (status, json.loads(answer)) == (200, {"secret_id": "k2"})
