"""Secrets from a JSON endpoint over HTTP (httpx), with auth headers kept out of sight.

The response is mapped to secrets by a :class:`JsonMapping` (default :meth:`JsonMapping.plain`;
the provider APIs have their own sources), and its ``Cache-Control: max-age`` becomes the
snapshot's TTL hint. Errors name the method, the URL
without its query (tokens live there) and what went wrong; never a header or a byte of the body.

``timeout`` bounds the whole fetch, not each read: httpx's timeouts are per operation, so a
server sending a byte a second would never time out. ``afetch`` runs the request inside one
cancel scope (``anyio.fail_after``). ``fetch`` keeps a deadline that shuts the fetch's sockets
down when it passes (shutting a socket down wakes a read blocked on it in another thread); it
learns them from httpx's ``trace`` extension as each connection opens, which is why the client
it makes keeps no idle connections (a reused one would open unseen).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigurationError
from ._base import Fetched, SecretSource, SourceError
from ._mapping import JsonMapping

try:
    import anyio
    import httpx
except ImportError as exc:  # pragma: no cover - exercised by a test that hides httpx
    from .._extras import missing_extra

    raise missing_extra("HttpSource", "httpx", "http") from exc

__all__ = ["HttpSource", "JsonMapping", "cache_ttl"]

DEFAULT_MAX_RESPONSE_SIZE = 1024 * 1024
"""A secrets document is small; a larger answer is refused rather than buffered."""


class HttpSource(SecretSource):
    """GET (or POST ``json_body`` to) ``url`` and map the JSON answer to secrets.

    ``headers`` (e.g. ``{"Authorization": "Bearer ..."}``) are sent with every request and
    never logged or shown in ``repr``. ``transport`` is handed to the httpx client (a
    ``MockTransport``, or a transport with retries or a proxy). Clients are created on first
    use and closed by :meth:`close` / :meth:`aclose` (in asyncio code use ``aclose``: it closes
    both); closing ends a fetch in progress. Redirects are not followed: the auth headers must not
    travel to another host, so a 3xx is a failure like any other non-2xx answer.

    ``timeout`` bounds the whole fetch: connecting, the answer's headers and its body. (A DNS
    lookup in ``fetch`` is bounded only by the system resolver; with ``transport=`` a connection
    the transport reuses is bounded from its answer's headers on.)
    """

    def __init__(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        mapping: JsonMapping | None = None,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        name: str | None = None,
    ) -> None:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            raise ConfigurationError("HttpSource needs an absolute http(s) URL") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigurationError("HttpSource needs an absolute http(s) URL")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ConfigurationError("timeout must be a positive number of seconds")
        if max_response_size < 1:
            raise ConfigurationError("max_response_size must be positive")
        self.url = url
        self.method = method.upper()
        self.mapping = JsonMapping.plain() if mapping is None else mapping
        self.timeout = float(timeout)
        self.max_response_size = max_response_size
        self.name = name or f"http:{parsed.host}"
        self._where = f"{self.method} {_public_url(parsed)}"
        self._headers = {"Accept": "application/json", **(headers or {})}
        self._json_body = json_body
        self._transport = transport
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None
        self._deadlines: set[_Deadline] = set()

    @property
    def async_only(self) -> bool:
        """True when the ``transport`` given works only with asyncio (then use ``afetch``)."""
        transport = self._transport
        return isinstance(transport, httpx.AsyncBaseTransport) and not isinstance(
            transport, httpx.BaseTransport
        )

    def __repr__(self) -> str:
        return f"HttpSource(name={self.name!r}, url={self._where.split(' ', 1)[1]!r})"

    # -- sync ---------------------------------------------------------------------------------

    def fetch(self) -> Fetched:
        client = self._sync_client()
        deadline = _Deadline(self.timeout, f"hookseal-{self.name}-deadline")
        with self._lock:
            self._deadlines.add(deadline)
        try:
            with client.stream(
                self.method,
                self.url,
                headers=self._headers,
                json=self._json_body,
                extensions={"trace": deadline.trace},
            ) as response:
                deadline.watch(response.extensions.get("network_stream"))
                body = self._read(response, response.iter_bytes())
        except httpx.TimeoutException:
            raise self._error(f"timed out after {self.timeout:g}s") from None
        except (httpx.HTTPError, OSError) as exc:
            if deadline.expired:
                raise self._error(f"timed out after {self.timeout:g}s") from None
            raise self._error(f"request failed ({type(exc).__name__})") from None
        finally:
            deadline.cancel()
            with self._lock:
                self._deadlines.discard(deadline)
        return self._parse(response, body)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            running = list(self._deadlines)
        for deadline in running:  # wake a fetch blocked on a socket before closing it
            deadline.expire()
        if client is not None:
            client.close()

    def _sync_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                transport = self._transport
                if transport is not None and not isinstance(transport, httpx.BaseTransport):
                    raise ConfigurationError("this transport is async-only: use afetch()")
                self._client = httpx.Client(
                    timeout=self.timeout,
                    transport=transport,
                    follow_redirects=False,
                    limits=httpx.Limits(max_keepalive_connections=0),
                )
            return self._client

    # -- asyncio ------------------------------------------------------------------------------

    async def afetch(self) -> Fetched:
        client = self._async_client()
        try:
            with anyio.fail_after(self.timeout):
                async with client.stream(
                    self.method, self.url, headers=self._headers, json=self._json_body
                ) as response:
                    chunks = [chunk async for chunk in self._alimited(response)]
                    body = b"".join(chunks)
        except (httpx.TimeoutException, TimeoutError):
            raise self._error(f"timed out after {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise self._error(f"request failed ({type(exc).__name__})") from None
        return self._parse(response, body)

    async def aclose(self) -> None:
        client, self._aclient = self._aclient, None
        if client is not None:
            await client.aclose()
        self.close()

    def _async_client(self) -> httpx.AsyncClient:
        if self._aclient is None:
            transport = self._transport
            if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
                raise ConfigurationError("this transport is sync-only: use fetch()")
            self._aclient = httpx.AsyncClient(
                timeout=self.timeout, transport=transport, follow_redirects=False
            )
        return self._aclient

    async def _alimited(self, response: httpx.Response) -> Any:
        self._check_status(response)
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_response_size:
                raise self._error(f"response larger than {self.max_response_size} bytes")
            yield chunk

    # -- shared -------------------------------------------------------------------------------

    def _read(self, response: httpx.Response, chunks: Any) -> bytes:
        self._check_status(response)
        parts: list[bytes] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > self.max_response_size:
                raise self._error(f"response larger than {self.max_response_size} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def _check_status(self, response: httpx.Response) -> None:
        if not 200 <= response.status_code < 300:
            raise self._error(f"answered HTTP {response.status_code}")

    def _parse(self, response: httpx.Response, body: bytes) -> Fetched:
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):  # nested deeper than json can read
            raise self._error("response is not valid JSON") from None
        try:
            secrets = self.mapping.secret_set(document)
        except SourceError as exc:
            raise self._error(str(exc)) from None
        return Fetched(secrets, cache_ttl(response.headers))

    def _error(self, what: str) -> SourceError:
        return SourceError(f"{self.name}: {self._where}: {what}")


class _Deadline:
    """The end of one sync fetch: when it passes, the sockets the fetch opened are shut down,
    which ends a connect, read or write blocked on them (and no later one can start)."""

    def __init__(self, seconds: float, name: str) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self._timer = threading.Timer(seconds, self.expire)
        self._timer.name = name
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpx's ``trace`` extension: learn each connection the fetch opens."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            self.watch(info.get("return_value"))

    def watch(self, stream: Any) -> None:
        """Shut ``stream``'s socket down at the deadline (at once if it has passed)."""
        get = getattr(stream, "get_extra_info", None)
        sock = get("socket") if callable(get) else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def cancel(self) -> None:
        """The fetch is over: stop the timer (its thread ends at once)."""
        self._timer.cancel()
        if self._timer is not threading.current_thread():
            self._timer.join()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by its owner
        sock.shutdown(socket.SHUT_RDWR)


def cache_ttl(headers: Mapping[str, str]) -> float | None:
    """Seconds the answer stays fresh per ``Cache-Control: max-age`` minus ``Age``; ``0``
    for ``no-cache``/``no-store``; ``None`` when the server says nothing usable."""
    directives: dict[str, str | None] = {}
    for raw in headers.get("cache-control", "").split(","):
        name, _, arg = raw.strip().partition("=")
        if name:
            directives[name.lower()] = arg.strip().strip('"') if arg else None
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    max_age = directives.get("max-age")
    if max_age is None or not _digits(max_age):
        return None
    age = headers.get("age", "0").strip()
    return float(max(0, _seconds(max_age) - (_seconds(age) if _digits(age) else 0)))


_MAX_DELTA_SECONDS = 2**31
"""RFC 9111 5.2.1: a delta-seconds past 2**31 is taken as 2**31. Read without the bound, a
few hundred digits overflow a float and a few thousand Python's int parser."""


def _seconds(digits: str) -> int:
    if len(digits) > len(str(_MAX_DELTA_SECONDS)):
        return _MAX_DELTA_SECONDS
    return min(int(digits), _MAX_DELTA_SECONDS)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _public_url(url: httpx.URL) -> str:
    """The URL without user info, query or fragment: those may carry credentials."""
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"
