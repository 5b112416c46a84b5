"""The ASGI middleware: real Starlette apps through TestClient and httpx, and a raw ASGI driver
for exact message-level checks (what was read, what was replayed, what was sent)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import MutableMapping
from typing import Any

import httpx
import httpx2  # what Starlette's TestClient returns
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from hookseal import InMemoryReplayGuard, Secret, Verifier, schemes
from hookseal.asgi import WebhookVerificationMiddleware
from hookseal.errors import ConfigurationError
from hookseal.testing import forged_request, signed_request

SECRET = "asgi-test-secret"
Message = MutableMapping[str, Any]


# -- a real Starlette app ----------------------------------------------------------------------


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    verified = getattr(request.state, "hookseal", None)
    return JSONResponse(
        {
            "sha256": hashlib.sha256(body).hexdigest(),
            "length": len(body),
            "secret_id": None if verified is None else verified.secret_id,
        }
    )


def starlette_app(**options: Any) -> Starlette:
    app = Starlette(
        routes=[
            Route("/webhooks/{name:path}", echo, methods=["POST"]),
            Route("/webhooks", echo, methods=["POST"]),
            Route("/open", echo, methods=["POST"]),
        ]
    )
    options.setdefault("secrets", SECRET)
    options.setdefault("paths", ["/webhooks"])
    app.add_middleware(WebhookVerificationMiddleware, **options)
    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(starlette_app())


def problem(response: httpx.Response | httpx2.Response) -> dict[str, Any]:
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["cache-control"] == "no-store"
    document: dict[str, Any] = response.json()
    assert document["status"] == response.status_code
    return document


def test_signed_request_reaches_the_app_with_the_same_body(client: TestClient) -> None:
    body, headers = signed_request({"event": "paid", "amount": 42}, SECRET)
    response = client.post("/webhooks/billing", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert response.json()["secret_id"] == Secret(SECRET).id


def test_forged_request_is_refused_with_problem_json(client: TestClient) -> None:
    body, headers = forged_request({"event": "paid"})
    response = client.post("/webhooks/billing", content=body, headers=headers)
    assert response.status_code == 401
    assert problem(response)["code"] == "signature_mismatch"
    assert response.headers["www-authenticate"].startswith("Signature")
    assert SECRET not in response.text
    good = signed_request({"event": "paid"}, SECRET)[1]["Signature"]
    assert good not in response.text  # the expected signature is never shown


def test_missing_signature_is_401(client: TestClient) -> None:
    response = client.post("/webhooks", content=b"{}")
    assert response.status_code == 401
    assert problem(response)["code"] == "missing_signature"


def test_tampered_body_is_refused(client: TestClient) -> None:
    body, headers = signed_request({"event": "paid"}, SECRET)
    response = client.post("/webhooks/x", content=body + b" ", headers=headers)
    assert response.status_code == 401


def test_unguarded_path_passes_untouched(client: TestClient) -> None:
    response = client.post("/open", content=b"anything")
    assert response.status_code == 200
    assert response.json()["secret_id"] is None


def test_stale_timestamp_is_refused() -> None:
    client = TestClient(starlette_app(scheme=schemes.Stripe()))
    body, headers = signed_request(b"{}", SECRET, scheme="stripe", now=time.time() - 3600)
    response = client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 401
    assert problem(response)["code"] == "timestamp_too_old"


def test_with_a_verifier_and_github_scheme() -> None:
    verifier = Verifier(SECRET, scheme=schemes.GitHub())
    app = starlette_app(secrets=None, verifier=verifier, paths=["/webhooks/github"])
    client = TestClient(app)
    body, headers = signed_request({"zen": "hi"}, SECRET, scheme="github")
    assert client.post("/webhooks/github", content=body, headers=headers).status_code == 200
    body, headers = signed_request({"zen": "hi"}, SECRET)  # the wrong scheme's header
    response = client.post("/webhooks/github", content=body, headers=headers)
    assert response.status_code == 401
    assert problem(response)["header"] == "X-Hub-Signature-256"


def test_no_active_secret_is_503_with_retry_after() -> None:
    expired = Secret(SECRET, expires_at=time.time() - 3600)
    client = TestClient(starlette_app(secrets=[expired]))
    body, headers = signed_request(b"{}", SECRET)
    response = client.post("/webhooks", content=body, headers=headers)
    assert response.status_code == 503
    assert problem(response)["code"] == "no_active_secret"
    assert int(response.headers["retry-after"]) > 0


async def test_with_httpx_async_client() -> None:
    transport = httpx.ASGITransport(app=starlette_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        body, headers = signed_request({"n": 1}, SECRET)
        response = await http.post("/webhooks/a", content=body, headers=headers)
        assert response.status_code == 200
        assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
        forged = forged_request({"n": 1})
        response = await http.post("/webhooks/a", content=forged[0], headers=forged[1])
        assert response.status_code == 401


# -- configuration -----------------------------------------------------------------------------


async def noop(scope: Message, receive: Any, send: Any) -> None:
    raise AssertionError("not called")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"secrets": SECRET, "verifier": Verifier(SECRET)},
        {"verifier": Verifier(SECRET), "scheme": "github"},
        {"verifier": Verifier(SECRET), "tolerance": 10},
        {"verifier": "not a verifier"},
        {"secrets": SECRET, "max_body_size": -1},
        {"secrets": SECRET, "max_body_size": 1.5},
        {"secrets": SECRET, "paths": ["no-slash"]},
        {"secrets": ""},
    ],
)
def test_bad_configuration_is_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        WebhookVerificationMiddleware(noop, **options)


def test_repr_never_shows_the_secret() -> None:
    assert SECRET not in repr(WebhookVerificationMiddleware(noop, secrets=SECRET))


# -- a raw ASGI driver -------------------------------------------------------------------------


class Inner:
    """A raw ASGI app recording what it receives; answers with the SHA-256 of the body."""

    def __init__(self, *, status: int = 200, wait_for_disconnect: bool = False) -> None:
        self.scopes: list[Message] = []
        self.received: list[Message] = []
        self.status = status
        self.wait_for_disconnect = wait_for_disconnect

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        if scope["type"] != "http":
            self.received.append(await receive())
            return
        body = b""
        while True:
            message = await receive()
            self.received.append(message)
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        digest = hashlib.sha256(body).hexdigest().encode()
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        if self.wait_for_disconnect:  # a streaming response: chunks until the client leaves
            await send({"type": "http.response.body", "body": digest, "more_body": True})
            self.received.append(await receive())
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        await send({"type": "http.response.body", "body": digest})


class Driver:
    """Plays the server: hands out ``incoming`` messages, then ``http.disconnect``."""

    def __init__(self, incoming: list[Message]) -> None:
        self.incoming = list(incoming)
        self.reads = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.reads += 1
        if self.incoming:
            return self.incoming.pop(0)
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    async def run(self, app: Any, scope: Message) -> Driver:
        await app(scope, self.receive, self.send)
        return self

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])

    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])


def http_scope(
    path: str = "/webhooks",
    headers: dict[str, str] | None = None,
    *,
    content_length: int | str | None = None,
    root_path: str = "",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> dict[str, Any]:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if content_length is not None:
        raw.append((b"content-length", str(content_length).encode()))
    raw.extend(extra or [])
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root_path,
        "query_string": b"",
        "headers": raw,
    }


def chunks_of(body: bytes, sizes: list[int]) -> list[Message]:
    messages: list[Message] = []
    start = 0
    for size in sizes:
        messages.append({"type": "http.request", "body": body[start : start + size]})
        start += size
    messages.append({"type": "http.request", "body": body[start:]})
    for message in messages[:-1]:
        message["more_body"] = True
    messages[-1]["more_body"] = False
    return messages


def guarded(inner: Any, **options: Any) -> WebhookVerificationMiddleware:
    options.setdefault("secrets", SECRET)
    options.setdefault("paths", ["/webhooks"])
    return WebhookVerificationMiddleware(inner, **options)


async def test_chunks_are_replayed_exactly_then_the_real_receive() -> None:
    body = bytes(range(256)) * 20
    _, headers = signed_request(body, SECRET)
    messages = chunks_of(body, [1, 100, 1000, 7])
    inner = Inner(wait_for_disconnect=True)
    driver = await Driver(messages).run(guarded(inner), http_scope(headers=headers))
    assert driver.status == 200
    assert driver.body == hashlib.sha256(body).hexdigest().encode()
    replayed = inner.received[: len(messages)]
    assert [m["body"] for m in replayed] == [m["body"] for m in messages]
    assert [m["more_body"] for m in replayed] == [True] * (len(messages) - 1) + [False]
    assert all(a is b for a, b in zip(replayed, messages, strict=True))  # not copied, not joined
    assert inner.received[len(messages)] == {"type": "http.disconnect"}  # the server's own


async def test_empty_body_is_one_message() -> None:
    _, headers = signed_request(b"", SECRET)
    inner = Inner()
    incoming: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]
    driver = await Driver(incoming).run(guarded(inner), http_scope(headers=headers))
    assert driver.status == 200
    assert inner.received == [{"type": "http.request", "body": b"", "more_body": False}]


async def test_verified_result_in_scope_state_keeps_existing_state() -> None:
    body, headers = signed_request(b"{}", SECRET)
    inner = Inner()
    scope = http_scope(headers=headers)
    scope["state"] = {"db": "pool"}
    await Driver(chunks_of(body, [])).run(guarded(inner), scope)
    state = inner.scopes[0]["state"]
    assert state["db"] == "pool"
    assert state["hookseal"].secret_id == Secret(SECRET).id
    assert state["hookseal"].scheme == "signature"


async def test_disconnect_mid_body_never_calls_the_app() -> None:
    body, headers = signed_request(b"x" * 1000, SECRET)
    inner = Inner()
    first = {"type": "http.request", "body": body[:500], "more_body": True}
    driver = await Driver([first]).run(guarded(inner), http_scope(headers=headers))
    assert inner.scopes == []
    assert driver.sent == []  # nobody to answer


async def test_header_errors_are_answered_before_reading_the_body() -> None:
    inner = Inner()
    driver = Driver(chunks_of(b"{}", []))
    await driver.run(guarded(inner), http_scope(content_length=2))
    assert driver.status == 401
    assert driver.reads == 0
    assert inner.scopes == []


async def test_declared_length_over_the_limit_is_413_without_reading() -> None:
    body, headers = signed_request(b"x" * 101, SECRET)
    inner = Inner()
    driver = Driver(chunks_of(body, []))
    await driver.run(
        guarded(inner, max_body_size=100), http_scope(headers=headers, content_length=101)
    )
    assert driver.status == 413
    assert driver.reads == 0
    assert json.loads(driver.body)["code"] == "payload_too_large"
    assert inner.scopes == []


async def test_body_at_the_limit_passes() -> None:
    body, headers = signed_request(b"x" * 100, SECRET)
    inner = Inner()
    driver = Driver(chunks_of(body, [50]))
    await driver.run(
        guarded(inner, max_body_size=100), http_scope(headers=headers, content_length=100)
    )
    assert driver.status == 200


async def test_chunked_body_over_the_limit_stops_reading_at_the_limit() -> None:
    body, headers = signed_request(b"y" * 1000, SECRET)
    inner = Inner()
    driver = Driver(chunks_of(body, [60] * 16))  # no Content-Length: chunked
    await driver.run(guarded(inner, max_body_size=100), http_scope(headers=headers))
    assert driver.status == 413
    assert driver.reads == 2  # 60, then 120 > 100: stop there
    assert inner.scopes == []


@pytest.mark.parametrize("value", ["abc", "-1", "1e3", "", " ", "1" * 40, "12, 12", "٣"])
async def test_malformed_content_length_is_400(value: str) -> None:
    _, headers = signed_request(b"{}", SECRET)
    inner = Inner()
    driver = Driver(chunks_of(b"{}", []))
    await driver.run(guarded(inner), http_scope(headers=headers, content_length=value))
    assert driver.status == 400
    assert json.loads(driver.body)["code"] == "body_invalid"
    assert driver.reads == 0
    assert inner.scopes == []


async def test_repeated_content_length_is_400() -> None:
    _, headers = signed_request(b"{}", SECRET)
    scope = http_scope(headers=headers, content_length=2, extra=[(b"content-length", b"2")])
    driver = await Driver(chunks_of(b"{}", [])).run(guarded(Inner()), scope)
    assert driver.status == 400


async def test_body_shorter_than_its_content_length_is_400() -> None:
    body, headers = signed_request(b"{}", SECRET)
    inner = Inner()
    scope = http_scope(headers=headers, content_length=len(body) + 5)
    driver = await Driver(chunks_of(body, [])).run(guarded(inner), scope)
    assert driver.status == 400
    assert json.loads(driver.body)["code"] == "incomplete_body"
    assert inner.scopes == []


async def test_lifespan_passes_through() -> None:
    inner = Inner()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    driver = await Driver([{"type": "lifespan.startup"}]).run(guarded(inner, paths=None), scope)
    assert inner.scopes == [scope]
    assert inner.received == [{"type": "lifespan.startup"}]
    assert driver.sent == []


def test_websocket_passes_through_a_guarded_path() -> None:
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app = Starlette(routes=[WebSocketRoute("/webhooks/ws", ws)])
    app.add_middleware(WebhookVerificationMiddleware, secrets=SECRET, paths=None)
    with TestClient(app).websocket_connect("/webhooks/ws") as socket:
        assert socket.receive_text() == "hello"


@settings(max_examples=40, deadline=None)
@given(body=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 400), max_size=12))
async def test_any_chunking_verifies_and_replays_exactly(body: bytes, cuts: list[int]) -> None:
    _, headers = signed_request(body, SECRET)
    messages = chunks_of(body, cuts)
    inner = Inner()
    driver = await Driver(messages).run(guarded(inner), http_scope(headers=headers))
    assert driver.status == 200
    assert driver.body == hashlib.sha256(body).hexdigest().encode()
    assert b"".join(m["body"] for m in inner.received) == body


# -- path bypass attempts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "root_path"),
    [
        ("/webhooks", ""),
        ("//webhooks", ""),
        ("/webhooks/", ""),
        ("/Webhooks", ""),
        ("/WEBHOOKS/x", ""),
        ("/%77ebhooks", ""),  # a server that decoded once leaves %77 for a second decode
        ("/%2577ebhooks", ""),
        ("/x/../webhooks", ""),
        ("/./webhooks", ""),
        ("\\webhooks", ""),
        ("/api/webhooks", "/api"),  # path includes root_path (current servers)
        ("/webhooks", "/api"),  # path without root_path (older servers)
    ],
)
async def test_path_spellings_are_guarded(path: str, root_path: str) -> None:
    inner = Inner()
    scope = http_scope(path, root_path=root_path)
    driver = await Driver(chunks_of(b"{}", [])).run(guarded(inner), scope)
    assert driver.status == 401
    assert inner.scopes == []


@pytest.mark.parametrize("path", ["/webhooksx", "/web/hooks", "/open", "/"])
async def test_other_paths_are_not_guarded(path: str) -> None:
    inner = Inner()
    driver = await Driver(chunks_of(b"{}", [])).run(guarded(inner), http_scope(path))
    assert driver.status == 200
    assert len(inner.scopes) == 1


@pytest.mark.parametrize(
    "url",
    ["//webhooks", "/webhooks/", "/Webhooks", "/%77ebhooks", "/x/../webhooks", "/webhooks//a"],
)
def test_bypass_attempts_through_a_real_client(url: str) -> None:
    client = TestClient(starlette_app(paths=["/webhooks"]))
    response = client.post("http://testserver" + url, content=b'{"event": "paid"}')
    assert response.status_code == 401
    assert problem(response)["code"] == "missing_signature"


def test_root_path_mount_is_guarded() -> None:
    inner = starlette_app(paths=["/webhooks"])
    outer = Starlette(routes=[Mount("/api", app=inner)])
    client = TestClient(outer)
    assert client.post("/api/webhooks/x", content=b"{}").status_code == 401
    body, headers = signed_request(b"{}", SECRET)
    assert client.post("/api/webhooks/x", content=body, headers=headers).status_code == 200


def test_server_root_path_is_guarded() -> None:
    client = TestClient(starlette_app(paths=["/webhooks"]), root_path="/api")
    assert client.post("/webhooks/x", content=b"{}").status_code == 401


# -- replay guard ------------------------------------------------------------------------------


async def test_replay_is_409_and_a_5xx_releases_the_delivery() -> None:
    guard = InMemoryReplayGuard()
    body, headers = signed_request({"id": 1}, SECRET)

    failing = Inner(status=500)
    app = guarded(failing, replay_guard=guard)
    assert (await Driver(chunks_of(body, [])).run(app, http_scope(headers=headers))).status == 500
    assert len(guard) == 0  # released: the provider's retry must be accepted

    working = Inner()
    app = guarded(working, replay_guard=guard)
    assert (await Driver(chunks_of(body, [])).run(app, http_scope(headers=headers))).status == 200
    replay = await Driver(chunks_of(body, [])).run(app, http_scope(headers=headers))
    assert replay.status == 409
    assert json.loads(replay.body)["code"] == "replayed"
    assert len(working.scopes) == 1


async def test_an_app_that_raises_releases_the_delivery() -> None:
    guard = InMemoryReplayGuard()
    body, headers = signed_request({"id": 2}, SECRET)

    async def broken(scope: Message, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await Driver(chunks_of(body, [])).run(
            guarded(broken, replay_guard=guard), http_scope(headers=headers)
        )
    assert len(guard) == 0


def test_replay_guard_with_starlette_error_response() -> None:
    guard = InMemoryReplayGuard()
    calls: list[int] = []

    async def flaky(request: Request) -> Response:
        await request.body()
        calls.append(1)
        return Response(status_code=503 if len(calls) == 1 else 204)

    app = Starlette(routes=[Route("/webhooks", flaky, methods=["POST"])])
    app.add_middleware(WebhookVerificationMiddleware, secrets=SECRET, replay_guard=guard)
    client = TestClient(app)
    body, headers = signed_request({"id": 3}, SECRET)
    assert client.post("/webhooks", content=body, headers=headers).status_code == 503
    assert client.post("/webhooks", content=body, headers=headers).status_code == 204
    assert client.post("/webhooks", content=body, headers=headers).status_code == 409
    assert len(calls) == 2


# -- review: dot segments the router does not resolve -----------------------------------------


@pytest.mark.parametrize("path", ["/webhooks/..", "/webhooks/x/../.."])
async def test_dot_dot_under_a_guarded_prefix_never_reaches_the_route(path: str) -> None:
    """uvicorn hands '/webhooks/..' through as sent and Starlette routes it to
    '/webhooks/{name:path}' with name='..': the middleware must ask for a signature."""
    app = starlette_app(paths=["/webhooks"])
    driver = await Driver(chunks_of(b'{"event": "paid"}', [])).run(app, http_scope(path))
    assert driver.status == 401
    assert json.loads(driver.body)["code"] == "missing_signature"
