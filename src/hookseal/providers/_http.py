"""The HTTP plumbing every provider client shares: one I/O-free flow, two thin drivers.

A client describes a call as a generator (a *flow*) that yields :class:`ApiRequest` objects and
receives :class:`ApiResponse` objects back, the shape of httpx's ``Auth.auth_flow``: pagination,
error translation and parsing are written once, and :meth:`ApiHttp.run` (blocking) and
:meth:`ApiHttp.arun` (asyncio) only move bytes.

Each request is bounded as a whole (connect, headers and body) by ``timeout``, and its answer
by ``max_response_size``; a whole call (every page of a listing) by ``deadline``, six times
``timeout`` unless given: a source's fetch is one call, and a keyring has one thread in a source
at a time, so a listing of slow pages must not hold off every refresh for ``max_pages`` times
``timeout``. Redirects are never followed, so credentials stay with their host.
An ``httpx.AsyncClient`` lives for one flow only: nothing is tied to an event loop that may
be gone by the next call (``asyncio.run`` per call, asgiref's ``async_to_sync``), and nothing
is left open between calls. The blocking driver runs the same flow in ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConfigurationError
from ._read import Shape
from .errors import MalformedAnswer, ProviderUnreachable

if TYPE_CHECKING:
    import httpx

__all__ = ["ApiHttp", "ApiRequest", "ApiResponse", "Flow", "basic_auth", "quote"]

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
DEADLINE_TIMEOUTS = 6
"""A whole call's deadline, in request timeouts, unless ``deadline`` is given."""
DEFAULT_MAX_RESPONSE_SIZE = 1024 * 1024
"""A page of secret metadata is small; a larger answer is refused rather than buffered."""

_QUOTE_LIMIT = 200


@dataclass(frozen=True)
class ApiRequest:
    """One call: ``path`` is relative to the client's base URL. ``confidential`` lists values
    (a secret being set) that must never appear in an error, even if the provider echoes them."""

    method: str
    path: str
    params: Mapping[str, str] | None = None
    json: Any = field(default=None, repr=False)  # may carry a secret being set
    confidential: tuple[str, ...] = field(default=(), repr=False)

    @property
    def where(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class ApiResponse:
    """An answer, read whole: its status, headers and body, and the request it answers."""

    request: ApiRequest
    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The decoded body; :class:`Shape` (a malformed answer) when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # nested deeper than json can read
            raise Shape("the answer is not JSON") from None

    def json_or_none(self) -> Any:
        """The decoded body of an error answer, or None: an unreadable error body is still an
        error, named by its status."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return None


Flow = Generator[ApiRequest, ApiResponse, T]
"""A call as a generator: yield requests, receive their answers, return the result."""


class ApiHttp:
    """Sends a flow's requests to ``base_url`` with the client's auth ``headers``.

    ``provider`` names the API in every error. ``confidential`` lists the credentials inside
    ``headers`` so that no error can quote them. ``transport`` (an ``httpx.AsyncBaseTransport``)
    is for proxies or tests.
    """

    def __init__(
        self,
        base_url: str,
        *,
        provider: str,
        headers: Mapping[str, str],
        confidential: tuple[str, ...] = (),
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        httpx = _httpx()
        try:
            url = httpx.URL(base_url)
        except (httpx.InvalidURL, TypeError):
            raise ConfigurationError(
                f"{provider}: base_url must be an absolute http(s) URL"
            ) from None
        if url.scheme not in ("http", "https") or not url.host or url.query or url.fragment:
            raise ConfigurationError(
                f"{provider}: base_url must be an absolute http(s) URL without query or fragment"
            )
        if url.userinfo:  # it would show in every repr, log line and rotation state
            raise ConfigurationError(
                f"{provider}: base_url must not carry credentials (user:password@); give them "
                "to the client (token=, headers=, the secret key), which keeps them out of sight"
            )
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ConfigurationError(f"{provider}: timeout must be a positive number of seconds")
        if deadline is None:
            deadline = DEADLINE_TIMEOUTS * timeout
        if isinstance(deadline, bool) or not isinstance(deadline, (int, float)):
            raise ConfigurationError(f"{provider}: deadline must be a number of seconds")
        if not deadline >= timeout:
            raise ConfigurationError(
                f"{provider}: deadline (the whole call) must be at least timeout (one request)"
            )
        if isinstance(max_response_size, bool) or not isinstance(max_response_size, int):
            raise ConfigurationError(f"{provider}: max_response_size must be an integer")
        if max_response_size < 1:
            raise ConfigurationError(f"{provider}: max_response_size must be positive")
        for name, value in headers.items():
            if not _header_safe(name) or not _header_safe(value):
                # the message names the header, never its value (a credential)
                raise ConfigurationError(f"{provider}: header {name!r} is empty or not ASCII text")
        self.base_url = str(url).rstrip("/")
        self.host = url.host
        self.provider = provider
        self.timeout = float(timeout)
        self.deadline = float(deadline)
        self.max_response_size = max_response_size
        self._headers = {"Accept": "application/json", **headers}
        self._confidential = tuple(c for c in confidential if c)
        self._transport = transport

    def __repr__(self) -> str:
        return f"ApiHttp(provider={self.provider!r}, base_url={self.base_url!r})"

    # -- drivers ------------------------------------------------------------------------------

    def run(self, flow: Flow[T]) -> T:
        """Run ``flow`` to its end, blocking (each call in its own short event loop)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(flow))
        flow.close()
        raise ConfigurationError(
            f"{self.provider}: a blocking call inside a running event loop; use the a... method"
        )

    async def arun(self, flow: Flow[T]) -> T:
        """Run ``flow`` to its end on the running event loop, within ``deadline``."""
        try:
            return await asyncio.wait_for(self._drive(flow), self.deadline)
        except asyncio.TimeoutError:
            flow.close()
            raise ProviderUnreachable(
                f"{self.label}: the call did not complete within {self.deadline:g} s "
                "(every request of it, every page)",
                provider=self.provider,
            ) from None

    async def _drive(self, flow: Flow[T]) -> T:
        httpx = _httpx()
        async with httpx.AsyncClient(
            timeout=self.timeout,
            follow_redirects=False,
            transport=self._transport,
            verify=_ssl_context(),
        ) as client:
            try:
                request = self._advance(flow, None)
                while True:
                    response = await self._send(client, request)
                    request = self._advance(flow, response)
            except StopIteration as stop:
                result: T = stop.value
                return result
            finally:
                flow.close()

    def _advance(self, flow: Flow[T], response: ApiResponse | None) -> ApiRequest:
        try:
            return next(flow) if response is None else flow.send(response)
        except Shape as exc:
            where = "" if response is None else f" {response.request.where}:"
            raise MalformedAnswer(
                f"{self.label}:{where} {exc}",
                provider=self.provider,
                status=None if response is None else response.status,
            ) from None

    async def _send(self, client: httpx.AsyncClient, request: ApiRequest) -> ApiResponse:
        httpx = _httpx()
        try:
            return await asyncio.wait_for(self._exchange(client, request), self.timeout)
        except asyncio.TimeoutError:
            raise self._unreachable(
                request, f"no complete answer within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise self._unreachable(request, f"request failed ({type(exc).__name__})") from None

    async def _exchange(self, client: httpx.AsyncClient, request: ApiRequest) -> ApiResponse:
        async with client.stream(
            request.method,
            self.base_url + request.path,
            params=request.params,
            json=request.json,
            headers=self._headers,
        ) as response:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_response_size:
                raise self._too_large(request)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self.max_response_size:
                    raise self._too_large(request)
            return ApiResponse(request, response.status_code, dict(response.headers), bytes(body))

    # -- errors -------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        return f"{self.provider} ({self.host})"

    def quote(self, text: object, request: ApiRequest) -> str | None:
        """Provider text for an error message: see :func:`quote`."""
        return quote(text, self._confidential + request.confidential)

    def _unreachable(self, request: ApiRequest, what: str) -> ProviderUnreachable:
        return ProviderUnreachable(f"{self.label}: {request.where}: {what}", provider=self.provider)

    def _too_large(self, request: ApiRequest) -> ProviderUnreachable:
        return self._unreachable(request, f"answer larger than {self.max_response_size} bytes")


def quote(text: object, confidential: tuple[str, ...] = ()) -> str | None:
    """``text`` made fit for an error message, or None when it is not a string: every known
    credential and secret is replaced by ``[redacted]``, control characters by spaces, and it
    is cut to a few hundred characters (an answer may echo anything back)."""
    if not isinstance(text, str):
        return None
    for value in confidential:
        if value:
            text = text.replace(value, "[redacted]")
    cleaned = "".join(c if c.isprintable() else " " for c in text).strip()
    if len(cleaned) > _QUOTE_LIMIT:
        cleaned = cleaned[:_QUOTE_LIMIT] + "..."
    return cleaned


def basic_auth(username: str, password: str = "") -> str:
    """The ``Authorization`` value for HTTP Basic (``curl -u username:password``)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _header_safe(text: object) -> bool:
    return (
        isinstance(text, str)
        and bool(text)
        and text.isascii()
        and text.isprintable()
        and text == text.strip()
    )


_ssl_lock = threading.Lock()
_ssl_cached: list[ssl.SSLContext] = []


def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every client: building one costs milliseconds, and a context is
    safe to share across threads and event loops."""
    with _ssl_lock:
        if not _ssl_cached:
            _ssl_cached.append(_httpx().create_ssl_context())
        return _ssl_cached[0]


def _httpx() -> Any:
    try:
        import httpx
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ConfigurationError(
            "the provider API clients need httpx: pip install 'hookseal[http]'"
        ) from None
    return httpx
