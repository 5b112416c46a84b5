"""End to end over a real socket: uvicorn on 127.0.0.1 (ephemeral port) serving the FastAPI
example, driven with httpx and a raw socket. The app echoes the SHA-256 of the body it read,
so a truncated, reordered or corrupted body fails the test."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from _uvicorn_server import uvicorn_server
from hookseal import Secret
from hookseal.testing import forged_request, signed_request

SECRET = "e2e-secret"
OLD_SECRET = "e2e-old-secret"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"hookseal_example_{name}", EXAMPLES / name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Served:
    def __init__(self, app: Any, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def deliveries(self) -> int:
        return int(httpx.get(self.url + "/healthz", timeout=10).json()["deliveries"])


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    app = load_example("fastapi_app.py").create_app([SECRET, OLD_SECRET])
    with uvicorn_server(app) as port:
        yield Served(app, port)


@pytest.fixture
def http(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=20) as client:
        yield client


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def test_signed_delivery(http: httpx.Client) -> None:
    body, headers = signed_request({"event": "invoice.paid", "id": 1}, SECRET)
    response = http.post("/webhooks/events/billing", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["sha256"] == sha(body)
    assert response.json()["secret_id"] == Secret(SECRET).id


def test_old_secret_during_rotation(http: httpx.Client) -> None:
    body, headers = signed_request({"event": "rotating"}, OLD_SECRET)
    response = http.post("/webhooks/events/billing", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["secret_id"] == Secret(OLD_SECRET).id


def test_forged_and_tampered_deliveries(http: httpx.Client) -> None:
    body, headers = forged_request({"event": "invoice.paid"})
    response = http.post("/webhooks/events/billing", content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    body, headers = signed_request({"event": "invoice.paid"}, SECRET)
    response = http.post("/webhooks/events/billing", content=body[:-1], headers=headers)
    assert response.status_code == 401


def test_stripe_dependency_valid_and_stale(http: httpx.Client) -> None:
    body, headers = signed_request({"id": "evt_1"}, SECRET, scheme="stripe")
    response = http.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["sha256"] == sha(body)
    body, headers = signed_request({"id": "evt_1"}, SECRET, scheme="stripe", now=time.time() - 900)
    response = http.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "timestamp_too_old"


def test_many_small_chunks_with_content_length(http: httpx.Client) -> None:
    body, headers = signed_request(bytes(range(256)) * 256, SECRET)  # 64 KiB

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 97):
            yield body[start : start + 97]

    headers["Content-Length"] = str(len(body))
    response = http.post("/webhooks/events/chunks", content=pieces(), headers=headers)
    assert response.status_code == 200
    assert response.json()["sha256"] == sha(body)
    assert response.json()["length"] == len(body)


def test_chunked_without_content_length(http: httpx.Client) -> None:
    body, headers = signed_request(b"z" * 300_000, SECRET)

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    request = http.build_request(
        "POST", "/webhooks/events/chunked", content=pieces(), headers=headers
    )
    assert request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in request.headers
    response = http.send(request)
    assert response.status_code == 200
    assert response.json()["sha256"] == sha(body)


def test_oversized_declared_body_is_413(http: httpx.Client) -> None:
    body, headers = signed_request(b"x" * ((1 << 20) + 1), SECRET)
    response = http.post("/webhooks/events/big", content=body, headers=headers)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_oversized_chunked_body_is_413(served: Served) -> None:
    body, headers = signed_request(b"x" * (3 << 20), SECRET)

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    before = served.deliveries()
    with httpx.Client(base_url=served.url, timeout=20) as http:
        try:
            response = http.post("/webhooks/events/big", content=pieces(), headers=headers)
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            response = None  # the server answered and closed while we were still sending
    if response is not None:
        assert response.status_code == 413
    assert served.deliveries() == before


def test_client_disconnecting_mid_body_never_reaches_the_app(served: Served) -> None:
    body, headers = signed_request(b"q" * 10_000, SECRET)
    before = served.deliveries()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"POST /webhooks/events/cut HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body[: len(body) // 2]
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as raw:
        raw.sendall(request)
    # The server is healthy, the half delivery never reached the app, the next one does.
    assert served.deliveries() == before
    full, full_headers = signed_request(b"q" * 10_000, SECRET)
    response = httpx.post(
        served.url + "/webhooks/events/after", content=full, headers=full_headers, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["sha256"] == sha(full)
    assert served.deliveries() == before + 1


def test_streaming_response(http: httpx.Client) -> None:
    body, headers = signed_request({"stream": True}, SECRET)
    with http.stream(
        "POST", "/webhooks/events/s/stream", params={"lines": 40}, content=body, headers=headers
    ) as response:
        assert response.status_code == 200
        lines = list(response.iter_lines())
    assert lines == [f"{n} {sha(body)}" for n in range(40)]


async def test_concurrent_deliveries(served: Served) -> None:
    limits = httpx.Limits(max_connections=16)
    gate = asyncio.Semaphore(16)

    async def one(client: httpx.AsyncClient, n: int) -> None:
        if n % 4 == 3:
            body, headers = forged_request({"n": n})
        else:
            body, headers = signed_request({"n": n, "pad": "p" * (n * 37)}, SECRET)
        async with gate:
            response = await client.post(f"/webhooks/events/c{n}", content=body, headers=headers)
        if n % 4 == 3:
            assert response.status_code == 401
        else:
            assert response.status_code == 200
            assert response.json()["sha256"] == sha(body)

    async with httpx.AsyncClient(base_url=served.url, limits=limits, timeout=30) as client:
        await asyncio.gather(*(one(client, n) for n in range(64)))


def test_unguarded_route_and_path_bypass(http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200
    for path in ("//webhooks/events/x", "/Webhooks/Events/x", "/%77ebhooks/events/x"):
        url = http.base_url.copy_with(raw_path=path.encode())
        response = http.post(url, content=b"{}")
        assert response.status_code == 401, path
        assert response.headers["content-type"] == "application/problem+json"


def test_starlette_example() -> None:
    app = load_example("starlette_app.py").create_app([SECRET])
    client = TestClient(app)
    body, headers = signed_request({"event": "ping"}, SECRET)
    response = client.post("/webhooks/ping", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "topic": "ping",
        "sha256": sha(body),
        "length": len(body),
        "secret_id": Secret(SECRET).id,
    }
    assert client.post("/webhooks/ping", content=body).status_code == 401
    assert client.get("/healthz").json() == {"ok": True, "deliveries": 1}


def test_example_secrets_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_example("fastapi_app.py")
    monkeypatch.setenv("HOOKSEAL_SECRETS", " new , old ,")
    assert module.secrets_from_env() == ["new", "old"]
    monkeypatch.delenv("HOOKSEAL_SECRETS")
    assert module.secrets_from_env() == [module.DEV_SECRET]
