"""Run one benchmark app under uvicorn on 127.0.0.1, on a port the OS picks.

    python -m benchmarks.cases.serve bare|guarded

Prints the port on the first line of stdout, then serves until terminated (SIGTERM). Started
and stopped by :mod:`benchmarks.cases.loopback`; a separate process, so its CPU time is its own.
"""

from __future__ import annotations

import socket
import sys

import uvicorn

from .apps import bare_starlette, guarded_starlette

APPS = {"bare": bare_starlette, "guarded": guarded_starlette}


def main(kind: str) -> None:
    """Bind, announce the port, serve."""
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says TCP, and without it every response waits ~40 ms (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(APPS[kind](), log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1])
