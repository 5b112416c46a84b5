"""A real HTTP server on 127.0.0.1 (free port, own thread) in front of one imitated API.

The API object decides every answer from the request (:class:`Received`); a test can put
answers of its own first in line with :meth:`ApiServer.script` (the documented examples byte
for byte, malformed answers, a hang, a slow drip). Every request is recorded.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, Protocol, TypeVar

HANG_LIMIT = 10.0  # a hanging answer is released at teardown, and never waits longer than this
MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Received:
    """One request as the server saw it; header names are lower case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class Answer:
    """What to send back. ``hang`` waits (until the server stops) before answering;
    ``drip`` sends the body one byte at a time, that many seconds apart."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    drip: float = 0.0


class Api(Protocol):
    def route(self, request: Received) -> Answer: ...


A = TypeVar("A", bound=Api)


class ApiServer(Generic[A]):
    """The running server: ``base_url``, the imitated ``api``, what it received."""

    def __init__(self, api: A) -> None:
        self.api = api
        self.received: list[Received] = []
        self._scripted: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def script(self, *answers: Answer) -> None:
        """Answer the next requests with these, in order, before the API answers again."""
        with self._lock:
            self._scripted.extend(answers)

    def requests_to(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def answer(self, request: Received) -> Answer:
        with self._lock:
            self.received.append(request)
            scripted = self._scripted.popleft() if self._scripted else None
        return scripted if scripted is not None else self.api.route(request)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=HANG_LIMIT)

    def wait_released(self) -> None:
        self._release.wait(HANG_LIMIT)

    @property
    def released(self) -> bool:
        return self._release.is_set()


def _handler(server: ApiServer[Any]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def do_PATCH(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = self.headers.get("Content-Length", "0")
            size = int(length) if length.isdigit() else 0
            body = self.rfile.read(min(size, MAX_BODY)) if size else b""
            parsed = urllib.parse.urlsplit(self.path)
            request = Received(
                method=self.command,
                path=parsed.path,
                query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            answer = server.answer(request)
            if answer.hang:
                server.wait_released()
            self._send(answer)

        def _send(self, answer: Answer) -> None:
            try:
                self.send_response(answer.status)
                if answer.body or answer.content_type:
                    self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if answer.drip and answer.body:
                    for index in range(len(answer.body)):
                        if server.released:
                            return
                        self.wfile.write(answer.body[index : index + 1])
                        self.wfile.flush()
                        time.sleep(answer.drip)
                else:
                    self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

    return Handler


@contextmanager
def serving(api: A) -> Iterator[ApiServer[A]]:
    """Serve ``api`` on a free loopback port for the duration of the block."""
    server = ApiServer(api)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def json_answer(status: int, document: Any, content_type: str = "application/json") -> Answer:
    import json

    return Answer(status, json.dumps(document).encode(), content_type=content_type)


Route = Callable[[Received], Answer]
