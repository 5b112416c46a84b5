"""Flask: the ``HookSeal`` extension and its ``@seal.verify(...)`` route decorator.

seal = HookSeal(app)   # reads HOOKSEAL_SECRETS, HOOKSEAL_SCHEME, HOOKSEAL_PATHS, ...

@app.post("/hooks/billing")
@seal.verify(secrets="s3cr3t")
def billing(): return {"received": g.hookseal.secret_id}

Config keys: ``HOOKSEAL_SECRETS`` (a secret, a list of them, a SecretSet or a Keyring),
``HOOKSEAL_SCHEME``, ``HOOKSEAL_PATHS`` (when set, every request to those paths is verified in
``before_request``, whatever route it reaches), ``HOOKSEAL_TOLERANCE``,
``HOOKSEAL_REPLAY_GUARD``, ``HOOKSEAL_BODY_TIMEOUT`` (seconds, default 30, checked between
reads as in :mod:`hookseal.wsgi`), ``HOOKSEAL_MAX_BODY_SIZE`` (default:
``MAX_CONTENT_LENGTH`` when set, else 1 MiB), ``HOOKSEAL_PUBLIC_URL`` or
``HOOKSEAL_TRUSTED_PROXIES`` (the URL the provider called, for the schemes that sign it: see
:mod:`hookseal.forwarded`) and ``HOOKSEAL_HANDSHAKE`` (see :mod:`hookseal.handshakes`; a
route takes ``handshake=`` too).
The body is read and verified through the WSGI environ before Werkzeug touches it, so
``request.get_data()`` and ``request.get_json()`` read the same bytes afterwards.

With a replay guard, a delivery whose view raises or answers 5xx is released (in
``after_request`` and ``teardown_request``), so the provider's retry is accepted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

try:
    from flask import Flask, Request, Response, current_app, g, request
except ImportError as exc:  # pragma: no cover - exercised by a test that hides flask
    from .._extras import missing_extra

    raise missing_extra("hookseal.integrations.flask", "flask", "flask") from exc

from .._adapter import (
    DEFAULT_MAX_BODY_SIZE,
    Claim,
    build_verifier,
    check_limit,
    claim,
    count_refusal,
    refusal,
)
from .._deadline import DEFAULT_BODY_TIMEOUT, check_body_timeout
from ..errors import ConfigurationError, VerificationError
from ..forwarded import RequestURL
from ..handshakes import Handshake, Reply, handshake_for
from ..paths import PathMatcher
from ..replay import ReplayGuard
from ..schemes import Scheme, by_name
from ..verifier import Verified, Verifier
from ..wsgi import handshake_request, request_paths, verify_environ

__all__ = ["HookSeal"]

EXTENSION_KEY = "hookseal"
_MARK = "_hookseal_verifies"  # set on views whose own decorator verifies them
_CLAIM = "_hookseal_claim"  # on ``g``: the replay key this request's delivery holds

View = TypeVar("View", bound=Callable[..., Any])


class _AppState:
    """What the extension holds for one app: its config, read once at ``init_app``, and the
    verifiers built from it, one per decorated route that names its own scheme."""

    __slots__ = (
        "body_timeout",
        "handshake",
        "matcher",
        "max_body_size",
        "replay_guard",
        "request_url",
        "scheme",
        "secrets",
        "tolerance",
        "verifiers",
    )

    def __init__(self, app: Flask) -> None:
        config = app.config
        self.secrets: Any = config.get("HOOKSEAL_SECRETS")
        raw_scheme = config.get("HOOKSEAL_SCHEME")
        self.scheme: Scheme | None = None if raw_scheme is None else by_name(raw_scheme)
        self.tolerance: float | None = config.get("HOOKSEAL_TOLERANCE")
        self.replay_guard: ReplayGuard | None = config.get("HOOKSEAL_REPLAY_GUARD")
        self.body_timeout = check_body_timeout(
            config.get("HOOKSEAL_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT)
        )
        limit = config.get("HOOKSEAL_MAX_BODY_SIZE")
        self.max_body_size: int | None = None if limit is None else check_limit(limit)
        paths = config.get("HOOKSEAL_PATHS")
        self.matcher: PathMatcher | None = None if paths is None else PathMatcher(paths)
        self.request_url = RequestURL(
            config.get("HOOKSEAL_PUBLIC_URL"), config.get("HOOKSEAL_TRUSTED_PROXIES")
        )
        self.handshake: Handshake | bool | None = config.get("HOOKSEAL_HANDSHAKE")
        # Keyed by route, never by scheme name: two routes with differently configured
        # instances of one scheme (other header, other encoding) each keep their own.
        self.verifiers: dict[object, Verifier] = {}
        if self.secrets is not None:
            # a bad secret or option fails at start-up, not per request
            handshake_for(self.verifier(None, None).scheme, self.handshake)
        elif self.matcher is not None:
            raise ConfigurationError("HOOKSEAL_PATHS is set but HOOKSEAL_SECRETS is not")

    def verifier(self, route: object, scheme: Scheme | None) -> Verifier:
        """The verifier for the app's secrets and ``route`` (None: the app's own, with
        ``HOOKSEAL_SCHEME``); ``scheme`` is that route's scheme (None: the app's)."""
        found = self.verifiers.get(route)
        if found is None:
            if self.secrets is None:
                raise ConfigurationError(
                    "no secrets: set HOOKSEAL_SECRETS or pass secrets= to seal.verify()"
                )
            found = build_verifier(
                self.secrets,
                None,
                scheme=self.scheme if scheme is None else scheme,
                tolerance=self.tolerance,
                replay_guard=self.replay_guard,
            )
            self.verifiers[route] = found
        return found

    def limit(self, app: Flask) -> int:
        """The body limit: ours if set, else Flask's MAX_CONTENT_LENGTH, else 1 MiB."""
        if self.max_body_size is not None:
            return self.max_body_size
        flask_limit = app.config.get("MAX_CONTENT_LENGTH")
        return DEFAULT_MAX_BODY_SIZE if flask_limit is None else check_limit(flask_limit)


class HookSeal:
    """Flask extension: ``HookSeal(app)`` or ``seal = HookSeal(); seal.init_app(app)``."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read the app's ``HOOKSEAL_*`` config and, with ``HOOKSEAL_PATHS``, guard those paths."""
        state = _AppState(app)
        app.extensions[EXTENSION_KEY] = state
        if state.matcher is not None:
            app.before_request(self._guard_paths)
        app.after_request(_settle_claim)
        app.teardown_request(_release_claim_on_error)

    def verify(
        self,
        *,
        secrets: Any = None,
        scheme: Scheme | str | None = None,
        verifier: Verifier | None = None,
        tolerance: float | None = None,
        replay_guard: ReplayGuard | None = None,
        max_body_size: int | None = None,
        handshake: Handshake | bool | None = None,
    ) -> Callable[[View], View]:
        """Decorate a view so it only runs for a verified request; result on ``g.hookseal``.

        With no ``secrets`` (or ``verifier``) the app's ``HOOKSEAL_SECRETS`` are used, with
        this route's ``scheme`` where given (its own verifier, whatever other routes use).
        ``handshake``: as ``HOOKSEAL_HANDSHAKE`` (default: that setting), for this route; a
        handshake that comes as a GET (Meta, Okta) needs a route that accepts GET.
        """
        own = None
        if secrets is not None or verifier is not None:
            own = build_verifier(
                secrets, verifier, scheme=scheme, tolerance=tolerance, replay_guard=replay_guard
            )
        elif tolerance is not None or replay_guard is not None:
            raise ConfigurationError(
                "tolerance= and replay_guard= on a route need that route's secrets= "
                "(or set HOOKSEAL_TOLERANCE and HOOKSEAL_REPLAY_GUARD)"
            )
        route_scheme = None if scheme is None else by_name(scheme)  # a bad name fails here
        route: object = None if route_scheme is None else object()  # this route's own key
        limit = None if max_body_size is None else check_limit(max_body_size)
        known = own.scheme if own is not None else route_scheme
        if known is not None and handshake is not None:
            handshake_for(known, handshake)  # a handshake for another scheme fails here

        def decorator(view: View) -> View:
            @functools.wraps(view)
            def verified_view(*args: Any, **kwargs: Any) -> Any:
                app = current_app._get_current_object()  # type: ignore[attr-defined]
                state = _state(app)
                chosen = own if own is not None else state.verifier(route, route_scheme)
                answer = state.handshake if handshake is None else handshake
                refused = _verify_request(
                    chosen,
                    limit or state.limit(app),
                    state,
                    handshake_for(chosen.scheme, answer),
                    _current_request(),
                )
                if refused is not None:
                    return refused
                return app.ensure_sync(view)(*args, **kwargs)

            setattr(verified_view, _MARK, True)
            return verified_view  # type: ignore[return-value]

        return decorator

    def _guard_paths(self) -> Response | None:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        state = _state(app)
        req = _current_request()
        if state.matcher is None or not state.matcher.matches(*request_paths(req.environ)):
            return None
        view = app.view_functions.get(req.endpoint) if req.endpoint else None
        if getattr(view, _MARK, False):
            return None  # the route's own @seal.verify decides, with its own secrets
        chosen = state.verifier(None, None)
        handshake = handshake_for(chosen.scheme, state.handshake)
        return _verify_request(chosen, state.limit(app), state, handshake, req)


def _state(app: Flask) -> _AppState:
    state = app.extensions.get(EXTENSION_KEY)
    if not isinstance(state, _AppState):
        raise ConfigurationError("HookSeal is not initialised on this app: call init_app(app)")
    return state


def _current_request() -> Request:
    # The object behind the proxy, so each attribute read below is not a context lookup.
    return request._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _verify_request(
    verifier: Verifier, limit: int, state: _AppState, handshake: Handshake | None, req: Request
) -> Response | None:
    """Verify the current request; None when it passed, else the response to send instead
    (a refusal's problem document, or the answer to a provider's handshake)."""
    try:
        if handshake is not None:
            said = handshake_request(req.environ)
            reply = handshake.before(said)  # Meta's, which the provider does not sign
            if reply is not None:
                return _reply(reply)
        verified = _verified(verifier, limit, state, req)
        if handshake is not None:
            body = req.get_data(cache=True)
            reply = handshake.after(said, verified, body, verifier.provider)
            if reply is not None:  # a verified handshake: answered here, not by the view
                return _reply(reply)
    except VerificationError as error:
        count_refusal(verifier, error)
        return _problem(error, quiet=handshake is not None and handshake.quiet_refusals)
    g.hookseal = verified
    held = claim(verifier, verified)
    if held is not None:
        setattr(g, _CLAIM, held)
    return None


def _verified(verifier: Verifier, limit: int, state: _AppState, req: Request) -> Verified:
    if "stream" not in req.__dict__ and getattr(req, "_cached_data", None) is None:
        # Nothing has read the body yet: read it ourselves, bounded, and hand Werkzeug a copy.
        return verify_environ(
            verifier,
            req.environ,
            limit,
            body_timeout=state.body_timeout,
            request_url=state.request_url,
        )
    # Something (another hook) already read the body; verify what Werkzeug kept of it.
    # If it kept nothing, the signature cannot match and the request is refused.
    if verifier.scheme.signs_request:
        url = state.request_url.of_environ(req.environ)
        pending = verifier.begin(req.headers, url=url, method=req.method)
    else:
        pending = verifier.begin(req.headers)
    pending.update(req.get_data(cache=True))
    return pending.finish()


def _settle_claim(response: Response) -> Response:
    """``after_request``: a 5xx answer (from the view, or Flask's own for an exception it
    turned into one) releases the delivery's replay key."""
    held: Claim | None = g.get(_CLAIM)
    if held is not None:
        held.settle(response.status_code)
    return response


def _release_claim_on_error(error: BaseException | None) -> None:
    """``teardown_request``: an exception that ended the request (one Flask propagates, which
    skips ``after_request``) releases the delivery's replay key."""
    held: Claim | None = g.pop(_CLAIM, None)
    if held is not None and error is not None:
        held.release()


def _problem(error: VerificationError, *, quiet: bool = False) -> Response:
    body, pairs = refusal(error, quiet=quiet)
    headers = [(k, v) for k, v in pairs if k != "content-length"]
    response: Response = current_app.response_class(body, status=error.status, headers=headers)
    if quiet:
        del response.headers["Content-Type"]  # Flask adds text/html; Xero wants no body at all
    return response


def _reply(reply: Reply) -> Response:
    headers = [(k, v) for k, v in reply.header_list() if k != "content-length"]
    response: Response = current_app.response_class(
        reply.body, status=reply.status, headers=headers
    )
    if reply.content_type is None:
        del response.headers["Content-Type"]
    return response
