"""Counting verifications for metrics, at no cost to verifiers nobody observes.

``Verifier(..., observer=metrics)`` gives that one verifier a subclass (same slots, so the
class is swapped in place) whose public calls report each outcome: ``verified(scheme,
secret_id)`` or ``refused(scheme, code)``. Unobserved verifiers keep the plain class and its
hot path untouched. An observer must be cheap and must not raise (an exception from it is
swallowed: counting never changes a verdict).

Adapters refuse some requests before the verifier sees them (a ``Content-Length`` over the
limit, a body that is late or cut short, a bad ``Forwarded`` header): :func:`count_refusal`
reports those to the same observer. An error the observed verifier already reported is marked,
so it is never counted twice.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import VerificationError

if TYPE_CHECKING:
    from .verifier import Verifier

__all__ = ["VerificationObserver", "count_refusal", "observe"]

_COUNTED = "_hookseal_counted"  # set on an error once an observer was told of it


@runtime_checkable
class VerificationObserver(Protocol):
    """Told of every verification outcome (see :class:`hookseal.metrics.Metrics`)."""

    def verified(self, scheme: str, secret_id: str) -> None: ...

    def refused(self, scheme: str, code: str) -> None: ...


def observe(verifier: Verifier, observer: object) -> None:
    """Make ``verifier`` report its outcomes to ``observer`` (its ``observer`` slot)."""
    if not isinstance(observer, VerificationObserver):
        from .errors import ConfigurationError

        raise ConfigurationError("observer must have verified() and refused() methods")
    verifier.__class__ = _classes()[0]


def count_refusal(verifier: Any, error: VerificationError) -> None:
    """Report a refusal an adapter made itself to the verifier's observer, if it has one and
    was not told of this error already."""
    if getattr(verifier, "observer", None) is not None and not hasattr(error, _COUNTED):
        _refused(verifier, error)


def _refused(verifier: Any, error: VerificationError) -> None:
    setattr(error, _COUNTED, True)
    try:  # noqa: SIM105 - contextlib.suppress costs a Python-level object per call
        verifier.observer.refused(verifier.scheme.name, error.code)
    except Exception:  # noqa: S110 - counting never changes a verdict
        pass


def _verified(verifier: Any, result: Any) -> Any:
    try:  # noqa: SIM105
        verifier.observer.verified(result[1], result[0])
    except Exception:  # noqa: S110 - counting never changes a verdict
        pass
    return result


@cache
def _classes() -> tuple[type[Any], type[Any], type[Any]]:
    """The observed subclasses, made once (verifier.py imports this module): the verifier, and
    one for each kind of pending verification its ``begin`` returns (their layouts differ)."""
    from ._general import PendingRequest
    from .verifier import PendingVerification, Verifier

    verify = Verifier.verify

    class Counting:
        """What both observed pending kinds add: each outcome reported once."""

        __slots__ = ()
        _verifier: Any

        def update(self, chunk: Any) -> None:
            try:
                super().update(chunk)  # type: ignore[misc]
            except VerificationError as error:
                _refused(self._verifier, error)
                raise

        def finish(self, *, now: Any = None) -> Any:
            try:
                return _verified(self._verifier, super().finish(now=now))  # type: ignore[misc]
            except VerificationError as error:
                _refused(self._verifier, error)
                raise

        async def afinish(self, *, now: Any = None) -> Any:
            verifier = self._verifier
            if verifier._static and verifier.replay_guard is None and not verifier._general:
                return self.finish(now=now)  # the base class does the same: count it once
            try:
                result = await super().afinish(now=now)  # type: ignore[misc]
                return _verified(self._verifier, result)
            except VerificationError as error:
                _refused(self._verifier, error)
                raise

    class ObservedPending(Counting, PendingVerification):
        __slots__ = ()

    class ObservedRequest(Counting, PendingRequest):
        __slots__ = ()

    def observed(pending: Any) -> Any:
        pending.__class__ = ObservedRequest if type(pending) is PendingRequest else ObservedPending
        return pending

    class ObservedVerifier(Verifier):
        __slots__ = ()

        def verify(
            self, body: Any, headers: Any, *, now: Any = None, url: Any = None, method: Any = None
        ) -> Any:
            # the hot path: one frame more than Verifier.verify and one call to the observer
            try:
                if url is None and method is None:
                    result = verify(self, body, headers, now=now)
                else:
                    result = verify(self, body, headers, now=now, url=url, method=method)
            except VerificationError as error:
                _refused(self, error)
                raise
            try:  # noqa: SIM105
                self.observer.verified(result[1], result[0])  # type: ignore[union-attr]
            except Exception:  # noqa: S110 - counting never changes a verdict
                pass
            return result

        async def averify(
            self, body: Any, headers: Any, *, now: Any = None, url: Any = None, method: Any = None
        ) -> Any:
            if self._static and self.replay_guard is None and not self._general:
                # as the base class: count it once
                return self.verify(body, headers, now=now, url=url, method=method)
            try:
                result = await super().averify(body, headers, now=now, url=url, method=method)
                return _verified(self, result)
            except VerificationError as error:
                _refused(self, error)
                raise

        def begin(
            self, headers: Any, *, now: Any = None, url: Any = None, method: Any = None
        ) -> Any:
            try:
                pending = super().begin(headers, now=now, url=url, method=method)
            except VerificationError as error:
                _refused(self, error)
                raise
            return observed(pending)

        async def abegin(
            self, headers: Any, *, now: Any = None, url: Any = None, method: Any = None
        ) -> Any:
            try:
                pending = await super().abegin(headers, now=now, url=url, method=method)
            except VerificationError as error:
                _refused(self, error)
                raise
            return observed(pending)

    return ObservedVerifier, ObservedPending, ObservedRequest
