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

__all__ = ["VerificationObserver", "count_refusal", "count_verified", "observe"]

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


def observed_class() -> type[Any]:
    """The class an observed verifier gets (one for every observer)."""
    return _classes()[0]


def count_verified(verifier: Any, result: Any) -> None:
    """Report a verification an adapter decided without the verifier's public calls (the
    one-pass path for the default scheme) to the verifier's observer, if it has one."""
    if verifier.observer is not None:
        _verified(verifier, result)


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


def _observed_pending(base: type[Any]) -> type[Any]:
    """The observed subclass of ``base`` (PendingVerification or a scheme's own subclass, such
    as the general path's), made once per base; every argument is passed through as given, so
    a parameter added to the base is never dropped here."""
    found = _PENDING_CLASSES.get(base)
    if found is not None:
        return found

    class ObservedPending(base):  # type: ignore[misc]
        __slots__ = ()

        def update(self, *args: Any, **kwargs: Any) -> None:
            try:
                super().update(*args, **kwargs)
            except VerificationError as error:
                _refused(self._verifier, error)
                raise

        def finish(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return _verified(self._verifier, super().finish(*args, **kwargs))
            except VerificationError as error:
                _refused(self._verifier, error)
                raise

        async def afinish(self, *args: Any, **kwargs: Any) -> Any:
            try:
                result = await super().afinish(*args, **kwargs)
            except VerificationError as error:
                _refused(self._verifier, error)
                raise
            return _verified(self._verifier, result)

    ObservedPending.__name__ = ObservedPending.__qualname__ = "Observed" + base.__name__
    _PENDING_CLASSES[base] = ObservedPending
    return ObservedPending


_PENDING_CLASSES: dict[type[Any], type[Any]] = {}


@cache
def _classes() -> tuple[type[Any]]:
    """The observed verifier class, made once (verifier.py imports this module). Every method
    passes its arguments through as given (url=, method=, now=, ...)."""
    from .verifier import Verifier

    verify = Verifier.verify

    class ObservedVerifier(Verifier):
        __slots__ = ()

        def verify(
            self,
            body: Any,
            headers: Any,
            *,
            now: Any = None,
            url: str | None = None,
            method: str | None = None,
        ) -> Any:
            # The hot path: one frame more than Verifier.verify and one call to the observer.
            # Its parameters are spelled out (packing *args and **kwargs cost a third of what
            # observing added); tests/test_observe.py checks they stay Verifier.verify's.
            try:
                result = verify(self, body, headers, now=now, url=url, method=method)
            except VerificationError as error:
                _refused(self, error)
                raise
            try:  # noqa: SIM105
                self.observer.verified(result[1], result[0])  # type: ignore[union-attr]
            except Exception:  # noqa: S110 - counting never changes a verdict
                pass
            return result

        async def averify(self, *args: Any, **kwargs: Any) -> Any:
            try:
                result = await super().averify(*args, **kwargs)
            except VerificationError as error:
                _refused(self, error)
                raise
            return _verified(self, result)

        def begin(self, *args: Any, **kwargs: Any) -> Any:
            try:
                pending = super().begin(*args, **kwargs)
            except VerificationError as error:
                _refused(self, error)
                raise
            pending.__class__ = _observed_pending(type(pending))
            return pending

        async def abegin(self, *args: Any, **kwargs: Any) -> Any:
            try:
                pending = await super().abegin(*args, **kwargs)
            except VerificationError as error:
                _refused(self, error)
                raise
            pending.__class__ = _observed_pending(type(pending))
            return pending

    return (ObservedVerifier,)
