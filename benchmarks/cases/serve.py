"""Run one benchmark app under a real server on 127.0.0.1, on a port chosen here.

    python -m benchmarks.cases.serve uvicorn|granian bare|guarded

Prints the port on the first line of stdout, then serves until terminated (SIGTERM). Started
and stopped by :mod:`benchmarks.cases.servers`; a separate process, so its CPU time is its own.
uvicorn runs with httptools (and uvloop when installed); granian with one worker and one
runtime thread. Both serve the factories of :mod:`benchmarks.cases.apps`.
"""

from __future__ import annotations

import socket
import sys

from .apps import bare_starlette, guarded_starlette

APPS = {"bare": bare_starlette, "guarded": guarded_starlette}
FACTORIES = {
    "bare": "benchmarks.cases.apps:bare_starlette",
    "guarded": "benchmarks.cases.apps:guarded_starlette",
}


def _uvloop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def uvicorn_label() -> str:
    """What the uvicorn server runs on, for the tables."""
    return f"uvicorn (httptools, {_uvloop()})"


def granian_available() -> bool:
    try:
        import granian  # noqa: F401
    except ImportError:
        return False
    return True


def _uvicorn(kind: str) -> None:
    import uvicorn

    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the
    # listening socket says TCP, and without it every response waits ~40 ms (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(
        APPS[kind](),
        http="httptools",
        loop=_uvloop(),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=[sock])


def _granian(kind: str) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))  # a free port for granian to bind (it takes no socket)
    port = probe.getsockname()[1]
    probe.close()
    print(port, flush=True)
    Granian(
        FACTORIES[kind],
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        runtime_threads=1,
        factory=True,
        log_enabled=False,
    ).serve()


def main(server: str, kind: str) -> None:
    """Bind, announce the port, serve."""
    {"uvicorn": _uvicorn, "granian": _granian}[server](kind)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
