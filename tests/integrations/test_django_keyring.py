"""A keyring behind a Django async view served by a WSGI server refreshes (issue 8, item 1).

Under WSGI, Django runs an async view through asgiref's ``async_to_sync``: each request gets an
event loop that is gone when it ends. A keyring that refreshed on the caller's loop never
refreshed there. A real WSGI server on 127.0.0.1, a real HTTP secrets endpoint that revokes a
secret, real requests.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from _http_secrets_server import Server, secrets_http_server  # noqa: E402
from hookseal import Keyring, SignatureMismatch, Verifier  # noqa: E402
from hookseal.sources.http import HttpSource  # noqa: E402
from hookseal.testing import signed_request  # noqa: E402

OLD = "django-loops-old-aaaaaaaaaaaaaaaa"
NEW = "django-loops-new-bbbbbbbbbbbbbbbb"
DEADLINE = 20.0  # a failure bound: with refresh_interval=1 it takes about a second

_verifier: dict[str, Verifier] = {}


async def hook(request: HttpRequest) -> HttpResponse:
    try:
        await _verifier["current"].averify(request.body, dict(request.headers))
    except SignatureMismatch:
        return HttpResponse("refused", status=401)
    return HttpResponse("ok")


urlpatterns = [path("keyring-hook", csrf_exempt(hook))]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def django_url() -> Iterator[str]:
    with override_settings(ROOT_URLCONF=sys.modules[__name__]):
        server: WSGIServer = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=_Quiet)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/keyring-hook"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)


@pytest.fixture
def secrets() -> Iterator[Server]:
    both = {"secrets": [{"id": "k2", "value": NEW}, {"id": "k1", "value": OLD}]}
    with secrets_http_server(both) as running:
        yield running


def test_a_django_async_view_under_wsgi_sees_a_revocation(django_url: str, secrets: Server) -> None:
    keyring = Keyring(HttpSource(secrets.url, timeout=2), refresh_interval=1, cooldown=3_600)
    _verifier["current"] = Verifier(keyring.start())
    pause = threading.Event()
    try:
        with httpx.Client(timeout=10) as client:

            def status(secret: str) -> int:
                body, headers = signed_request({"event": "paid"}, secret)
                return client.post(django_url, content=body, headers=headers).status_code

            assert status(NEW) == 200
            secrets.behaviour.document = {"secrets": [{"id": "k1", "value": OLD}]}
            for _ in range(int(DEADLINE / 0.05)):
                if status(NEW) == 401:
                    break
                pause.wait(0.05)
            assert status(NEW) == 401  # revoked at the source: refused within seconds
            assert status(OLD) == 200
    finally:
        keyring.close()
        _verifier.clear()
    assert keyring.stats().fetches == secrets.hits
