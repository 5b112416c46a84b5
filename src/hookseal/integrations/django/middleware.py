"""The middleware: verify requests to ``settings.HOOKSEAL["PATHS"]`` before anything parses them.

It reads ``request.body`` in ``__call__``, before CSRF checks (``process_view``) and form parsing,
so put it near the top of MIDDLEWARE. Sync and async capable: under ASGI it stays async.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase

from ...errors import ConfigurationError, VerificationError
from . import conf
from .request import averify_request, problem_response, verify_request

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
        if self._guarded(request):
            try:
                verify_request(self.config.verifier, request, self.config.max_body_size)
            except VerificationError as error:
                return problem_response(error)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if self._guarded(request):
            try:
                await averify_request(self.config.verifier, request, self.config.max_body_size)
            except VerificationError as error:
                return problem_response(error)
        response: Awaitable[HttpResponseBase] = self.get_response(request)
        return await response

    def _guarded(self, request: HttpRequest) -> bool:
        # path_info is what URL resolution uses; path adds the script prefix of a mount.
        return self.config.matcher.matches(request.path_info, request.path)
