"""Pure ASGI middleware: verify webhooks on the guarded paths before the app sees them.

Written against the ASGI spec, not a framework (never ``BaseHTTPMiddleware``, whose body
handling is exactly what breaks here). For a guarded ``http`` request it reads the body
chunk by chunk, hashing as it goes and counting against ``max_body_size``; then it either
answers itself with an RFC 9457 problem document, or calls the app with a ``receive`` that
replays the very messages it read and then hands over to the server's own ``receive``.

    app.add_middleware(WebhookVerificationMiddleware, secrets="s3cr3t", paths=["/webhooks"])
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._adapter import DEFAULT_MAX_BODY_SIZE, build_verifier, check_limit, content_length
from ._time import Clock
from .errors import IncompleteBody, PayloadTooLarge, VerificationError
from .paths import PathMatcher, PathsLike
from .problem import problem_body, problem_headers
from .replay import ReplayGuard
from .schemes import Scheme
from .secrets import SecretsLike
from .verifier import Verifier

__all__ = ["DEFAULT_MAX_BODY_SIZE", "WebhookVerificationMiddleware"]

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
    """

    __slots__ = ("_guard", "app", "matcher", "max_body_size", "verifier")

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

    def __repr__(self) -> str:
        return (
            f"WebhookVerificationMiddleware(verifier={self.verifier!r}, paths={self.matcher!r}, "
            f"max_body_size={self.max_body_size})"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guards(scope):
            await self.app(scope, receive, send)
            return
        await self._verify(scope, receive, send)

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
        try:
            declared = content_length(headers)
            if declared is not None and declared > limit:
                raise PayloadTooLarge(  # answered without reading a byte of the body
                    f"the body is {declared} bytes; at most {limit} are accepted"
                )
            pending = await self.verifier.abegin(headers)
        except VerificationError as error:
            await _refuse(scope, send, error)
            return

        messages: list[Message] = []
        size = 0
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "http.disconnect":
                    return  # the sender is gone: nobody to answer, nothing for the app
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
            if declared is not None and size != declared:
                raise IncompleteBody(f"the body is {size} bytes but Content-Length says {declared}")
            verified = await pending.afinish()
        except VerificationError as error:
            await _refuse(scope, send, error)
            return

        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state[STATE_KEY] = verified
        replay = _Replay(messages, receive)
        guard, key = self._guard, verified.replay_key
        if guard is None or key is None:
            await self.app(scope, replay, send)
            return
        await self._call_releasing_on_failure(scope, replay, send, guard, key)

    async def _call_releasing_on_failure(
        self, scope: Scope, receive: Receive, send: Send, guard: ReplayGuard, key: str
    ) -> None:
        """Call the app; if it fails (raises or answers 5xx) forget the delivery's replay key,
        so the provider's retry of the same signed message is accepted, not refused as 409."""
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except BaseException:
            await guard.aforget(key)
            raise
        if status >= 500 or status == 0:
            await guard.aforget(key)


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


async def _refuse(scope: Scope, send: Send, error: VerificationError) -> None:
    """Answer with the error's problem document; the app is never called."""
    logger.info(
        "hookseal: refused %s %r: %s (%d)",
        scope.get("method"),
        scope.get("path"),
        error.code,
        error.status,
    )
    body = problem_body(error)
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in problem_headers(error, len(body))
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
