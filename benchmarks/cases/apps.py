"""The web apps the middleware cases drive, bare and guarded, and how a request is sent in.

Every app answers ``POST /webhooks/event`` by reading the whole body and replying ``ok``, so
the bare app pays for reading the body too and the difference is what hookseal adds. The
guarded apps use one secret and the default scheme; ``uvicorn`` imports the factories
:func:`bare_starlette` and :func:`guarded_starlette` by name (``--factory``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from fastapi import Depends, FastAPI, Request

from hookseal import Verified, sign

__all__ = [
    "PATH",
    "SECRET",
    "asgi_headers",
    "bare_fastapi",
    "bare_flask",
    "bare_starlette",
    "dependency_fastapi",
    "drive_asgi",
    "drive_wsgi",
    "extension_flask",
    "guarded_flask",
    "guarded_starlette",
    "signed_headers",
    "wsgi_environ",
]

SECRET = "whsec_YmVuY2htYXJrLXNlY3JldC1mb3ItaG9va3NlYWw="
PATH = "/webhooks/event"
Message = MutableMapping[str, Any]
ASGIApp = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_CLIENT_HEADERS: tuple[tuple[str, str], ...] = (
    ("host", "127.0.0.1:8000"),
    ("user-agent", "provider-webhooks/1.0"),
    ("accept", "*/*"),
    ("accept-encoding", "gzip, deflate"),
    ("connection", "keep-alive"),
    ("content-type", "application/json"),
    ("x-request-id", "7f0c2a4e-1b9d-4c8e-a1f3-2d5e6b7c8d9e"),
)
"""What a provider's delivery carries besides its signature (ten headers in all)."""


def signed_headers(body: bytes) -> dict[str, str]:
    """The signature headers for ``body`` (default scheme, no timestamp: replayable in loads)."""
    return sign(body, SECRET)


def asgi_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    """An ASGI raw header list as a server builds it: lower-case names, ten headers."""
    pairs = [(k.encode(), v.encode()) for k, v in _CLIENT_HEADERS]
    pairs += [(k.lower().encode(), v.encode()) for k, v in signed_headers(body).items()]
    pairs.append((b"content-length", str(len(body)).encode()))
    return pairs


def _scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


async def drive_asgi(
    app: ASGIApp, headers: list[tuple[bytes, bytes]], chunks: list[bytes], count: int
) -> None:
    """Send ``count`` requests through ``app``; the body arrives as ``chunks``; 200 or raise."""
    status = 0

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    last = len(chunks) - 1
    for _ in range(count):
        index = 0

        async def receive() -> Message:
            nonlocal index
            if index > last:
                return {"type": "http.disconnect"}
            chunk = chunks[index]
            index += 1
            return {"type": "http.request", "body": chunk, "more_body": index <= last}

        status = 0
        await app(_scope(headers), receive, send)
        if status != 200:
            raise AssertionError(f"the benchmark request was answered {status}, not 200")


async def _ok(request: Request) -> Any:
    from starlette.responses import Response

    body = await request.body()
    return Response(b"ok" if body else b"empty", media_type="text/plain")


def bare_starlette() -> Any:
    """Starlette, one route that reads the body."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    return Starlette(routes=[Route(PATH, _ok, methods=["POST"])])


def guarded_starlette(max_body_size: int = 1 << 20, **options: Any) -> Any:
    """The same app behind :class:`hookseal.asgi.WebhookVerificationMiddleware` (``options``:
    more of its keywords, such as ``body_timeout``)."""
    from hookseal.asgi import WebhookVerificationMiddleware

    app = bare_starlette()
    app.add_middleware(
        WebhookVerificationMiddleware,
        secrets=SECRET,
        paths=["/webhooks"],
        max_body_size=max_body_size,
        **options,
    )
    return app


def bare_fastapi() -> ASGIApp:
    """FastAPI, one route that reads the body."""
    app = FastAPI()

    @app.post(PATH)
    async def hook(request: Request) -> Any:  # annotations resolve in this module's globals
        return await _ok(request)

    return app


def dependency_fastapi(*, document_headers: bool = True) -> ASGIApp:
    """The same route verified by :class:`hookseal.integrations.fastapi.VerifiedWebhook`."""
    from hookseal.integrations.fastapi import VerifiedWebhook

    app = FastAPI()
    verified = VerifiedWebhook(SECRET, document_headers=document_headers)

    @app.post(PATH)
    async def hook(request: Request, event: Verified = Depends(verified)) -> Any:  # noqa: B008
        return await _ok(request)

    return app


def _flask(**config: Any) -> Any:
    from flask import Flask, request

    app = Flask("bench")
    app.config.update(config)
    if config:
        from hookseal.integrations.flask import HookSeal

        HookSeal(app)

    @app.post(PATH)
    def hook() -> tuple[str, int]:
        return str(len(request.get_data())), 200

    return app


def bare_flask() -> WSGIApp:
    """Flask, one route that reads the body."""
    return _flask().wsgi_app  # type: ignore[no-any-return]


def guarded_flask() -> WSGIApp:
    """The same app behind :class:`hookseal.wsgi.WebhookVerificationMiddleware`."""
    from hookseal.wsgi import WebhookVerificationMiddleware

    return WebhookVerificationMiddleware(bare_flask(), secrets=SECRET, paths=["/webhooks"])


def extension_flask() -> WSGIApp:
    """The same route guarded by the ``HookSeal`` extension (``HOOKSEAL_PATHS``)."""
    app = _flask(HOOKSEAL_SECRETS=SECRET, HOOKSEAL_PATHS=["/webhooks"])
    return app.wsgi_app  # type: ignore[no-any-return]


def wsgi_environ(body: bytes) -> Callable[[], dict[str, Any]]:
    """A maker of fresh environs for a signed POST of ``body`` (as a WSGI server builds them)."""
    base: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": PATH,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in _CLIENT_HEADERS + tuple(signed_headers(body).items()):
        key = name.upper().replace("-", "_")
        base[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value

    def make() -> dict[str, Any]:
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(body)
        return environ

    return make


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
    if not status.startswith("200"):
        raise AssertionError(f"the benchmark request was answered {status}, not 200")
    return None


def drive_wsgi(app: WSGIApp, make: Callable[[], dict[str, Any]]) -> int:
    """One request through ``app``; the response's length (the body is consumed)."""
    result = app(make(), _start_response)
    size = 0
    try:
        for chunk in result:
            size += len(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return size
