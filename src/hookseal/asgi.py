"""Pure ASGI middleware: verify webhooks on the guarded paths before the app sees them.

Written against the ASGI spec, not a framework (never ``BaseHTTPMiddleware``, whose body
handling is exactly what breaks here). For a guarded ``http`` request it reads the body
chunk by chunk, hashing as it goes and counting against ``max_body_size`` and ``body_timeout``;
then it either answers itself with an RFC 9457 problem document, or calls the app with a
``receive`` that replays the very messages it read and then hands over to the server's own
``receive``. With a replay guard, a delivery the app fails (it raises or answers 5xx) is
released, so the provider's retry is accepted.

For the schemes that sign the URL (Twilio, Square, HubSpot) the URL is rebuilt from the
request, or from ``public_url`` / the headers of ``trusted_proxies`` (:mod:`hookseal.forwarded`).
The scheme's endpoint handshake (Zoom, Twitch, Xero, Okta; Meta with a verify token) is
answered here and never reaches the app (:mod:`hookseal.handshakes`).

    app.add_middleware(WebhookVerificationMiddleware, secrets="s3cr3t", paths=["/webhooks"])
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from ._adapter import (
    _MAX_LENGTH_DIGITS,
    DEFAULT_MAX_BODY_SIZE,
    acall_settling,
    build_verifier,
    check_limit,
    claim,
    content_length,
    count_refusal,
    count_verified,
    refusal,
)
from ._deadline import (
    DEFAULT_BODY_TIMEOUT,
    Watchdog,
    check_body_timeout,
    expired,
    timed_out,
)
from ._fastpath import Lean
from ._time import Clock
from .errors import BodyTimeout, IncompleteBody, PayloadTooLarge, VerificationError
from .forwarded import RequestURL
from .handshakes import Handshake, HandshakeRequest, Reply, handshake_for
from .paths import PathMatcher, PathsLike
from .replay import ReplayGuard
from .schemes import Scheme
from .secrets import SecretsLike
from .verifier import PendingVerification, Verifier

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_BODY_SIZE",
    "StatusWatch",
    "WebhookVerificationMiddleware",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

STATE_KEY = "hookseal"
"""Where the :class:`~hookseal.Verified` result goes in ``scope["state"]``."""

logger = logging.getLogger("hookseal")


class WebhookVerificationMiddleware:
    """Verify every ``http`` request on ``paths`` (all paths when None) before the app runs.

    Give either ``secrets`` (with ``scheme``, ``tolerance``, ``leeway``, ``replay_guard`` and
    ``clock`` as for :class:`~hookseal.Verifier`) or a ready ``verifier``, not both. On
    success the app reads the same raw body and finds the result in
    ``scope["state"]["hookseal"]`` (``request.state.hookseal`` in Starlette and FastAPI).

    ``body_timeout`` (seconds, default 30; None for none) bounds how long the body may take
    after the headers: a slower one is answered 408 and the app is not called. A sender that
    drips is cut at its first chunk past the deadline (read on ``monotonic``, injectable for
    tests); one that stops sending is cut by a timer within a second of it.

    ``public_url`` (a base URL) or ``trusted_proxies`` (addresses whose ``Forwarded`` /
    ``X-Forwarded-*`` headers are believed) say what URL the provider called, for the schemes
    that sign it (see :mod:`hookseal.forwarded`). ``handshake``: None answers the scheme's
    endpoint handshake where the provider requires one, False none, or a
    :class:`~hookseal.handshakes.Handshake` such as ``MetaSubscription(verify_token=...)``.
    """

    __slots__ = (
        "_guard",
        "_lean",
        "_monotonic",
        "_url",
        "_watchdog",
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
        app: ASGIApp,
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
        self.max_body_size = check_limit(max_body_size)
        self.matcher = PathMatcher(paths)
        self._guard = self.verifier.replay_guard
        self.body_timeout = check_body_timeout(body_timeout)
        self._monotonic = monotonic
        self._watchdog = None if self.body_timeout is None else Watchdog(self.body_timeout)
        self.request_url = RequestURL(public_url, trusted_proxies)
        # Only the schemes that sign the URL pay for building it: one test per request.
        self._url = self.request_url if self.verifier.scheme.signs_request else None
        self.handshake = handshake_for(self.verifier.scheme, handshake)
        # The default scheme's usual requests in one pass (see _verify_lean), when nothing
        # else has to happen on the way: no handshake, no URL, no replay guard.
        self._lean: Lean | None = None
        if self.handshake is None and self._url is None and self._guard is None:
            self._lean = self.verifier._lean

    def __repr__(self) -> str:
        return (
            f"WebhookVerificationMiddleware(verifier={self.verifier!r}, paths={self.matcher!r}, "
            f"max_body_size={self.max_body_size}, body_timeout={self.body_timeout})"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guards(scope):
            await self.app(scope, receive, send)
            return
        lean = self._lean
        if lean is not None:
            await self._verify_lean(scope, receive, send, lean)
            return
        await self._verify(scope, receive, send)

    async def _verify_lean(self, scope: Scope, receive: Receive, send: Send, lean: Lean) -> None:
        """:meth:`_verify` for the default scheme's usual requests, in one pass over the raw
        headers (Content-Length and the signature) and one decision once the body is whole.

        Whatever is unusual (a repeated or malformed header, several signatures, a body in
        several chunks, an oversized one) goes the careful way, :meth:`_verify` (nothing read
        yet) or the verifier's own streaming check (after the body), so every refusal is the
        careful path's, with the same error, at the same moment.
        """
        headers = scope["headers"]
        name = lean.name
        size = len(name)
        length = value = None
        usual = True
        for key, raw in headers:  # unpacked as content_length() does
            n = len(key)
            if n != 14 and n != size:  # lower() only what may match
                continue
            if type(key) is not bytes:  # a str name: the careful path reads those too
                usual = False
                break
            key = key.lower()
            if key == b"content-length":
                usual = length is None
                length = raw
            elif key == name:
                usual = value is None
                value = raw
            if not usual:
                break
        limit = self.max_body_size
        declared: int | None = None
        if usual and length is not None:
            text = length.strip() if type(length) is bytes else b""
            if text.isdigit() and len(text) <= _MAX_LENGTH_DIGITS:
                declared = int(text)
                usual = declared <= limit
            else:
                usual = False
        digest = lean.digest(value) if usual else None
        if digest is None:  # refused or judged by the careful path, before any read
            await self._verify(scope, receive, send)
            return

        verifier = self.verifier
        messages: list[Message] = []
        body: Any = b""
        pending: PendingVerification | None = None  # several chunks: hashed as they come
        received = 0
        watchdog = self._watchdog
        timeout = deadline = 0.0
        ward = None
        if watchdog is not None:  # a body_timeout is set
            timeout = watchdog.seconds
            start = self._monotonic()
            deadline = start + timeout
            ward = watchdog.enter(start)
        try:
            try:
                while True:
                    message = await receive()
                    kind = message["type"]
                    if kind == "http.disconnect":
                        count_refusal(self.verifier, IncompleteBody("the client disconnected"))
                        return
                    if kind != "http.request":
                        continue
                    messages.append(message)
                    chunk = message.get("body", b"")
                    if chunk:
                        received += len(chunk)
                        if received > limit:
                            raise PayloadTooLarge(f"the body exceeds {limit} bytes")
                        if pending is not None:
                            pending.update(chunk)
                        elif not body:
                            body = chunk
                        else:  # a second chunk: stream from here on (the header is valid)
                            pending = verifier.begin(headers)
                            pending.update(body)
                            pending.update(chunk)
                    if not message.get("more_body", False):
                        break
                    if watchdog is not None and self._monotonic() > deadline:
                        raise timed_out(timeout)
            except asyncio.CancelledError:
                if ward is None or not expired(ward):
                    raise
                raise timed_out(timeout) from None
            finally:
                if ward is not None:
                    watched, task = ward
                    watched.pending.discard(task)
                    if task in watched.cut:
                        expired(ward)
            if declared is not None and received != declared:
                raise IncompleteBody(
                    f"the body is {received} bytes but Content-Length says {declared}"
                )
            fused = lean.fused
            verified: Any
            if pending is not None:
                verified = pending.finish()  # an observed verifier's pending reports it
            else:
                if fused is not None:  # the C check: the same decision, in one call
                    verified = fused(verifier, body, headers)
                else:
                    verified = lean.decide(verifier, body, (digest,))
                if verified is None:  # the fused check declines (a verifier changed meanwhile)
                    pending = verifier.begin(headers)
                    pending.update(body)
                    verified = pending.finish()
                elif verifier.observer is not None:  # decided here, so reported here
                    count_verified(verifier, verified)
        except VerificationError as error:
            await self._refuse(scope, send, error)
            return

        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state[STATE_KEY] = verified
        await self.app(scope, _Replay(messages, receive), send)

    def _guards(self, scope: Scope) -> bool:
        """Whether this request's path is guarded, under every spelling the app may route on.

        ``path`` is already percent-decoded. Depending on the server it may or may not include
        ``root_path`` (the mount point), so both the full and the stripped form are checked:
        guarding too much only asks for a signature, guarding too little skips one.
        """
        matcher = self.matcher
        if matcher.guards_everything:
            return True
        path: str = scope.get("path") or "/"
        root: str = scope.get("root_path") or ""
        if not root:
            return matcher.matches(path)
        if path.startswith(root):
            return matcher.matches(path, path[len(root) :] or "/")
        return matcher.matches(path, root + path)

    async def _verify(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_body_size
        headers = scope["headers"]
        handshake = self.handshake
        try:
            if handshake is not None:
                request = handshake_request(scope)
                reply = handshake.before(request)  # Meta's, which the provider does not sign
                if reply is not None:
                    await _answer(send, reply)
                    return
            declared = content_length(headers)
            if declared is not None and declared > limit:
                raise PayloadTooLarge(  # answered without reading a byte of the body
                    f"the body is {declared} bytes; at most {limit} are accepted"
                )
            url = self._url
            if url is None:
                pending = await self.verifier.abegin(headers)
            else:
                pending = await self.verifier.abegin(
                    headers, url=url.of_scope(scope), method=scope["method"]
                )
        except VerificationError as error:
            await self._refuse(scope, send, error)
            return

        messages: list[Message] = []
        size = 0
        watchdog = self._watchdog
        timeout = deadline = 0.0
        ward = None
        if watchdog is not None:  # a body_timeout is set
            timeout = watchdog.seconds
            start = self._monotonic()
            deadline = start + timeout
            ward = watchdog.enter(start)
        try:
            try:
                while True:
                    message = await receive()
                    kind = message["type"]
                    if kind == "http.disconnect":
                        # the sender is gone: nobody to answer, nothing for the app; counted
                        count_refusal(self.verifier, IncompleteBody("the client disconnected"))
                        return
                    if kind != "http.request":
                        continue
                    messages.append(message)
                    chunk = message.get("body", b"")
                    if chunk:
                        size += len(chunk)
                        if size > limit:
                            raise PayloadTooLarge(f"the body exceeds {limit} bytes")
                        pending.update(chunk)
                    if not message.get("more_body", False):
                        break
                    if watchdog is not None and self._monotonic() > deadline:
                        # A dripping sender, cut between its messages. The last one is not
                        # checked: had it come late, the watchdog's timer would have cut it.
                        raise timed_out(timeout)
            except asyncio.CancelledError:
                if ward is None or not expired(ward):
                    raise  # not ours: the server or the app's host is cancelling
                raise timed_out(timeout) from None  # a sender that stopped sending
            finally:
                if ward is not None:  # leave(ward), inlined: this is every request's path
                    watched, task = ward
                    watched.pending.discard(task)
                    if task in watched.cut:
                        expired(ward)
            if declared is not None and size != declared:
                raise IncompleteBody(f"the body is {size} bytes but Content-Length says {declared}")
            verified = await pending.afinish()
            if handshake is not None:  # (request was set with it, above)
                body = b"".join(pending.chunks)
                reply = handshake.after(request, verified, body, self.verifier.provider)
                if reply is not None:  # a verified handshake: answered here, not by the app
                    await _answer(send, reply)
                    return
        except VerificationError as error:
            await self._refuse(scope, send, error)
            return

        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state[STATE_KEY] = verified
        replay = _Replay(messages, receive)
        if self._guard is None or verified.replay_key is None:
            await self.app(scope, replay, send)
            return
        # With a replay guard: a delivery the app fails (raises, answers 5xx or nothing) is
        # released, so the provider's retry of the same signed message is accepted, not 409.
        watch = StatusWatch(send)
        await acall_settling(
            claim(self.verifier, verified), lambda: self.app(scope, replay, watch), watch.status_of
        )

    async def _refuse(self, scope: Scope, send: Send, error: VerificationError) -> None:
        """Answer with the error's problem document (or no body, for Xero); the app is never
        called. A refusal made before the verifier ran is counted by its observer here."""
        count_refusal(self.verifier, error)
        quiet = self.handshake is not None and self.handshake.quiet_refusals
        await _refuse(scope, send, error, quiet=quiet)


def handshake_request(scope: Scope) -> HandshakeRequest:
    """What a handshake reads of an ASGI request."""
    query: bytes = scope.get("query_string") or b""
    return HandshakeRequest(scope["method"], query.decode("latin-1"), scope["headers"])


class StatusWatch:
    """An ASGI ``send`` that passes every message on and remembers the response's status."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status: int | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self.send(message)

    def status_of(self, _result: object = None) -> int | None:
        """The status sent so far (None: no response started)."""
        return self.status


class _Replay:
    """The app's ``receive``: the messages already read, in order, then the server's own."""

    __slots__ = ("_index", "_messages", "_receive")

    def __init__(self, messages: list[Message], receive: Receive) -> None:
        self._messages = messages
        self._receive = receive
        self._index = 0

    async def __call__(self) -> Message:
        index = self._index
        if index < len(self._messages):
            self._index = index + 1
            return self._messages[index]
        return await self._receive()


async def _refuse(
    scope: Scope, send: Send, error: VerificationError, *, quiet: bool = False
) -> None:
    """Answer with the error's problem document; the app is never called."""
    logger.info(
        "hookseal: refused %s %r: %s (%d)",
        scope.get("method"),
        scope.get("path"),
        error.code,
        error.status,
    )
    body, pairs = refusal(error, quiet=quiet)
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
    if isinstance(error, BodyTimeout):  # the rest of the body is not wanted on this connection
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _answer(send: Send, reply: Reply) -> None:
    """Answer a handshake; the app is never called."""
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in reply.header_list()
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})
