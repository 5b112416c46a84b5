"""Verifying one Django request: framing and headers first, then ``request.body``, then decide.

Shared by the middleware and the view decorator. On success the result is on
``request.hookseal`` and the request is marked CSRF-exempt (a verified signature is the
sender's proof; webhooks carry no CSRF token), and ``request.body`` and ``request.POST`` read the
bytes already in memory. On failure the caller answers with :func:`problem_response`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, UnreadablePostError

from ..._adapter import refusal
from ...errors import IncompleteBody, PayloadTooLarge, VerificationError
from ...forwarded import RequestURL
from ...handshakes import Handshake, HandshakeRequest, Reply
from ...problem import PROBLEM_CONTENT_TYPE, problem_document
from ...verifier import PendingVerification, Verified, Verifier
from ...wsgi import declared_length

__all__ = [
    "REQUEST_ATTRIBUTE",
    "answer_after",
    "answer_before",
    "averify_request",
    "problem_response",
    "reply_response",
    "status_of",
    "status_of_error",
    "verify_request",
]

REQUEST_ATTRIBUTE = "hookseal"
_OWN_URL = RequestURL()


def verify_request(
    verifier: Verifier, request: HttpRequest, limit: int, request_url: RequestURL | None = None
) -> Verified:
    """Verify ``request`` in sync code; raises a VerificationError when it must be refused.
    ``request_url`` rebuilds the URL for a scheme that signs it (default: the request's own)."""
    length = _framing(request, limit)
    if verifier.scheme.signs_request:
        url = _url_of(request, request_url or _OWN_URL)
        pending = verifier.begin(request.headers, url=url, method=request.method)
    else:
        pending = verifier.begin(request.headers)
    _feed(pending, request, length, limit)
    return _accept(request, pending.finish())


async def averify_request(
    verifier: Verifier, request: HttpRequest, limit: int, request_url: RequestURL | None = None
) -> Verified:
    """:func:`verify_request` for async code: a refreshing keyring is awaited."""
    length = _framing(request, limit)
    if verifier.scheme.signs_request:
        url = _url_of(request, request_url or _OWN_URL)
        pending = await verifier.abegin(request.headers, url=url, method=request.method)
    else:
        pending = await verifier.abegin(request.headers)
    _feed(pending, request, length, limit)
    return _accept(request, await pending.afinish())


def answer_before(handshake: Handshake | None, request: HttpRequest) -> Reply | None:
    """The answer to an unsigned handshake (Meta's), before any verification."""
    return None if handshake is None else handshake.before(_handshake_request(request))


def answer_after(
    handshake: Handshake | None, request: HttpRequest, verified: Verified, verifier: Verifier
) -> Reply | None:
    """The answer to a verified handshake, instead of the view; None for a delivery."""
    if handshake is None:
        return None
    body: bytes = request.body  # read already, by the verification
    return handshake.after(_handshake_request(request), verified, body, verifier.provider)


def problem_response(error: VerificationError, *, quiet: bool = False) -> HttpResponse:
    """The problem+json answer to a refused request, with the error's own headers
    (``quiet``: no body at all, for Xero)."""
    if quiet:
        body, pairs = refusal(error, quiet=True)
        response = HttpResponse(body, status=error.status)
        del response["Content-Type"]
        for name, value in pairs:
            if name != "content-length":
                response[name] = value
        return response
    headers = {"Cache-Control": "no-store", **error.response_headers()}
    return JsonResponse(
        problem_document(error),
        status=error.status,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def reply_response(reply: Reply) -> HttpResponse:
    """The answer to a provider's handshake (the view is not called)."""
    response = HttpResponse(reply.body, status=reply.status)
    if reply.content_type is None:
        del response["Content-Type"]
    for name, value in reply.header_list():
        if name != "content-length":
            response[name] = value
    return response


def status_of(response: object) -> int | None:
    """The status a view or the rest of the chain answered (None: not a response at all)."""
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def status_of_error(error: BaseException) -> int | None:
    """What Django answers for an exception a view raises: its 4xx for the ones it maps
    (Http404, PermissionDenied, BadRequest, SuspiciousOperation), None (a 500) otherwise."""
    if isinstance(error, Http404):
        return 404
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, (BadRequest, SuspiciousOperation)):
        return 400
    return None


def _url_of(request: HttpRequest, request_url: RequestURL) -> str:
    """The URL the provider called: from the ASGI scope under ASGI (it keeps the raw path),
    from the WSGI environ (``request.META``) under WSGI."""
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        return request_url.of_scope(scope)
    return request_url.of_environ(request.META)


def _handshake_request(request: HttpRequest) -> HandshakeRequest:
    query = request.META.get("QUERY_STRING", "")
    return HandshakeRequest(
        str(request.method), query if isinstance(query, str) else "", request.headers
    )


def _framing(request: HttpRequest, limit: int) -> int | None:
    # Under WSGI, Django reads exactly CONTENT_LENGTH bytes and nothing without it, so a chunked
    # body would arrive empty: refuse it (411). Under ASGI the handler has the whole body.
    under_wsgi = "wsgi.input" in request.META
    return declared_length(request.META, limit, terminated=not under_wsgi)


def _feed(
    pending: PendingVerification, request: HttpRequest, length: int | None, limit: int
) -> None:
    try:
        body: bytes = request.body
    except RequestDataTooBig as exc:  # Django's own DATA_UPLOAD_MAX_MEMORY_SIZE
        raise PayloadTooLarge() from exc
    except UnreadablePostError as exc:
        raise IncompleteBody("the request body could not be read to its end") from exc
    if len(body) > limit:
        raise PayloadTooLarge(f"the body exceeds {limit} bytes")
    if length is not None and len(body) < length:
        raise IncompleteBody(f"the body ended after {len(body)} of {length} bytes")
    pending.update(body)


def _accept(request: Any, verified: Verified) -> Verified:
    setattr(request, REQUEST_ATTRIBUTE, verified)
    # What Django's test client and DRF set to skip CsrfViewMiddleware for one request.
    request._dont_enforce_csrf_checks = True
    return verified
