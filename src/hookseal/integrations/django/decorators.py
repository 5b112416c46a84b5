"""``@verify_webhook``: verify the requests of one view (sync or async); also CSRF-exempt.

With a replay guard (``replay_guard=``, or ``REPLAY_GUARD`` in the settings), a delivery the
view fails (it raises or answers 5xx) is released, so the provider's retry is accepted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
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
    count_refusal,
)
from ...errors import ConfigurationError, VerificationError
from ...forwarded import RequestURL
from ...handshakes import Handshake, handshake_for
from ...replay import ReplayGuard
from ...schemes import Scheme
from ...verifier import Verifier
from . import conf
from .request import (
    REQUEST_ATTRIBUTE,
    answer_after,
    answer_before,
    averify_request,
    problem_response,
    reply_response,
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
    public_url: str | None = None,
    trusted_proxies: str | Iterable[str] | None = None,
    handshake: Handshake | bool | None = None,
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
    public_url: str | None = None,
    trusted_proxies: str | Iterable[str] | None = None,
    handshake: Handshake | bool | None = None,
) -> Any:
    """Decorate a view so it only runs for a verified request; result on ``request.hookseal``.

    ``@verify_webhook(secrets="s3cr3t", scheme="github")`` uses those; bare ``@verify_webhook``
    (or with only ``scheme=``) uses ``settings.HOOKSEAL``, read at the first request.
    ``public_url`` / ``trusted_proxies`` (default: the setting's ``PUBLIC_URL`` /
    ``TRUSTED_PROXIES``) and ``handshake`` (default: the setting's ``HANDSHAKE``) are as for
    the middleware; a handshake that comes as a GET (Meta, Okta) needs a view that takes GET.
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
    url = None
    if public_url is not None or trusted_proxies is not None:
        url = RequestURL(public_url, trusted_proxies)  # a bad one fails here, at import
    if own is not None and handshake is not None:
        handshake_for(own.scheme, handshake)
    source = _Source(own, scheme, limit, url, handshake)

    def decorator(view: View) -> View:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_verified(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                if source.already_verified(request):  # the middleware settles its claim
                    return await view(request, *args, **kwargs)
                chosen, size, url, shake = source.get()
                try:
                    reply = answer_before(shake, request)  # Meta's, which is not signed
                    if reply is None:
                        verified = await averify_request(chosen, request, size, url)
                        reply = answer_after(shake, request, verified, chosen)
                except VerificationError as error:
                    return _refuse(chosen, shake, error)
                if reply is not None:  # a provider's handshake: answered here
                    return reply_response(reply)
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
            chosen, size, url, shake = source.get()
            try:
                reply = answer_before(shake, request)
                if reply is None:
                    result = verify_request(chosen, request, size, url)
                    reply = answer_after(shake, request, result, chosen)
            except VerificationError as error:
                return _refuse(chosen, shake, error)
            if reply is not None:
                return reply_response(reply)
            return call_settling(
                claim(chosen, result),
                lambda: view(request, *args, **kwargs),
                status_of,
                status_of_error,
            )

        return csrf_exempt(verified)  # type: ignore[no-any-return]

    return decorator if view is None else decorator(view)


def _refuse(verifier: Verifier, handshake: Handshake | None, error: VerificationError) -> Any:
    count_refusal(verifier, error)
    return problem_response(error, quiet=handshake is not None and handshake.quiet_refusals)


Chosen = tuple[Verifier, int, RequestURL, "Handshake | None"]


class _Source:
    """Where one decorated view gets its verifier, limit, URL rule and handshake: its own, or
    the settings'."""

    __slots__ = ("_chosen", "_handshake", "_limit", "_own", "_scheme", "_url")

    def __init__(
        self,
        own: Verifier | None,
        scheme: Scheme | str | None,
        limit: int | None,
        url: RequestURL | None,
        handshake: Handshake | bool | None,
    ):
        self._own = own
        self._scheme = scheme
        self._limit = limit
        self._url = url
        self._handshake = handshake
        self._chosen: Chosen | None = None

    def already_verified(self, request: HttpRequest) -> bool:
        """True when the middleware verified this request with the very same settings."""
        return (
            self._own is None
            and self._scheme is None
            and getattr(request, REQUEST_ATTRIBUTE, None) is not None
        )

    def get(self) -> Chosen:
        """Worked out at the first request (the settings may not be ready at import). A view
        with its own secrets takes only the settings' PUBLIC_URL / TRUSTED_PROXIES (facts of
        the deployment), never their scheme's HANDSHAKE."""
        if self._chosen is None:
            option = self._handshake
            if self._own is not None:
                verifier, limit = self._own, self._limit or DEFAULT_MAX_BODY_SIZE
                found = conf.raw_settings()
                raw = found if isinstance(found, Mapping) else None
            else:
                raw = conf.mapping(conf.raw_settings())
                verifier = conf.verifier(raw, self._scheme)
                limit = self._limit or check_limit(raw.get("MAX_BODY_SIZE", DEFAULT_MAX_BODY_SIZE))
                if option is None:
                    option = raw.get("HANDSHAKE")
            url = self._url if self._url is not None else conf.request_url(raw)
            self._chosen = (verifier, limit, url, handshake_for(verifier.scheme, option))
        return self._chosen
