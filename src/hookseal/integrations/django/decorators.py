"""``@verify_webhook``: verify the requests of one view (sync or async); also CSRF-exempt.

With a replay guard (``replay_guard=``, or ``REPLAY_GUARD`` in the settings), a delivery the
view fails (it raises or answers 5xx) is released, so the provider's retry is accepted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, overload

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest
from django.views.decorators.csrf import csrf_exempt

from ..._adapter import (
    DEFAULT_MAX_BODY_SIZE,
    acall_settling,
    build_verifier,
    call_settling,
    check_limit,
    claim,
)
from ...errors import ConfigurationError, VerificationError
from ...replay import ReplayGuard
from ...schemes import Scheme
from ...verifier import Verifier
from . import conf
from .request import (
    REQUEST_ATTRIBUTE,
    averify_request,
    problem_response,
    status_of,
    status_of_error,
    verify_request,
)

__all__ = ["verify_webhook"]

View = TypeVar("View", bound=Callable[..., Any])


@overload
def verify_webhook(view: View, /) -> View: ...


@overload
def verify_webhook(
    *,
    secrets: Any = None,
    scheme: Scheme | str | None = None,
    verifier: Verifier | None = None,
    tolerance: float | None = None,
    replay_guard: ReplayGuard | None = None,
    max_body_size: int | None = None,
) -> Callable[[View], View]: ...


def verify_webhook(
    view: View | None = None,
    /,
    *,
    secrets: Any = None,
    scheme: Scheme | str | None = None,
    verifier: Verifier | None = None,
    tolerance: float | None = None,
    replay_guard: ReplayGuard | None = None,
    max_body_size: int | None = None,
) -> Any:
    """Decorate a view so it only runs for a verified request; result on ``request.hookseal``.

    ``@verify_webhook(secrets="s3cr3t", scheme="github")`` uses those; bare ``@verify_webhook``
    (or with only ``scheme=``) uses ``settings.HOOKSEAL``, read at the first request.
    """
    own = None
    if secrets is not None or verifier is not None:
        own = build_verifier(
            secrets, verifier, scheme=scheme, tolerance=tolerance, replay_guard=replay_guard
        )
    elif tolerance is not None or replay_guard is not None:
        raise ConfigurationError(
            "tolerance= and replay_guard= on a view need that view's secrets= (or verifier=)"
        )
    limit = None if max_body_size is None else check_limit(max_body_size)
    source = _Source(own, scheme, limit)

    def decorator(view: View) -> View:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_verified(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                if source.already_verified(request):  # the middleware settles its claim
                    return await view(request, *args, **kwargs)
                chosen, size = source.get()
                try:
                    verified = await averify_request(chosen, request, size)
                except VerificationError as error:
                    return problem_response(error)
                return await acall_settling(
                    claim(chosen, verified),
                    lambda: view(request, *args, **kwargs),
                    status_of,
                    status_of_error,
                )

            return csrf_exempt(async_verified)  # type: ignore[no-any-return]

        @functools.wraps(view)
        def verified(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if source.already_verified(request):  # the middleware settles its claim
                return view(request, *args, **kwargs)
            chosen, size = source.get()
            try:
                result = verify_request(chosen, request, size)
            except VerificationError as error:
                return problem_response(error)
            return call_settling(
                claim(chosen, result),
                lambda: view(request, *args, **kwargs),
                status_of,
                status_of_error,
            )

        return csrf_exempt(verified)  # type: ignore[no-any-return]

    return decorator if view is None else decorator(view)


class _Source:
    """Where one decorated view gets its verifier and limit: its own, or the settings'."""

    __slots__ = ("_limit", "_own", "_scheme", "_settings")

    def __init__(self, own: Verifier | None, scheme: Scheme | str | None, limit: int | None):
        self._own = own
        self._scheme = scheme
        self._limit = limit
        self._settings: tuple[Verifier, int] | None = None

    def already_verified(self, request: HttpRequest) -> bool:
        """True when the middleware verified this request with the very same settings."""
        return (
            self._own is None
            and self._scheme is None
            and getattr(request, REQUEST_ATTRIBUTE, None) is not None
        )

    def get(self) -> tuple[Verifier, int]:
        if self._own is not None:
            return self._own, self._limit or DEFAULT_MAX_BODY_SIZE
        if self._settings is None:
            raw = conf.mapping(conf.raw_settings())
            limit = self._limit or check_limit(raw.get("MAX_BODY_SIZE", DEFAULT_MAX_BODY_SIZE))
            self._settings = (conf.verifier(raw, self._scheme), limit)
        return self._settings
