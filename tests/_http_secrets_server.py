"""A real HTTP secrets endpoint on 127.0.0.1 for the tests: it rotates, fails, hangs and lies.

Shared by ``tests/sources/test_http.py`` and ``tests/test_rotation_e2e.py``. Tests change its
:class:`Behaviour` while it runs; every request it receives is recorded (its hit counter).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG_LIMIT = 10.0  # a hanging answer is released at teardown, and never waits longer than this
PATH = "/webhooks/secrets"


@dataclass
class Behaviour:
    """What the server does next; tests change it while the server runs."""

    document: Any
    mode: str = "json"  # json | status | hang | raw
    status: int = 200
    raw: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


class Server:
    """The running server: its URL and the behaviour to steer."""

    def __init__(self, httpd: ThreadingHTTPServer, behaviour: Behaviour) -> None:
        self.httpd = httpd
        self.behaviour = behaviour
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}{PATH}"

    @property
    def hits(self) -> int:
        """How many requests (fetches) reached the server so far."""
        return len(self.behaviour.requests)


def _handler(behaviour: Behaviour) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            self._answer(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self._answer(self.rfile.read(length))

        def _answer(self, body: bytes) -> None:
            b = behaviour
            b.requests.append((self.command, body))
            document = b.document  # one read: a rotation swaps the whole document at once
            if b.token is not None and self.headers.get("Authorization") != f"Bearer {b.token}":
                self._send(401, b'{"error": "unauthorized"}')
            elif b.mode == "hang":
                b.release.wait(HANG_LIMIT)
                self._send(200, json.dumps(document).encode())
            elif b.mode == "status":
                self._send(b.status, json.dumps(document).encode())
            elif b.mode == "raw":
                self._send(200, b.raw)
            else:
                self._send(200, json.dumps(document).encode())

        def _send(self, status: int, payload: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in behaviour.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

    return Handler


@contextmanager
def secrets_http_server(document: Any) -> Iterator[Server]:
    """Serve ``document`` as JSON at ``PATH`` on a free loopback port; stop it afterwards."""
    behaviour = Behaviour(document=document)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(behaviour))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Server(httpd, behaviour)
    finally:
        behaviour.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=HANG_LIMIT)
