"""What every web adapter (ASGI, WSGI, FastAPI, Flask, Django) shares: one verifier from its
options, the body-size limit, the declared body length, the answer to a refusal, and when a
delivery's replay key is released, so the rules live in one place."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from ._time import Clock
from .errors import BodyError, ConfigurationError, VerificationError
from .observe import count_refusal, count_verified
from .problem import problem_body, problem_headers
from .replay import ReplayGuard
from .schemes import Scheme
from .secrets import SecretsLike
from .verifier import Verified, Verifier

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "Claim",
    "acall_settling",
    "app_failed",
    "build_verifier",
    "call_settling",
    "check_limit",
    "claim",
    "content_length",
    "count_refusal",
    "count_verified",
    "refusal",
]

logger = logging.getLogger("hookseal")

Result = TypeVar("Result")

DEFAULT_MAX_BODY_SIZE = 1 << 20
"""1 MiB: larger than any provider's documented webhook payload."""

_MAX_LENGTH_DIGITS = 18  # a Content-Length longer than this is nonsense, not a big number


def build_verifier(
    secrets: SecretsLike | None,
    verifier: Verifier | None,
    *,
    scheme: Scheme | str | None = None,
    tolerance: float | None = None,
    leeway: float | None = None,
    replay_guard: ReplayGuard | None = None,
    clock: Clock | None = None,
) -> Verifier:
    """The verifier from exactly one of ``secrets`` or ``verifier``; mixing them is refused."""
    if verifier is not None:
        if secrets is not None:
            raise ConfigurationError("give either secrets or verifier, not both")
        if not isinstance(verifier, Verifier):
            raise ConfigurationError("verifier must be a hookseal.Verifier")
        given = (scheme, tolerance, leeway, replay_guard, clock)
        if any(option is not None for option in given):
            raise ConfigurationError(
                "scheme, tolerance, leeway, replay_guard and clock belong to the Verifier "
                "when one is given"
            )
        return verifier
    if secrets is None:
        raise ConfigurationError("give secrets or a verifier")
    options: dict[str, Any] = {}
    if tolerance is not None:
        options["tolerance"] = tolerance
    if leeway is not None:
        options["leeway"] = leeway
    return Verifier(secrets, scheme=scheme, replay_guard=replay_guard, clock=clock, **options)


def check_limit(max_body_size: object) -> int:
    """``max_body_size`` as a positive int, or a ConfigurationError naming the mistake."""
    if isinstance(max_body_size, bool) or not isinstance(max_body_size, int) or max_body_size < 1:
        raise ConfigurationError("max_body_size must be a positive int of bytes")
    return max_body_size


def content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """The declared body length in an ASGI header list, None when absent.

    A malformed or repeated one is refused (400): guessing which of two lengths is meant is how
    request smuggling starts.
    """
    found: int | None = None
    for name, value in headers:
        if len(name) != 14 or name.lower() != b"content-length":  # lower() only what may match
            continue
        text = value.strip()
        if found is not None or not text.isdigit() or len(text) > _MAX_LENGTH_DIGITS:
            raise BodyError("the Content-Length header is malformed", header="Content-Length")
        found = int(text)
    return found


def refusal(
    error: VerificationError, *, quiet: bool = False
) -> tuple[bytes, list[tuple[str, str]]]:
    """The body and headers (lower-case names) answering a refused request: its problem
    document, or with ``quiet`` no body at all (Xero checks that responses have none), the
    status and the error's own headers (``WWW-Authenticate``, ``Retry-After``) still sent."""
    if not quiet:
        body = problem_body(error)
        return body, problem_headers(error, len(body))
    headers = [("content-length", "0"), ("cache-control", "no-store")]
    headers.extend((name.lower(), value) for name, value in error.response_headers().items())
    return b"", headers


# -- releasing a delivery the app failed ---------------------------------------------------------


def app_failed(status: int | None) -> bool:
    """The one release rule: the app failed a delivery when it gave no answer (None: it raised,
    or never started a response) or answered 5xx. The provider will retry such a delivery, with
    the same message id and a new timestamp, so its replay key must not be kept."""
    return status is None or status >= 500


class Claim:
    """The replay key a guard remembered for one verified delivery, released at most once.

    Adapters call :meth:`settle` with the status the app answered (None when it raised): a failed
    delivery is forgotten, so the retry is accepted instead of refused as a replay (409).
    """

    __slots__ = ("_guard", "_key")

    def __init__(self, guard: ReplayGuard, key: str) -> None:
        self._guard = guard
        self._key: str | None = key

    def settle(self, status: int | None) -> None:
        """Release the key when :func:`app_failed` says so."""
        if app_failed(status):
            self.release()

    async def asettle(self, status: int | None) -> None:
        """:meth:`settle` without blocking the event loop."""
        if app_failed(status):
            await self.arelease()

    def release(self) -> None:
        """Forget the key (once; a second call does nothing, so a retry's key is never lost)."""
        key = self._take()
        if key is not None:
            try:
                self._guard.forget(key)
            except Exception:  # the app's own outcome must not be replaced by ours
                _release_failed()

    async def arelease(self) -> None:
        """:meth:`release` without blocking the event loop."""
        key = self._take()
        if key is not None:
            try:
                await self._guard.aforget(key)
            except Exception:
                _release_failed()

    def _take(self) -> str | None:
        key, self._key = self._key, None
        return key

    def __repr__(self) -> str:
        return f"Claim(released={self._key is None})"


def claim(verifier: Verifier, verified: Verified) -> Claim | None:
    """The claim a verified delivery holds in the verifier's replay guard, None without one."""
    guard = verifier.replay_guard
    key = verified.replay_key
    return None if guard is None or key is None else Claim(guard, key)


def call_settling(
    held: Claim | None,
    call: Callable[[], Result],
    status_of: Callable[[Result], int | None],
    status_of_error: Callable[[BaseException], int | None] = lambda error: None,
) -> Result:
    """``call()``, then settle ``held`` with the status of its result. If it raises, settle
    with what the framework will answer for that exception (``status_of_error``: a 404 for
    Django's Http404, say); None, the default, means no answer: released."""
    if held is None:
        return call()
    try:
        result = call()
    except BaseException as error:
        held.settle(status_of_error(error))
        raise
    held.settle(status_of(result))
    return result


async def acall_settling(
    held: Claim | None,
    call: Callable[[], Awaitable[Result]],
    status_of: Callable[[Result], int | None],
    status_of_error: Callable[[BaseException], int | None] = lambda error: None,
) -> Result:
    """:func:`call_settling` for a coroutine."""
    if held is None:
        return await call()
    try:
        result = await call()
    except BaseException as error:
        await held.asettle(status_of_error(error))
        raise
    await held.asettle(status_of(result))
    return result


def _release_failed() -> None:
    # No key in the line: keys are not secrets, but a log stays bounded and free of input.
    logger.exception(
        "hookseal: could not release the replay key of a delivery the app failed; "
        "the provider's retry will be refused as a replay"
    )
