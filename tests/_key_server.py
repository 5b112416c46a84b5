"""A real HTTP key server on 127.0.0.1 for the fetched-key schemes (SNS certificates, Plaid
JWKs): it serves, fails and hangs per path, and counts every request it receives."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_LIMIT = 10.0  # a hanging answer is released at teardown, and never waits longer than this


@dataclass
class Route:
    """What one path answers: ``body`` with ``status``, or a hang until released."""

    body: bytes = b""
    status: int = 200
    hang: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class KeyServer:
    """The running server: its base URL, its routes (change them while it runs), its hits."""

    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[tuple[str, str, bytes]] = field(default_factory=list)  # method, path, body
    release: threading.Event = field(default_factory=threading.Event)
    answer: Callable[[str, bytes], Route | None] | None = None  # for POSTs (Plaid)

    def count(self, path: str) -> int:
        return sum(1 for _, hit, _ in self.hits if hit == path)


@contextmanager
def key_server() -> Iterator[KeyServer]:
    """Start the server on a free port of 127.0.0.1; stop it (releasing hangs) at the end."""
    server: KeyServer | None = None

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, method: str) -> None:
            assert server is not None
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.hits.append((method, self.path, body))
            route = server.routes.get(self.path)
            if route is None and server.answer is not None:
                route = server.answer(self.path, body)
            if route is None:
                route = Route(b"not found", 404)
            if route.hang:
                server.release.wait(HANG_LIMIT)
            self.send_response(route.status)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: object) -> None:
            return None

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server = KeyServer(f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(
        target=httpd.serve_forever, args=(0.05,), name="key-server", daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(HANG_LIMIT)


def self_signed(key: Any, *, days: int = 30, common_name: str = "sns.amazonaws.com") -> bytes:
    """A PEM certificate for ``key`` (an RSA private key), valid from yesterday for ``days``."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)
