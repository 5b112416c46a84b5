"""Counting verifications for metrics, at no cost to verifiers nobody observes.

``Verifier(..., observer=metrics)`` gives that one verifier a subclass (same slots, so the
class is swapped in place) whose public calls report each outcome: ``verified(scheme,
secret_id)`` or ``refused(scheme, code)``. Unobserved verifiers keep the plain class and its
hot path untouched. An observer must be cheap and must not raise (an exception from it is
swallowed: counting never changes a verdict).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import VerificationError

if TYPE_CHECKING:
    from .verifier import Verifier

__all__ = ["VerificationObserver", "observe"]


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


def _refused(verifier: Any, error: VerificationError) -> None:
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
def _classes() -> tuple[type[Any], type[Any]]:
    """The observed subclasses, made once (verifier.py imports this module)."""
    from .verifier import PendingVerification, Verifier

    verify = Verifier.verify

    class ObservedPending(PendingVerification):
        __slots__ = ()

        def update(self, chunk: Any) -> None:
            try:
                super().update(chunk)
            except VerificationError as error:
                _refused(self._verifier, error)
                raise

        def finish(self) -> Any:
            try:
                return _verified(self._verifier, super().finish())
            except VerificationError as error:
                _refused(self._verifier, error)
                raise

        async def afinish(self) -> Any:
            verifier = self._verifier
            if verifier._static and verifier.replay_guard is None:
                return self.finish()  # the base class does the same: count it once
            try:
                return _verified(self._verifier, await super().afinish())
            except VerificationError as error:
                _refused(self._verifier, error)
                raise

    class ObservedVerifier(Verifier):
        __slots__ = ()

        def verify(self, body: Any, headers: Any, *, now: Any = None) -> Any:
            # the hot path: one frame more than Verifier.verify and one call to the observer
            try:
                result = verify(self, body, headers, now=now)
            except VerificationError as error:
                _refused(self, error)
                raise
            try:  # noqa: SIM105
                self.observer.verified(result[1], result[0])  # type: ignore[union-attr]
            except Exception:  # noqa: S110 - counting never changes a verdict
                pass
            return result

        async def averify(self, body: Any, headers: Any, *, now: Any = None) -> Any:
            if self._static and self.replay_guard is None:
                return self.verify(body, headers, now=now)  # as the base class: count it once
            try:
                return _verified(self, await super().averify(body, headers, now=now))
            except VerificationError as error:
                _refused(self, error)
                raise

        def begin(self, headers: Any, *, now: Any = None) -> Any:
            try:
                pending = super().begin(headers, now=now)
            except VerificationError as error:
                _refused(self, error)
                raise
            pending.__class__ = ObservedPending
            return pending

        async def abegin(self, headers: Any, *, now: Any = None) -> Any:
            try:
                pending = await super().abegin(headers, now=now)
            except VerificationError as error:
                _refused(self, error)
                raise
            pending.__class__ = ObservedPending
            return pending

    return ObservedVerifier, ObservedPending
