"""A real uvicorn server on 127.0.0.1 (ephemeral port) in a thread, for end-to-end tests.

Shared by ``tests/test_asgi_e2e.py`` and ``tests/test_rotation_e2e.py``; the server is always
stopped (and its thread joined) when the ``with`` block ends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn

START_TIMEOUT = 10.0
STOP_TIMEOUT = 15.0


@contextmanager
def uvicorn_server(
    app: Any,
    *,
    lifespan: Literal["on", "off"] = "off",
    proxy_headers: bool = True,
    root_path: str = "",
) -> Iterator[int]:
    """Serve ``app`` on a free loopback port; yield the port; stop the server afterwards.

    ``proxy_headers=False`` turns off uvicorn's own reading of ``X-Forwarded-Proto``/``-For``
    (on by default for 127.0.0.1), so the app sees the connection as it is. ``root_path``: the
    mount point a proxy in front strips (uvicorn's ``--root-path``).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan=lifespan,
        timeout_keep_alive=5,
        proxy_headers=proxy_headers,
        root_path=root_path,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:  # bounded: START_TIMEOUT at most
            assert thread.is_alive(), "uvicorn stopped during start-up"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"
