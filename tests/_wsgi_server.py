"""A real WSGI server on 127.0.0.1 (ephemeral port) in a thread, for end-to-end tests: the
standard library's wsgiref (threaded) or Werkzeug's development server. Stopped, with its thread
joined, when the ``with`` block ends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any, Literal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from werkzeug.serving import make_server as werkzeug_make_server

STOP_TIMEOUT = 15.0
Kind = Literal["wsgiref", "werkzeug"]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def wsgi_server(app: Any, kind: Kind = "wsgiref") -> Iterator[int]:
    """Serve ``app``; yield the port; stop the server afterwards."""
    if kind == "werkzeug":
        httpd: Any = werkzeug_make_server("127.0.0.1", 0, app, threaded=True)
    else:
        httpd = make_server(
            "127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler
        )
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(STOP_TIMEOUT)
        assert not thread.is_alive(), "the WSGI server did not stop"
