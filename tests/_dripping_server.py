"""An HTTP server on 127.0.0.1 that answers one byte at a time (a slow or hostile endpoint).

Each connection gets a valid response that takes ``len(response) * interval`` seconds to
arrive: with ``phase="headers"`` it drips from the first byte of the status line, with
``phase="body"`` the headers arrive at once and the body drips. The server notices when the
client closes or shuts a connection down (``live`` counts the connections still open,
``most_live`` the most that were open at once).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BODY = b'{"secrets": [{"id": "k1", "value": "dripping-secret-value"}]}' + b" " * 200


class DrippingServer:
    def __init__(self, interval: float, phase: str) -> None:
        self.interval = interval
        self.phase = phase
        self.accepted = 0
        self.live = 0
        self.most_live = 0  # the most connections open at once
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/secrets"
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="dripping-server")
        self._accepting.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self.live += 1
                self.most_live = max(self.most_live, self.live)
            thread = threading.Thread(target=self._drip, args=(conn,), name="dripping-conn")
            self._threads.append(thread)
            thread.start()

    def _response(self) -> tuple[bytes, bytes]:
        """(sent at once, dripped)."""
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
        )
        if self.phase == "headers":
            return b"", head + BODY
        return head, BODY

    def _drip(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(self.interval)
            conn.recv(65536)  # the request (small: one read is enough here)
            now, later = self._response()
            if now:
                conn.sendall(now)
            for index in range(len(later)):
                if self._closed_by_peer(conn):
                    return
                conn.sendall(later[index : index + 1])
            self._closed_by_peer(conn)
        except OSError:
            return
        finally:
            conn.close()
            with self._lock:
                self.live -= 1

    def _closed_by_peer(self, conn: socket.socket) -> bool:
        """Wait one interval; True if the client closed meanwhile (or the server stops)."""
        try:
            return conn.recv(1) == b"" or self._stop.is_set()
        except TimeoutError:
            return self._stop.is_set()


@contextmanager
def dripping_server(interval: float = 1.0, phase: str = "headers") -> Iterator[DrippingServer]:
    server = DrippingServer(interval, phase)
    try:
        yield server
    finally:
        server._stop.set()
        server._listener.close()
        server._accepting.join(10)
        for thread in server._threads:
            thread.join(10)
