"""A small HTTP/1.1 reverse proxy on 127.0.0.1 for end-to-end tests, as a load balancer would sit
in front of an app: it strips a public path prefix, sets ``Host`` to the backend's address and
describes the original request in ``X-Forwarded-*`` or ``Forwarded`` headers.

It connects to the backend *from* 127.0.0.2 (all of 127.0.0.0/8 is loopback on Linux), so an
app can tell the proxy (trusted) from a client that connects directly from 127.0.0.1 and sends
the same headers itself (a spoofer). One request per connection (``Connection: close``); bodies
by ``Content-Length``. Stopped, with its thread joined, when the ``with`` block ends.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

PROXY_SOURCE = "127.0.0.2"
"""The address the proxy connects to backends from: what apps configure as trusted."""

TIMEOUT = 20.0
Style = Literal["x-forwarded", "forwarded", "malformed"]


@dataclass
class ProxyConfig:
    backend_port: int
    style: Style = "x-forwarded"
    proto: str = "https"  # what the proxy says the sender used (TLS ends at the proxy)
    prefix: str = ""  # the public path prefix the proxy strips before the backend sees it
    seen: list[bytes] = field(default_factory=list)  # request heads as sent to the backend


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            raise ConnectionError("the client closed before its headers ended")
        data += piece
        if len(data) > 1 << 20:
            raise ConnectionError("headers too large")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


class _Handler(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        config = self.server.config
        client: socket.socket = self.request
        client.settimeout(TIMEOUT)
        head, body = _read_head(client)
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = [tuple(line.split(":", 1)) for line in lines[1:] if line]
        length = 0
        host = ""
        kept: list[tuple[str, str]] = []
        for name, value in headers:
            lower = name.strip().lower()
            if lower == "content-length":
                length = int(value.strip())
            if lower == "host":
                host = value.strip()
                continue
            if lower == "connection":
                continue
            kept.append((name.strip(), value.strip()))
        while len(body) < length:
            piece = client.recv(65536)
            if not piece:
                return
            body += piece
        if config.prefix and (target == config.prefix or target.startswith(config.prefix + "/")):
            target = target[len(config.prefix) :] or "/"
        peer = self.client_address[0]
        kept.append(("Host", f"127.0.0.1:{config.backend_port}"))
        if config.style == "x-forwarded":
            kept += [
                ("X-Forwarded-For", peer),
                ("X-Forwarded-Proto", config.proto),
                ("X-Forwarded-Host", host),
            ]
            if config.prefix:
                kept.append(("X-Forwarded-Prefix", config.prefix))
        elif config.style == "forwarded":
            kept.append(("Forwarded", f'for={peer};proto={config.proto};host="{host}"'))
            if config.prefix:
                kept.append(("X-Forwarded-Prefix", config.prefix))
        else:  # a misconfigured proxy: a Forwarded header that is not RFC 7239
            kept.append(("Forwarded", f"for {peer}; proto=https; host"))
        kept.append(("Connection", "close"))
        out = f"{method} {target} {version}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in kept)
        request = out.encode("latin-1") + b"\r\n"
        config.seen.append(request)
        with socket.create_connection(
            ("127.0.0.1", config.backend_port), timeout=TIMEOUT, source_address=(PROXY_SOURCE, 0)
        ) as backend:
            backend.sendall(request + body)
            while True:
                piece = backend.recv(65536)
                if not piece:
                    break
                client.sendall(piece)


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, config: ProxyConfig) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.config = config


@contextmanager
def reverse_proxy(config: ProxyConfig) -> Iterator[int]:
    """Run the proxy for ``config``; yield the port it listens on."""
    server = _ProxyServer(config)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "the proxy did not stop"


def send(
    port: int, method: str, target: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request on a fresh connection from 127.0.0.1; the status, the response
    headers (lower-case names) and the body (read to the end: the server closes)."""
    lines = [f"{method} {target} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        data = b""
        while True:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    if found.get("transfer-encoding", "").lower() == "chunked":
        rest = _unchunk(rest)
    return int(status_line.split(" ", 2)[1]), found, rest


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out
