"""The middleware: verify requests to ``settings.HOOKSEAL["PATHS"]`` before anything parses them.

It reads ``request.body`` in ``__call__``, before CSRF checks (``process_view``) and form parsing,
so put it near the top of MIDDLEWARE. Sync and async capable: under ASGI it stays async. With a
``REPLAY_GUARD``, a delivery the view fails (it raises, or the answer is 5xx) is released, so the
provider's retry is accepted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase

from ..._adapter import acall_settling, call_settling, claim
from ...errors import ConfigurationError, VerificationError
from . import conf
from .request import averify_request, problem_response, status_of, verify_request

__all__ = ["WebhookVerificationMiddleware"]

GetResponse = Callable[[HttpRequest], Any]


class WebhookVerificationMiddleware:
    """Only verified requests reach guarded paths; the result is on ``request.hookseal``."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        try:
            self.config = conf.load()
        except ConfigurationError as exc:
            raise ImproperlyConfigured(str(exc)) from None

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        if not self._guarded(request):
            return self.get_response(request)
        verifier = self.config.verifier
        try:
            verified = verify_request(verifier, request, self.config.max_body_size)
        except VerificationError as error:
            return problem_response(error)
        return call_settling(
            claim(verifier, verified), lambda: self.get_response(request), status_of
        )

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if not self._guarded(request):
            response: Awaitable[HttpResponseBase] = self.get_response(request)
            return await response
        verifier = self.config.verifier
        try:
            verified = await averify_request(verifier, request, self.config.max_body_size)
        except VerificationError as error:
            return problem_response(error)
        return await acall_settling(
            claim(verifier, verified), lambda: self.get_response(request), status_of
        )

    def _guarded(self, request: HttpRequest) -> bool:
        # path_info is what URL resolution uses; path adds the script prefix of a mount.
        return self.config.matcher.matches(request.path_info, request.path)
