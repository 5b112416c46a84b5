"""The FastAPI dependency, with FastAPI's TestClient and httpx's ASGI transport."""

from __future__ import annotations

import hashlib
import importlib
import subprocess
import sys
import time
from typing import Any

import httpx
import httpx2  # what Starlette's TestClient returns
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from hookseal import InMemoryReplayGuard, Secret, Verified, Verifier, schemes
from hookseal.errors import ConfigurationError
from hookseal.integrations.fastapi import (
    VerifiedWebhook,
    WebhookRejected,
    install,
    problem_response,
)
from hookseal.testing import forged_request, signed_request

SECRET = "fastapi-test-secret"


def make_app(verified: VerifiedWebhook) -> FastAPI:
    app = FastAPI()

    @app.post("/hooks/event")
    async def event(request: Request, result: Verified = Depends(verified)) -> dict[str, Any]:  # noqa: B008
        body = await request.body()  # still readable after the dependency
        return {
            "sha256": hashlib.sha256(body).hexdigest(),
            "secret_id": result.secret_id,
            "state": request.state.hookseal.secret_id,
            "scheme": result.scheme,
        }

    @app.post("/hooks/guarded", dependencies=[Depends(verified)])
    async def guarded(payload: dict[str, Any]) -> dict[str, Any]:
        return {"payload": payload}

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app(VerifiedWebhook(SECRET)))


def assert_problem(
    response: httpx.Response | httpx2.Response, status: int, code: str
) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    assert document["code"] == code
    assert document["status"] == status
    assert SECRET not in response.text
    return document


def test_signed_request_returns_verified_and_body_stays_readable(client: TestClient) -> None:
    body, headers = signed_request({"event": "paid"}, SECRET)
    response = client.post("/hooks/event", content=body, headers=headers)
    assert response.status_code == 200
    data = response.json()
    assert data["sha256"] == hashlib.sha256(body).hexdigest()
    assert data["secret_id"] == data["state"] == Secret(SECRET).id
    assert data["scheme"] == "signature"


def test_dependencies_list_with_a_parsed_body_param(client: TestClient) -> None:
    body, headers = signed_request({"event": "paid"}, SECRET)
    response = client.post("/hooks/guarded", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"payload": {"event": "paid"}}


def test_forged_request_is_problem_json_without_registering_a_handler(
    client: TestClient,
) -> None:
    body, headers = forged_request({"event": "paid"})
    response = client.post("/hooks/event", content=body, headers=headers)
    assert_problem(response, 401, "signature_mismatch")
    assert response.headers["www-authenticate"].startswith("Signature")
    assert int(response.headers["content-length"]) == len(response.content)


def test_missing_header_is_401_not_422(client: TestClient) -> None:
    response = client.post("/hooks/guarded", json={"event": "paid"})
    assert_problem(response, 401, "missing_signature")


def test_stripe_scheme_and_stale_timestamp() -> None:
    client = TestClient(make_app(VerifiedWebhook(SECRET, scheme=schemes.Stripe())))
    body, headers = signed_request({"id": "evt_1"}, SECRET, scheme="stripe")
    assert client.post("/hooks/event", content=body, headers=headers).status_code == 200
    body, headers = signed_request({"id": "evt_1"}, SECRET, scheme="stripe", now=time.time() - 900)
    assert_problem(
        client.post("/hooks/event", content=body, headers=headers), 401, "timestamp_too_old"
    )


def test_oversized_bodies_are_413() -> None:
    client = TestClient(make_app(VerifiedWebhook(SECRET, max_body_size=64)))
    body, headers = signed_request(b"x" * 65, SECRET)
    assert_problem(
        client.post("/hooks/event", content=body, headers=headers), 413, "payload_too_large"
    )

    def chunked() -> Any:
        yield body[:40]
        yield body[40:]

    response = client.post("/hooks/event", content=chunked(), headers=headers)
    assert_problem(response, 413, "payload_too_large")


def test_no_active_secret_is_503_with_retry_after() -> None:
    expired = Secret(SECRET, expires_at=time.time() - 3600)
    client = TestClient(make_app(VerifiedWebhook([expired])))
    body, headers = signed_request(b"{}", SECRET)
    response = client.post("/hooks/event", content=body, headers=headers)
    assert_problem(response, 503, "no_active_secret")
    assert int(response.headers["retry-after"]) > 0


def test_replay_guard_refuses_a_second_delivery() -> None:
    client = TestClient(make_app(VerifiedWebhook(SECRET, replay_guard=InMemoryReplayGuard())))
    body, headers = signed_request({"n": 1}, SECRET)
    assert client.post("/hooks/event", content=body, headers=headers).status_code == 200
    assert_problem(client.post("/hooks/event", content=body, headers=headers), 409, "replayed")


def test_with_a_verifier() -> None:
    verified = VerifiedWebhook(verifier=Verifier(SECRET, scheme=schemes.GitHub()))
    client = TestClient(make_app(verified))
    body, headers = signed_request({"zen": "x"}, SECRET, scheme="github")
    assert client.post("/hooks/event", content=body, headers=headers).json()["scheme"] == "github"


def test_signature_headers_in_openapi() -> None:
    app = make_app(VerifiedWebhook("whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", scheme="standard"))
    schema = TestClient(app).get("/openapi.json").json()
    for route in ("/hooks/event", "/hooks/guarded"):
        parameters = schema["paths"][route]["post"]["parameters"]
        names = {p["name"] for p in parameters if p["in"] == "header"}
        assert names == {"webhook-id", "webhook-timestamp", "webhook-signature"}


def test_github_header_in_openapi() -> None:
    app = make_app(VerifiedWebhook(SECRET, scheme="github"))
    schema = TestClient(app).get("/openapi.json").json()
    parameters = schema["paths"]["/hooks/event"]["post"]["parameters"]
    assert [p["name"] for p in parameters] == ["X-Hub-Signature-256"]
    assert parameters[0]["in"] == "header"


def test_undocumented_headers_still_verify_and_stay_out_of_openapi() -> None:
    app = make_app(VerifiedWebhook(SECRET, scheme="github", document_headers=False))
    client = TestClient(app)
    schema = client.get("/openapi.json").json()
    assert "parameters" not in schema["paths"]["/hooks/event"]["post"]
    body, headers = signed_request({"zen": "x"}, SECRET, scheme="github")
    assert client.post("/hooks/event", content=body, headers=headers).status_code == 200
    forged_body, forged_headers = forged_request({"zen": "x"}, scheme="github")
    refused = client.post("/hooks/event", content=forged_body, headers=forged_headers)
    assert refused.status_code == 401
    assert refused.json()["code"] == "signature_mismatch"


def test_install_registers_the_handler_up_front() -> None:
    verified = VerifiedWebhook(SECRET)
    app = make_app(verified)
    install(app)
    assert app.exception_handlers[WebhookRejected] is problem_response
    response = TestClient(app).post("/hooks/event", content=b"{}")
    assert_problem(response, 401, "missing_signature")


def test_a_user_handler_for_webhook_rejected_is_kept() -> None:
    app = make_app(VerifiedWebhook(SECRET))

    async def mine(request: Request, exc: Exception) -> Any:
        from fastapi.responses import PlainTextResponse

        assert isinstance(exc, WebhookRejected)
        return PlainTextResponse(f"no: {exc.error.code}", status_code=exc.status_code)

    app.add_exception_handler(WebhookRejected, mine)
    response = TestClient(app).post("/hooks/event", content=b"{}")
    assert response.status_code == 401
    assert response.text == "no: missing_signature"


async def test_with_httpx_async_client() -> None:
    transport = httpx.ASGITransport(app=make_app(VerifiedWebhook(SECRET)))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        body, headers = signed_request({"n": 2}, SECRET)
        response = await http.post("/hooks/event", content=body, headers=headers)
        assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
        response = await http.post("/hooks/event", content=body + b"x", headers=headers)
        assert_problem(response, 401, "signature_mismatch")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"secrets": SECRET, "verifier": Verifier(SECRET)},
        {"secrets": SECRET, "max_body_size": -1},
    ],
)
def test_bad_configuration(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        VerifiedWebhook(**options)


def test_without_fastapi_the_import_error_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['fastapi'] = None\n"
        "import hookseal\n"
        "try:\n"
        "    import hookseal.integrations.fastapi\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "'fastapi' extra" in out.stdout
    assert 'pip install -e ".[fastapi]"' in out.stdout


def test_import_hookseal_does_not_import_fastapi() -> None:
    code = "import sys, hookseal, hookseal.asgi; print('fastapi' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_module_reimports_cleanly() -> None:
    module = importlib.import_module("hookseal.integrations.fastapi")
    assert module.VerifiedWebhook is VerifiedWebhook


def test_form_parameters_fail_with_a_configuration_error_not_a_bare_runtime_error() -> None:
    """FastAPI parses ``Form()`` parameters before it runs dependencies, streaming the body away
    (Slack slash commands are form-encoded). The raw bytes are gone, so nothing can verify them;
    hookseal must say so as a ConfigurationError naming the way out, not let Starlette's
    ``RuntimeError('Stream consumed')`` escape as an unexplained 500."""
    pytest.importorskip("python_multipart")
    from fastapi import Form

    verified = VerifiedWebhook(secrets=SECRET, scheme="slack")
    app = FastAPI()

    @app.post("/slack/command")
    async def command(
        text: str = Form(...),
        event: Verified = Depends(verified),  # noqa: B008
    ) -> dict[str, Any]:
        return {"text": text}

    body, headers = signed_request(b"text=hello&user_id=U1", SECRET, scheme="slack")
    headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    with pytest.raises(ConfigurationError, match="WebhookVerificationMiddleware"):
        TestClient(app).post("/slack/command", content=body, headers=headers)
