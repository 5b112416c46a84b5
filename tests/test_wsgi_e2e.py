"""End to end: the Flask example under real WSGI servers on 127.0.0.1, driven with httpx.

The example answers with the SHA-256 of the body its view read, so a truncated or reordered
body fails the test. Two servers: Werkzeug's (de-chunks and sets ``wsgi.input_terminated``) and
the standard library's wsgiref (does neither, so a chunked body must be refused with 411).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from types import ModuleType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from werkzeug.serving import make_server as werkzeug_make_server

from hookseal.testing import forged_request, signed_request

SECRET = "e2e-wsgi-secret"
LIMIT = 64 * 1024
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "flask_app.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hookseal_flask_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Server:
    def __init__(self, kind: str, url: str, port: int) -> None:
        self.kind = kind
        self.url = url
        self.port = port


@pytest.fixture(params=["werkzeug", "wsgiref"])
def server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("HOOKSEAL_MAX_BODY_SIZE", str(LIMIT))
    app = load_example().create_app([SECRET])
    if request.param == "werkzeug":
        httpd: Any = werkzeug_make_server("127.0.0.1", 0, app, threaded=True)
    else:
        httpd = make_server(
            "127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler
        )
    port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Server(request.param, f"http://127.0.0.1:{port}", port)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def test_signed_delivery(client: httpx.Client) -> None:
    body, headers = signed_request({"event": "invoice.paid", "amount": 1999}, SECRET)
    response = client.post("/webhooks/billing", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["sha256"] == sha(body)
    assert response.json()["source"] == "billing"


def test_forged_delivery(client: httpx.Client) -> None:
    body, headers = forged_request({"event": "invoice.paid"})
    response = client.post("/webhooks/billing", content=body, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "signature_mismatch"


def test_many_small_chunks_with_content_length(client: httpx.Client) -> None:
    body, headers = signed_request(bytes(range(256)) * 40, SECRET)

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    headers["Content-Length"] = str(len(body))
    response = client.post("/webhooks/bulk", content=pieces(), headers=headers)
    assert response.status_code == 200
    assert response.json()["sha256"] == sha(body)
    assert response.json()["length"] == len(body)


def test_chunked_without_content_length(client: httpx.Client, server: Server) -> None:
    body, headers = signed_request({"chunked": True, "pad": "x" * 5000}, SECRET)

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    response = client.post("/webhooks/chunked", content=pieces(), headers=headers)
    if server.kind == "werkzeug":  # de-chunks and sets wsgi.input_terminated
        assert response.status_code == 200
        assert response.json()["sha256"] == sha(body)
    else:  # wsgiref hands over the raw chunked stream: refused, never misread
        assert response.status_code == 411
        assert response.json()["code"] == "length_required"


def test_oversized_body_is_413(client: httpx.Client) -> None:
    body, headers = signed_request(b"x" * (LIMIT + 1), SECRET)
    response = client.post("/webhooks/big", content=body, headers=headers)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_body_at_the_limit_passes(client: httpx.Client) -> None:
    body, headers = signed_request(b"y" * LIMIT, SECRET)
    response = client.post("/webhooks/big", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["sha256"] == sha(body)


def test_client_that_stops_mid_body(server: Server, client: httpx.Client) -> None:
    body, headers = signed_request({"event": "cut"}, SECRET)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"POST /webhooks/cut HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{head}\r\n"
    ).encode() + body[:10]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)  # the body ends early
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 400 " in status_line
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["code"] == "incomplete_body"
    assert client.get("/health").status_code == 200  # the server is still fine


def test_concurrent_deliveries(client: httpx.Client) -> None:
    deliveries = [signed_request({"n": n, "pad": "z" * (n * 37)}, SECRET) for n in range(48)]
    deliveries += [forged_request({"n": n}) for n in range(8)]

    def send(delivery: tuple[bytes, dict[str, str]]) -> tuple[int, str | None]:
        body, headers = delivery
        response = client.post("/webhooks/load", content=body, headers=headers)
        return response.status_code, response.json().get("sha256")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, deliveries))
    for (body, _), (status, digest) in zip(deliveries[:48], results[:48], strict=True):
        assert status == 200
        assert digest == sha(body)
    assert all(status == 401 for status, _ in results[48:])


def test_connection_is_usable_after_a_refusal_without_reading(client: httpx.Client) -> None:
    big, big_headers = signed_request(b"x" * (LIMIT + 1), SECRET)
    assert client.post("/webhooks/big", content=big, headers=big_headers).status_code == 413
    unsigned = client.post("/webhooks/a", content=b'{"unsigned": true}')  # refused unread
    assert unsigned.status_code == 401
    body, headers = signed_request({"after": "refusal"}, SECRET)
    response = client.post("/webhooks/after", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["sha256"] == sha(body)
