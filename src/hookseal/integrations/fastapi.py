"""FastAPI: verify a webhook route with a dependency, and document its headers in OpenAPI.

    verified = VerifiedWebhook(secrets="s3cr3t", scheme=schemes.Stripe())

    @app.post("/hooks/stripe")
    async def stripe_hook(request: Request, event: Verified = Depends(verified)) -> dict: ...

The dependency reads the raw body (the endpoint can still ``await request.body()``), verifies
it, and returns the :class:`~hookseal.Verified` result (also on ``request.state.hookseal``).
A refused request raises :class:`WebhookRejected`, answered with the same RFC 9457
``application/problem+json`` document as the middleware: the handler is registered on first
use, or up front with :func:`install`.

With a replay guard, a delivery the endpoint fails is released so the provider's retry is
accepted. The dependency (one with ``yield``) sees an exception the endpoint raises and a 5xx
it sets on an injected ``Response``; a dependency cannot see a response object the endpoint
*returns*, so :func:`install` also adds a small ASGI middleware that watches the status sent
and releases on 5xx whatever produced it.

FastAPI reads and parses a route's body parameters (JSON, forms) *before* it runs any
dependency, so an unsigned request with a broken body would get FastAPI's 422 instead of 401.
Routes with body parameters go on ``verified.router()``: its routes verify first, then parse.

    hooks = verified.router(prefix="/hooks")

    @hooks.post("/stripe")
    async def stripe_hook(event: Event) -> dict: ...      # unsigned: 401, never 422

    app.include_router(hooks)

For the schemes that sign the URL, ``public_url=`` or ``trusted_proxies=`` say what the provider
called behind a proxy (:mod:`hookseal.forwarded`). The scheme's endpoint handshake (Zoom,
Twitch, Xero, Okta; Meta with ``handshake=MetaSubscription(verify_token=...)`` on a route that
accepts GET) is answered by the dependency, before the endpoint runs (:class:`HandshakeAnswered`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, MutableMapping
from typing import Any

try:
    from fastapi import APIRouter, Depends, FastAPI, Header, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import Response
    from fastapi.routing import APIRoute
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect
except ImportError as exc:  # pragma: no cover - exercised by a test that hides fastapi
    from .._extras import missing_extra

    raise missing_extra("hookseal.integrations.fastapi", "fastapi", "fastapi") from exc

from .._adapter import (
    DEFAULT_MAX_BODY_SIZE,
    Claim,
    build_verifier,
    check_limit,
    claim,
    content_length,
    count_refusal,
    refusal,
)
from .._deadline import (
    DEFAULT_BODY_TIMEOUT,
    Watchdog,
    check_body_timeout,
    expired,
    leave,
    timed_out,
)
from .._time import Clock
from ..asgi import StatusWatch, handshake_request
from ..errors import ConfigurationError, IncompleteBody, PayloadTooLarge, VerificationError
from ..forwarded import RequestURL
from ..handshakes import Handshake, Reply, handshake_for
from ..replay import ReplayGuard
from ..schemes import Scheme
from ..secrets import SecretsLike
from ..verifier import Verified, Verifier

__all__ = [
    "HandshakeAnswered",
    "ReleaseOnFailure",
    "VerifiedWebhook",
    "WebhookRejected",
    "answer_handshake",
    "install",
    "problem_response",
]

_HANDLERS_KEY = "starlette.exception_handlers"
_CLAIMS_KEY = "hookseal.claims"  # in the scope, set by ReleaseOnFailure: claims it settles
_RESPONSE_PARAMETER = "hookseal_response"  # FastAPI's per-request Response, for its status
_VERIFIED_KEY = "hookseal.verified"  # in the scope: {VerifiedWebhook: Verified} of this request
logger = logging.getLogger("hookseal")


class WebhookRejected(HTTPException):
    """A webhook was refused; carries the :class:`~hookseal.errors.VerificationError`.

    A subclass of Starlette's ``HTTPException``, so even without hookseal's handler the answer
    has the right status and headers (``WWW-Authenticate``, ``Retry-After``).
    """

    def __init__(self, error: VerificationError, *, quiet: bool = False) -> None:
        super().__init__(error.status, detail=error.detail, headers=error.response_headers())
        self.error = error
        self.quiet = quiet

    def response(self) -> Response:
        """The problem+json response for this refusal (no body at all when ``quiet``)."""
        body, pairs = refusal(self.error, quiet=self.quiet)
        headers = dict(pairs)
        del headers["content-length"]  # Response computes it
        return Response(
            body,
            status_code=self.error.status,
            headers=headers,
            media_type=headers.pop("content-type", None),
        )


class HandshakeAnswered(HTTPException):
    """A provider's endpoint handshake, answered by :class:`VerifiedWebhook` instead of the
    endpoint (raised so the endpoint never runs; :func:`answer_handshake` sends the reply)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply

    def response(self) -> Response:
        """The handshake's answer."""
        headers = dict(self.reply.header_list())
        del headers["content-length"]  # Response computes it
        media_type = headers.pop("content-type", None)
        return Response(
            self.reply.body, status_code=self.reply.status, headers=headers, media_type=media_type
        )


async def answer_handshake(request: Request, exc: Exception) -> Response:
    """Exception handler answering a :class:`HandshakeAnswered` with its reply."""
    if not isinstance(exc, HandshakeAnswered):
        raise exc
    return exc.response()


async def problem_response(request: Request, exc: Exception) -> Response:
    """Exception handler answering a :class:`WebhookRejected` with its problem document."""
    if not isinstance(exc, WebhookRejected):
        raise exc
    return exc.response()


def install(app: FastAPI) -> None:
    """Set ``app`` up front (before it starts): register :func:`problem_response` for
    :class:`WebhookRejected`, and add :class:`ReleaseOnFailure`, so a delivery whose endpoint
    returns a 5xx response is released as well as one whose endpoint raises.

    Optional: without it, :class:`VerifiedWebhook` registers the handler itself on the first
    refusal and releases on exceptions and on a 5xx set on an injected ``Response``.
    """
    app.add_exception_handler(WebhookRejected, problem_response)
    app.add_exception_handler(HandshakeAnswered, answer_handshake)
    app.add_middleware(ReleaseOnFailure)


class ReleaseOnFailure:
    """Pure ASGI middleware (added by :func:`install`): settles the replay claims that
    :class:`VerifiedWebhook` made during a request with the status the app actually sent."""

    __slots__ = ("app",)

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        claims: list[Claim] = []
        scope[_CLAIMS_KEY] = claims
        watch = StatusWatch(send)
        try:
            await self.app(scope, receive, watch)
        except BaseException:
            for held in claims:
                await held.arelease()
            raise
        for held in claims:
            await held.asettle(watch.status)


class VerifiedWebhook:
    """A FastAPI dependency that verifies the request's webhook signature.

    Use it as ``dependencies=[Depends(verified)]`` or ``event: Verified = Depends(verified)``.
    Give either ``secrets`` (with ``scheme``, ``tolerance``, ``leeway``, ``replay_guard``,
    ``clock`` as for :class:`~hookseal.Verifier`) or a ready ``verifier``. Bodies larger than
    ``max_body_size`` are refused with 413 (before reading, when Content-Length says so).
    The scheme's headers are declared as optional header parameters, so they appear in the
    OpenAPI schema; a missing one is still refused by hookseal (401 problem+json, not 422).
    FastAPI resolves declared parameters on every request (``python -m benchmarks --only asgi``
    shows the cost): ``document_headers=False`` leaves them out of the schema and skips that
    work. ``body_timeout`` (seconds, default 30; None for none) bounds how long the body may
    take: a slower one is refused with 408 (``monotonic`` is the clock it is read on).
    ``public_url``, ``trusted_proxies`` and ``handshake`` are as for the ASGI middleware
    (:class:`hookseal.asgi.WebhookVerificationMiddleware`).
    """

    def __new__(cls, *args: Any, **options: Any) -> VerifiedWebhook:
        # With a replay guard the dependency is one with ``yield``, to settle the delivery's
        # claim after the endpoint ran; without one a plain coroutine, because FastAPI's exit
        # stack for a ``yield`` dependency costs more per request than the verification does.
        guard = options.get("replay_guard")
        ready = options.get("verifier")
        if guard is None and ready is not None:
            guard = getattr(ready, "replay_guard", None)
        chosen = _ReleasingWebhook if cls is VerifiedWebhook and guard is not None else cls
        return super().__new__(chosen)

    def __init__(
        self,
        secrets: SecretsLike | None = None,
        *,
        verifier: Verifier | None = None,
        scheme: Scheme | str | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        tolerance: float | None = None,
        leeway: float | None = None,
        replay_guard: ReplayGuard | None = None,
        clock: Clock | None = None,
        document_headers: bool = True,
        body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
        monotonic: Callable[[], float] = time.monotonic,
        public_url: str | None = None,
        trusted_proxies: str | Iterable[str] | None = None,
        handshake: Handshake | bool | None = None,
    ) -> None:
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
        self.body_timeout = check_body_timeout(body_timeout)
        self._monotonic = monotonic
        self._watchdog = None if self.body_timeout is None else Watchdog(self.body_timeout)
        self.request_url = RequestURL(public_url, trusted_proxies)
        self._url = self.request_url if self.verifier.scheme.signs_request else None
        self.handshake = handshake_for(self.verifier.scheme, handshake)
        releasing = isinstance(self, _ReleasingWebhook)
        self.__signature__ = _dependency_signature(
            self.verifier.scheme, document_headers, response=releasing
        )
        self.route_class: type[APIRoute] = _verifying_route_class(self)
        """An ``APIRoute`` class whose routes verify with this dependency before FastAPI reads
        the body; :meth:`router` uses it."""
        self._late_routes: set[str] = set()

    def __repr__(self) -> str:
        return (
            f"VerifiedWebhook(verifier={self.verifier!r}, max_body_size={self.max_body_size}, "
            f"body_timeout={self.body_timeout})"
        )

    def router(self, **options: Any) -> APIRouter:
        """An ``APIRouter`` (same options) whose every route is verified by this dependency
        *before* FastAPI parses its body, so unsigned requests get 401, never a 422 that echoes
        their content. ``Depends(self)`` in a route returns the result without verifying twice.
        """
        dependencies = [Depends(self), *(options.pop("dependencies", None) or ())]
        return APIRouter(route_class=self.route_class, dependencies=dependencies, **options)

    async def __call__(self, request: Request, **headers: Any) -> Verified:
        """Verify ``request``; the header values FastAPI passes in are only for the docs."""
        done: dict[VerifiedWebhook, Verified] | None = request.scope.get(_VERIFIED_KEY)
        if done is not None and self in done:
            return done[self]  # verified by this router's route class before the body was read
        if hasattr(request, "_body"):
            self._warn_late(request)
        return await self.verify_request(request)

    async def verify_request(self, request: Request) -> Verified:
        """Verify ``request`` now and remember the result for this request; raise
        :class:`WebhookRejected` if it is refused."""
        try:
            verified = await self._verify(request)
        except VerificationError as error:
            count_refusal(self.verifier, error)
            _register_handler(request)
            quiet = self.handshake is not None and self.handshake.quiet_refusals
            raise WebhookRejected(error, quiet=quiet) from None
        except HandshakeAnswered:
            _register_handler(request)
            raise
        request.state.hookseal = verified
        request.scope.setdefault(_VERIFIED_KEY, {})[self] = verified
        return verified

    def _warn_late(self, request: Request) -> None:
        """FastAPI parsed this route's body before the dependency ran: say so once per route."""
        route = request.scope.get("route")
        path = str(getattr(route, "path", request.url.path))
        if path in self._late_routes or len(self._late_routes) >= 1000:
            return
        self._late_routes.add(path)
        logger.warning(
            "route %s parses its body before VerifiedWebhook runs, so an unsigned request with "
            "an invalid body gets FastAPI's 422 instead of 401: declare the route on "
            "verified.router() to verify first",
            path,
        )

    async def _verify(self, request: Request) -> Verified:
        limit = self.max_body_size
        scope = request.scope
        raw_headers = scope["headers"]
        handshake = self.handshake
        if handshake is not None:
            said = handshake_request(scope)
            reply = handshake.before(said)  # Meta's, which the provider does not sign
            if reply is not None:
                raise HandshakeAnswered(reply)
        declared = content_length(raw_headers)
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"the body is {declared} bytes; at most {limit} are accepted")
        url = self._url
        if url is None:
            pending = await self.verifier.abegin(raw_headers)
        else:
            pending = await self.verifier.abegin(
                raw_headers, url=url.of_scope(scope), method=scope["method"]
            )
        if getattr(request, "_stream_consumed", False) and not hasattr(request, "_body"):
            # FastAPI parsed Form() parameters before running dependencies: the bytes are gone.
            raise ConfigurationError(
                "the request body was consumed before VerifiedWebhook ran (FastAPI parses Form() "
                "parameters first), so it cannot be verified: declare the route on "
                "verified.router(), which verifies before FastAPI reads the body, or guard this "
                "path with hookseal.asgi.WebhookVerificationMiddleware"
            )
        size = 0
        watchdog = self._watchdog
        deadline = 0.0
        ward = None
        if watchdog is not None:  # a body_timeout is set
            start = self._monotonic()
            deadline = start + watchdog.seconds
            ward = watchdog.enter(start)
        try:
            async for chunk in request.stream():
                if watchdog is not None and self._monotonic() > deadline:
                    raise timed_out(watchdog.seconds)  # a dripping sender: cut at its next chunk
                if chunk:
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge(f"the body exceeds {limit} bytes")
                    pending.update(chunk)
        except ClientDisconnect:
            raise IncompleteBody("the client disconnected before the body ended") from None
        except asyncio.CancelledError:
            if watchdog is None or ward is None or not expired(ward):
                raise  # not the watchdog's: the server or the host is cancelling
            raise timed_out(watchdog.seconds) from None  # a sender that stopped sending
        finally:
            if ward is not None:
                leave(ward)
        if declared is not None and size != declared:
            raise IncompleteBody(f"the body is {size} bytes but Content-Length says {declared}")
        # What Request.body() itself caches, so the endpoint (and FastAPI) read it again.
        request._body = b"".join(pending.chunks)
        verified = await pending.afinish()
        if handshake is not None:
            reply = handshake.after(said, verified, request._body, self.verifier.provider)
            if reply is not None:  # a verified handshake: answered here, not by the endpoint
                raise HandshakeAnswered(reply)
        return verified


class _ReleasingWebhook(VerifiedWebhook):
    """:class:`VerifiedWebhook` with a replay guard: a dependency with ``yield``, which settles
    the delivery's claim once the endpoint has run (what :func:`VerifiedWebhook.__new__`
    builds when there is a guard)."""

    async def __call__(  # type: ignore[override]
        self, request: Request, **parameters: Any
    ) -> AsyncIterator[Verified]:
        """Verify ``request``, yield the result to the endpoint, then settle the delivery's
        replay claim with how the endpoint did."""
        verified = await VerifiedWebhook.__call__(self, request)
        held = claim(self.verifier, verified)
        claims: list[Claim] | None = request.scope.get(_CLAIMS_KEY)
        if held is None or claims is not None:
            if held is not None and claims is not None:
                claims.append(held)  # ReleaseOnFailure sees the status actually sent
            yield verified
            return
        try:
            yield verified
        except BaseException as error:  # the endpoint raised: settle with FastAPI's answer
            await held.asettle(_status_of_error(error))
            raise
        response: Response | None = parameters.get(_RESPONSE_PARAMETER)
        status = None if response is None else response.status_code
        if status is not None:  # the endpoint set a status on its injected Response
            await held.asettle(status)


def _verifying_route_class(webhook: VerifiedWebhook) -> type[APIRoute]:
    """An ``APIRoute`` subclass that runs ``webhook`` before FastAPI's own request handling
    (body reading and parsing, then dependencies). A test's ``dependency_overrides`` entry for
    ``webhook`` turns the early check off, as it turns off the dependency itself."""

    class VerifyingRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def verify_first(request: Request) -> Response:
                overrides = getattr(request.scope.get("app"), "dependency_overrides", None)
                if not overrides or webhook not in overrides:
                    await webhook.verify_request(request)
                return await handler(request)

            return verify_first

    return VerifyingRoute


def _dependency_signature(
    scheme: Scheme, document_headers: bool, *, response: bool
) -> inspect.Signature:
    """``(request: Request, *, <one optional Header per scheme header>)`` for FastAPI, and
    with ``response`` FastAPI's per-request Response (a status the endpoint sets on it is read
    after the endpoint ran)."""
    parameters = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
    ]
    if response:
        parameters.append(
            inspect.Parameter(
                _RESPONSE_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=Response
            )
        )
    for name in scheme.header_names if document_headers else ():
        parameters.append(
            inspect.Parameter(
                "hookseal_" + name.lower().replace("-", "_"),
                inspect.Parameter.KEYWORD_ONLY,
                default=Header(
                    None,
                    alias=name,
                    description=f"Required by the {scheme.name} webhook scheme; "
                    "verified by hookseal (401 problem+json when missing or wrong).",
                ),
                annotation=str | None,
            )
        )
    return inspect.Signature(parameters, return_annotation=Verified)


def _status_of_error(error: BaseException) -> int | None:
    """What FastAPI answers for an exception the endpoint raised: an HTTPException's own
    status, 422 for a validation error, None (a 500) for anything else."""
    if isinstance(error, HTTPException):
        return error.status_code
    if isinstance(error, RequestValidationError):
        return 422
    return None


def _register_handler(request: Request) -> None:
    """Make sure this app answers WebhookRejected with problem+json, without asking the user.

    The handlers Starlette's ExceptionMiddleware consults are in the scope; adding ours there
    is what ``app.add_exception_handler`` would have done at start-up. A handler the user
    registered for WebhookRejected is left alone.
    """
    found: Any = request.scope.get(_HANDLERS_KEY)
    if isinstance(found, tuple) and found and isinstance(found[0], dict):
        found[0].setdefault(WebhookRejected, problem_response)
        found[0].setdefault(HandshakeAnswered, answer_handshake)
