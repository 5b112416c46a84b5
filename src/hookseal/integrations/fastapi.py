"""FastAPI: verify a webhook route with a dependency, and document its headers in OpenAPI.

    verified = VerifiedWebhook(secrets="s3cr3t", scheme=schemes.Stripe())

    @app.post("/hooks/stripe")
    async def stripe_hook(request: Request, event: Verified = Depends(verified)) -> dict: ...

The dependency reads the raw body (the endpoint can still ``await request.body()``), verifies
it, and returns the :class:`~hookseal.Verified` result (also on ``request.state.hookseal``).
A refused request raises :class:`WebhookRejected`, answered with the same RFC 9457
``application/problem+json`` document as the middleware: the handler is registered on first
use, or up front with :func:`install`.

FastAPI reads and parses a route's body parameters (JSON, forms) *before* it runs any
dependency, so an unsigned request with a broken body would get FastAPI's 422 instead of 401.
Routes with body parameters go on ``verified.router()``: its routes verify first, then parse.

    hooks = verified.router(prefix="/hooks")

    @hooks.post("/stripe")
    async def stripe_hook(event: Event) -> dict: ...      # unsigned: 401, never 422

    app.include_router(hooks)
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine
from typing import Any

try:
    from fastapi import APIRouter, Depends, FastAPI, Header, Request
    from fastapi.responses import Response
    from fastapi.routing import APIRoute
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect
except ImportError as exc:  # pragma: no cover - exercised by a test that hides fastapi
    from .._extras import missing_extra

    raise missing_extra("hookseal.integrations.fastapi", "fastapi", "fastapi") from exc

from .._adapter import DEFAULT_MAX_BODY_SIZE, build_verifier, check_limit, content_length
from .._time import Clock
from ..errors import ConfigurationError, IncompleteBody, PayloadTooLarge, VerificationError
from ..problem import problem_body, problem_headers
from ..replay import ReplayGuard
from ..schemes import Scheme
from ..secrets import SecretsLike
from ..verifier import Verified, Verifier

__all__ = ["VerifiedWebhook", "WebhookRejected", "install", "problem_response"]

_HANDLERS_KEY = "starlette.exception_handlers"
_VERIFIED_KEY = "hookseal.verified"  # in the scope: {VerifiedWebhook: Verified} of this request
logger = logging.getLogger("hookseal")


class WebhookRejected(HTTPException):
    """A webhook was refused; carries the :class:`~hookseal.errors.VerificationError`.

    A subclass of Starlette's ``HTTPException``, so even without hookseal's handler the answer
    has the right status and headers (``WWW-Authenticate``, ``Retry-After``).
    """

    def __init__(self, error: VerificationError) -> None:
        super().__init__(error.status, detail=error.detail, headers=error.response_headers())
        self.error = error

    def response(self) -> Response:
        """The problem+json response for this refusal."""
        body = problem_body(self.error)
        headers = dict(problem_headers(self.error, len(body)))
        del headers["content-length"]  # Response computes it
        return Response(
            body,
            status_code=self.error.status,
            headers=headers,
            media_type=headers.pop("content-type"),
        )


async def problem_response(request: Request, exc: Exception) -> Response:
    """Exception handler answering a :class:`WebhookRejected` with its problem document."""
    if not isinstance(exc, WebhookRejected):
        raise exc
    return exc.response()


def install(app: FastAPI) -> None:
    """Register :func:`problem_response` for :class:`WebhookRejected` on ``app`` up front.

    Optional: :class:`VerifiedWebhook` registers it itself on the first refusal.
    """
    app.add_exception_handler(WebhookRejected, problem_response)


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
    work.
    """

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
        self.__signature__ = _dependency_signature(self.verifier.scheme, document_headers)
        self.route_class: type[APIRoute] = _verifying_route_class(self)
        """An ``APIRoute`` class whose routes verify with this dependency before FastAPI reads
        the body; :meth:`router` uses it."""
        self._late_routes: set[str] = set()

    def __repr__(self) -> str:
        return f"VerifiedWebhook(verifier={self.verifier!r}, max_body_size={self.max_body_size})"

    def router(self, **options: Any) -> APIRouter:
        """An ``APIRouter`` (same options) whose every route is verified by this dependency
        *before* FastAPI parses its body, so unsigned requests get 401, never a 422 that echoes
        their content. ``Depends(self)`` in a route returns the result without verifying twice.
        """
        dependencies = [Depends(self), *(options.pop("dependencies", None) or ())]
        return APIRouter(route_class=self.route_class, dependencies=dependencies, **options)

    async def __call__(self, request: Request, **headers: str | None) -> Verified:
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
            _register_handler(request)
            raise WebhookRejected(error) from None
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
        raw_headers = request.scope["headers"]
        declared = content_length(raw_headers)
        if declared is not None and declared > limit:
            raise PayloadTooLarge(f"the body is {declared} bytes; at most {limit} are accepted")
        pending = await self.verifier.abegin(raw_headers)
        if getattr(request, "_stream_consumed", False) and not hasattr(request, "_body"):
            # FastAPI parsed Form() parameters before running dependencies: the bytes are gone.
            raise ConfigurationError(
                "the request body was consumed before VerifiedWebhook ran (FastAPI parses Form() "
                "parameters first), so it cannot be verified: declare the route on "
                "verified.router(), which verifies before FastAPI reads the body, or guard this "
                "path with hookseal.asgi.WebhookVerificationMiddleware"
            )
        size = 0
        try:
            async for chunk in request.stream():
                if chunk:
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge(f"the body exceeds {limit} bytes")
                    pending.update(chunk)
        except ClientDisconnect:
            raise IncompleteBody("the client disconnected before the body ended") from None
        if declared is not None and size != declared:
            raise IncompleteBody(f"the body is {size} bytes but Content-Length says {declared}")
        # What Request.body() itself caches, so the endpoint (and FastAPI) read it again.
        request._body = b"".join(pending.chunks)
        return await pending.afinish()


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


def _dependency_signature(scheme: Scheme, document_headers: bool) -> inspect.Signature:
    """``(request: Request, *, <one optional Header per scheme header>)`` for FastAPI."""
    parameters = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
    ]
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


def _register_handler(request: Request) -> None:
    """Make sure this app answers WebhookRejected with problem+json, without asking the user.

    The handlers Starlette's ExceptionMiddleware consults are in the scope; adding ours there
    is what ``app.add_exception_handler`` would have done at start-up. A handler the user
    registered for WebhookRejected is left alone.
    """
    found: Any = request.scope.get(_HANDLERS_KEY)
    if isinstance(found, tuple) and found and isinstance(found[0], dict):
        found[0].setdefault(WebhookRejected, problem_response)
