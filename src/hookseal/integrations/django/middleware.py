"""The middleware: verify requests to ``settings.HOOKSEAL["PATHS"]`` before anything parses them.

It reads ``request.body`` in ``__call__``, before CSRF checks (``process_view``) and form parsing,
so put it near the top of MIDDLEWARE. Sync and async capable: under ASGI it stays async. With a
``REPLAY_GUARD``, a delivery the view fails (it raises, or the answer is 5xx) is released, so the
provider's retry is accepted. ``PUBLIC_URL`` / ``TRUSTED_PROXIES`` say what URL the provider
called (for the schemes that sign it), and the scheme's endpoint handshake is answered here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase

from ..._adapter import acall_settling, call_settling, claim, count_refusal
from ...errors import ConfigurationError, VerificationError
from . import conf
from .request import (
    answer_after,
    answer_before,
    averify_request,
    problem_response,
    reply_response,
    status_of,
    verify_request,
)

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
        config = self.config
        verifier = config.verifier
        try:
            reply = answer_before(config.handshake, request)  # Meta's, which is not signed
            if reply is None:
                verified = verify_request(
                    verifier, request, config.max_body_size, config.request_url
                )
                reply = answer_after(config.handshake, request, verified, verifier)
        except VerificationError as error:
            return self._refuse(error)
        if reply is not None:  # a provider's handshake: answered here, not by the view
            return reply_response(reply)
        return call_settling(
            claim(verifier, verified), lambda: self.get_response(request), status_of
        )

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        if not self._guarded(request):
            response: Awaitable[HttpResponseBase] = self.get_response(request)
            return await response
        config = self.config
        verifier = config.verifier
        try:
            reply = answer_before(config.handshake, request)
            if reply is None:
                verified = await averify_request(
                    verifier, request, config.max_body_size, config.request_url
                )
                reply = answer_after(config.handshake, request, verified, verifier)
        except VerificationError as error:
            return self._refuse(error)
        if reply is not None:
            return reply_response(reply)
        return await acall_settling(
            claim(verifier, verified), lambda: self.get_response(request), status_of
        )

    def _refuse(self, error: VerificationError) -> HttpResponseBase:
        count_refusal(self.config.verifier, error)
        handshake = self.config.handshake
        return problem_response(error, quiet=handshake is not None and handshake.quiet_refusals)

    def _guarded(self, request: HttpRequest) -> bool:
        # path_info is what URL resolution uses; path adds the script prefix of a mount.
        return self.config.matcher.matches(request.path_info, request.path)
