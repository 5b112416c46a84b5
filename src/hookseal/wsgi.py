"""WSGI middleware: verify a webhook before the application sees it, then replay its body.

flask_app.wsgi_app = WebhookVerificationMiddleware(flask_app.wsgi_app, secrets="s3cr3t",
                                                   paths=["/webhooks"])

For a guarded path the middleware checks the body's framing (Content-Length against the limit,
a chunked body only when the server marks ``wsgi.input_terminated``) and the signature headers
before reading a byte, then reads exactly the declared length in bounded reads, hashing as it
goes. Only a verified request reaches the application, which gets the same bytes back in a
fresh ``wsgi.input`` and the result in ``environ["hookseal.verified"]``. A refused request is
answered here with ``application/problem+json``. With a replay guard, a delivery the
application fails (it raises, or answers 5xx) is released, so the provider's retry is accepted.

``body_timeout`` is checked between reads: a blocking read cannot be interrupted portably from
inside a WSGI application. Where the input offers ``read1`` (wsgiref, Werkzeug's server for a
Content-Length body) each read returns what has arrived, so a sender that drips is cut at its
first piece after the deadline; where a read blocks until its size is filled (at most
:data:`READ_SIZE` bytes), the check runs when it returns. A sender that stops sending
altogether is bounded only by the server's own timeout (gunicorn's ``--timeout``, uWSGI's
``harakiri``, a proxy's ``client_body_timeout``).

For the schemes that sign the URL the URL is rebuilt from the environ, or from ``public_url`` /
the headers of ``trusted_proxies`` (:mod:`hookseal.forwarded`); the scheme's endpoint
handshake is answered here, never by the application (:mod:`hookseal.handshakes`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from ._adapter import (
    DEFAULT_MAX_BODY_SIZE,
    Claim,
    build_verifier,
    check_limit,
    claim,
    count_refusal,
    count_verified,
    refusal,
)
from ._deadline import DEFAULT_BODY_TIMEOUT, Deadline, check_body_timeout
from ._fastpath import Lean
from ._time import Clock
from .errors import BodyError, IncompleteBody, LengthRequired, PayloadTooLarge, VerificationError
from .forwarded import RequestURL
from .handshakes import Handshake, HandshakeRequest, Reply, handshake_for
from .paths import PathMatcher, PathsLike
from .replay import ReplayGuard
from .schemes import Scheme
from .secrets import SecretsLike
from .verifier import Verified, Verifier

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "ENVIRON_KEY",
    "READ_SIZE",
    "EnvironHeaders",
    "WebhookVerificationMiddleware",
    "declared_length",
    "environ_headers",
    "handshake_request",
    "problem_response",
    "reply_response",
    "request_paths",
    "verify_environ",
]

ENVIRON_KEY = "hookseal.verified"
"""Where the :class:`~hookseal.Verified` result is put in the environ."""

READ_SIZE = 64 * 1024
"""Bytes asked of ``wsgi.input`` per read: bounded, so a lying client cannot make one huge read."""

_MAX_LENGTH_DIGITS = 18  # a longer Content-Length is no number we would ever accept
_OWN_URL = RequestURL()  # the request's own URL: no public_url, no trusted proxies


class WebhookVerificationMiddleware:
    """Verifies requests to the guarded ``paths`` (all paths when None) before ``app`` runs.

    Give exactly one of ``secrets`` (with optional ``scheme``, ``tolerance``, ``leeway``,
    ``replay_guard``, ``clock``) or a ready ``verifier``. ``max_body_size`` bounds the body
    read into memory (default 1 MiB); a larger declared length is refused without reading.
    ``body_timeout`` (seconds, default 30; None for none) is checked on ``monotonic`` between
    reads, with the limit the module docstring states: a slower body is answered 408.
    ``public_url``, ``trusted_proxies`` and ``handshake`` are as for the ASGI middleware
    (:class:`hookseal.asgi.WebhookVerificationMiddleware`).
    """

    __slots__ = (
        "_monotonic",
        "app",
        "body_timeout",
        "handshake",
        "matcher",
        "max_body_size",
        "request_url",
        "verifier",
    )

    def __init__(
        self,
        app: WSGIApplication,
        *,
        secrets: SecretsLike | None = None,
        verifier: Verifier | None = None,
        scheme: Scheme | str | None = None,
        paths: PathsLike = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        tolerance: float | None = None,
        leeway: float | None = None,
        replay_guard: ReplayGuard | None = None,
        clock: Clock | None = None,
        body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
        monotonic: Callable[[], float] = time.monotonic,
        public_url: str | None = None,
        trusted_proxies: str | Iterable[str] | None = None,
        handshake: Handshake | bool | None = None,
    ) -> None:
        self.app = app
        self.verifier = build_verifier(
            secrets,
            verifier,
            scheme=scheme,
            tolerance=tolerance,
            leeway=leeway,
            replay_guard=replay_guard,
            clock=clock,
        )
        self.matcher = PathMatcher(paths)
        self.max_body_size = check_limit(max_body_size)
        self.body_timeout = check_body_timeout(body_timeout)
        self._monotonic = monotonic
        self.request_url = RequestURL(public_url, trusted_proxies)
        self.handshake = handshake_for(self.verifier.scheme, handshake)

    def __repr__(self) -> str:
        return (
            f"WebhookVerificationMiddleware({self.app!r}, verifier={self.verifier!r}, "
            f"paths={self.matcher!r}, max_body_size={self.max_body_size}, "
            f"body_timeout={self.body_timeout})"
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not self.matcher.guards_everything and not self.matcher.matches(*request_paths(environ)):
            return self.app(environ, start_response)
        handshake = self.handshake
        try:
            if handshake is not None:
                request = handshake_request(environ)
                reply = handshake.before(request)  # Meta's, which the provider does not sign
                if reply is not None:
                    return reply_response(reply, start_response)
            verified = verify_environ(
                self.verifier,
                environ,
                self.max_body_size,
                body_timeout=self.body_timeout,
                monotonic=self._monotonic,
                request_url=self.request_url,
            )
            if handshake is not None:
                body = environ["wsgi.input"].getvalue()
                reply = handshake.after(request, verified, body, self.verifier.provider)
                if reply is not None:  # a verified handshake: answered here, not by the app
                    return reply_response(reply, start_response)
        except VerificationError as error:
            count_refusal(self.verifier, error)
            quiet = handshake is not None and handshake.quiet_refusals
            return problem_response(error, start_response, quiet=quiet)
        held = claim(self.verifier, verified)
        if held is None:
            return self.app(environ, start_response)
        return _call_settling(self.app, environ, start_response, held)


def verify_environ(
    verifier: Verifier,
    environ: WSGIEnvironment,
    limit: int,
    *,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    monotonic: Callable[[], float] = time.monotonic,
    request_url: RequestURL | None = None,
) -> Verified:
    """Verify the request in ``environ`` and hand its body back through a fresh ``wsgi.input``.

    For a scheme that signs the URL, ``request_url`` rebuilds it (default: the request's own).

    Raises a :class:`~hookseal.errors.VerificationError`; framing and header errors are
    raised before the body is read, and a body slower than ``body_timeout`` (checked between
    reads) is :class:`~hookseal.errors.BodyTimeout`. On success the environ holds a ``BytesIO``
    of the body, the matching ``CONTENT_LENGTH``, no ``HTTP_TRANSFER_ENCODING``, and the result
    under :data:`ENVIRON_KEY`.
    """
    length = declared_length(environ, limit, terminated=bool(environ.get("wsgi.input_terminated")))
    lean = verifier._lean
    if lean is not None:
        value = environ.get(lean.environ_key)
        digest = lean.digest(value) if type(value) is str else None  # EnvironHeaders' rule
        if digest is not None:  # the usual shape: read, then one decision (header checked)
            deadline = None if body_timeout is None else Deadline(body_timeout, monotonic)
            return _verify_lean(verifier, lean, environ, value, digest, length, limit, deadline)
    if verifier.scheme.signs_request:
        url = (request_url or _OWN_URL).of_environ(environ)
        method = str(environ.get("REQUEST_METHOD") or "GET")
        pending = verifier.begin(environ_headers(environ), url=url, method=method)
    else:
        pending = verifier.begin(environ_headers(environ))
    stream: BinaryIO = environ["wsgi.input"]
    deadline = None if body_timeout is None else Deadline(body_timeout, monotonic)
    if length is None:
        _read_to_end(stream, pending, limit, deadline)
    else:
        _read_exactly(stream, pending, length, deadline)
    verified = pending.finish()
    chunks = pending.chunks
    body = bytes(chunks[0]) if len(chunks) == 1 else b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ[ENVIRON_KEY] = verified
    return verified


def _verify_lean(
    verifier: Verifier,
    lean: Lean,
    environ: WSGIEnvironment,
    value: Any,
    digest: bytes,
    length: int | None,
    limit: int,
    deadline: Deadline | None,
) -> Verified:
    """:func:`verify_environ` for the default scheme's usual requests (the signature header
    already read and of the usual shape): the body read, then one decision, without the
    streaming verifier (the careful path's calls where the fused check declines)."""
    sink = _Sink()
    stream: BinaryIO = environ["wsgi.input"]
    if length is None:
        _read_to_end(stream, sink, limit, deadline)
    else:
        _read_exactly(stream, sink, length, deadline)
    chunks = sink.chunks
    body = (bytes(chunks[0]) if chunks else b"") if len(chunks) < 2 else b"".join(chunks)
    headers = {lean.spelling: value}  # what the careful path reads from the environ
    fused = lean.fused
    if fused is not None:
        verified = fused(verifier, body, headers)
    else:
        verified = lean.decide(verifier, body, (digest,))
    if verified is None:  # the fused check declines (a verifier changed meanwhile)
        pending = verifier.begin(headers)
        pending.update(body)
        verified = pending.finish()  # an observed verifier's pending reports it
    elif verifier.observer is not None:  # decided here, so reported here
        count_verified(verifier, verified)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ[ENVIRON_KEY] = verified
    return verified  # type: ignore[no-any-return]


class _Sink:
    """Collects the chunks read (by reference) where the careful path feeds its verifier."""

    __slots__ = ("chunks", "size")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.size += len(chunk)


def environ_headers(environ: WSGIEnvironment) -> EnvironHeaders:
    """The request headers of ``environ``, as a read-only mapping looked up by header name."""
    return EnvironHeaders(environ)


class EnvironHeaders(Mapping[str, str]):
    """The headers a WSGI server put in the environ (``HTTP_*``, ``CONTENT_TYPE``, ...).

    A view, not a copy: a scheme asks for its two or three headers by name, so nothing is
    built per request from the environ's other keys. Names are case-insensitive; the server
    already joined repeated headers with commas.
    """

    __slots__ = ("_environ",)

    def __init__(self, environ: Mapping[str, Any]) -> None:
        self._environ = environ

    def get(self, name: str, default: Any = None) -> Any:
        key = name.upper().replace("-", "_")
        if key != "CONTENT_TYPE" and key != "CONTENT_LENGTH":
            key = "HTTP_" + key
        value = self._environ.get(key)
        return value if isinstance(value, str) else default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[str]:
        for key, value in self._environ.items():
            if not isinstance(value, str):
                continue
            if key.startswith("HTTP_"):
                yield key[5:].replace("_", "-").lower()
            elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
                yield key.replace("_", "-").lower()

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"EnvironHeaders({sorted(self)!r})"


def request_paths(environ: WSGIEnvironment) -> tuple[str, ...]:
    """The path the application routes on, alone and below its mount point (``SCRIPT_NAME``).

    WSGI hands the already percent-decoded path as latin-1 text; it is turned back into its
    bytes and read as UTF-8, which is what routers do, so a non-ASCII path matches too.
    """
    path = _as_utf8(environ.get("PATH_INFO", ""))
    script = environ.get("SCRIPT_NAME")
    if not script:
        return (path,)
    return path, _as_utf8(script) + path


def problem_response(
    error: VerificationError, start_response: StartResponse, *, quiet: bool = False
) -> list[bytes]:
    """Answer the refused request with its problem+json document (``quiet``: no body)."""
    body, headers = refusal(error, quiet=quiet)
    status = HTTPStatus(error.status)
    start_response(f"{status.value} {status.phrase}", headers)
    return [body]


def reply_response(reply: Reply, start_response: StartResponse) -> list[bytes]:
    """Answer a handshake (the application is not called)."""
    status = HTTPStatus(reply.status)
    start_response(f"{status.value} {status.phrase}", reply.header_list())
    return [reply.body]


def handshake_request(environ: WSGIEnvironment) -> HandshakeRequest:
    """What a handshake reads of a WSGI request."""
    method = str(environ.get("REQUEST_METHOD") or "GET")
    return HandshakeRequest(method, str(environ.get("QUERY_STRING") or ""), EnvironHeaders(environ))


# -- the parts ---------------------------------------------------------------------------------


def _as_utf8(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    try:
        return text.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a server that already decoded it as UTF-8
        return text


def declared_length(environ: Mapping[str, Any], limit: int, *, terminated: bool) -> int | None:
    """The body's length, or None to read until the end; decided from the headers alone.

    ``terminated``: the server ends the input after the body (``wsgi.input_terminated``), so
    a body without Content-Length can be read to its end; otherwise such a body is refused.
    Raises LengthRequired (411), PayloadTooLarge (413) or BodyError (400).
    """
    encoding = environ.get("HTTP_TRANSFER_ENCODING", "")
    if encoding and encoding.strip().lower() != "identity":
        if terminated:  # the server de-chunks and ends the stream; Content-Length is void
            return None
        raise LengthRequired(
            "a body without Content-Length needs a server that sets wsgi.input_terminated; "
            "send Content-Length"
        )
    raw = environ.get("CONTENT_LENGTH")
    if raw is None or raw == "":
        return None if terminated else 0
    text = raw.strip() if isinstance(raw, str) else ""
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_LENGTH_DIGITS:
        raise BodyError("the Content-Length header is not a number of bytes")
    length = int(text)
    if length > limit:
        raise PayloadTooLarge(f"the body is {length} bytes; at most {limit} allowed")
    return length


class _Feed(Protocol):
    """Where the reads go: a verification in progress, or the lean path's :class:`_Sink`."""

    size: int

    def update(self, chunk: bytes) -> None: ...


def _read_exactly(stream: BinaryIO, pending: _Feed, length: int, deadline: Deadline | None) -> None:
    read = _reader(stream)
    remaining = length
    while remaining > 0:
        chunk = _read(read, min(remaining, READ_SIZE))
        if deadline is not None:
            deadline.check()
        if not chunk:
            raise IncompleteBody(f"the body ended after {length - remaining} of {length} bytes")
        if len(chunk) > remaining:  # an input that ignores the size asked for
            chunk = chunk[:remaining]
        pending.update(chunk)
        remaining -= len(chunk)


def _read_to_end(stream: BinaryIO, pending: _Feed, limit: int, deadline: Deadline | None) -> None:
    read = _reader(stream)
    while True:
        chunk = _read(read, READ_SIZE)
        if deadline is not None:
            deadline.check()
        if not chunk:
            return
        if pending.size + len(chunk) > limit:
            raise PayloadTooLarge(f"the body exceeds {limit} bytes")
        pending.update(chunk)


def _reader(stream: BinaryIO) -> Callable[[int], bytes]:
    """``read1`` where the input has it (one read of what has arrived, so a dripping sender
    returns to the deadline check), else ``read``; both are asked for at most ``size`` bytes,
    so nothing past the body is ever consumed."""
    read1 = getattr(stream, "read1", None)
    return read1 if callable(read1) else stream.read


def _read(read: Callable[[int], bytes], size: int) -> bytes:
    try:
        return read(size)
    except (OSError, ValueError) as exc:  # a reset connection, a bad chunk, a closed input
        raise IncompleteBody("the request body could not be read to its end") from exc


# -- releasing a delivery the application failed ---------------------------------------------


def _call_settling(
    app: WSGIApplication,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    held: Claim,
) -> Iterable[bytes]:
    """Run ``app`` and settle ``held`` with its outcome: released when it raises (calling it, or
    while its body is iterated) or answers 5xx; decided when the server closes the response."""
    watch = _StatusWatch(start_response)
    try:
        result = app(environ, watch)
    except BaseException:
        held.release()
        raise
    return _Settling(result, held, watch)


class _StatusWatch:
    """``start_response`` that remembers the status (the last one given, as PEP 3333 allows an
    error to replace it before the body starts)."""

    __slots__ = ("start_response", "status")

    def __init__(self, start_response: StartResponse) -> None:
        self.start_response = start_response
        self.status: int | None = None

    def __call__(
        self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> Callable[[bytes], object]:
        code = status[:3]
        self.status = int(code) if code.isdigit() else None
        if exc_info is None:
            return self.start_response(status, headers)
        return self.start_response(status, headers, exc_info)


class _Settling:
    """The application's response iterable, passed through; settles the claim on ``close()``."""

    __slots__ = ("_claim", "_iterator", "_result", "_watch")

    def __init__(self, result: Iterable[bytes], held: Claim, watch: _StatusWatch) -> None:
        self._result = result
        self._claim = held
        self._watch = watch
        self._iterator: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = iter(self._result)
        try:
            return next(self._iterator)
        except StopIteration:
            raise
        except BaseException:
            self._claim.release()
            raise

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._claim.settle(self._watch.status)
