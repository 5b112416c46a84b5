"""What a provider API call can end in, as one family of typed errors.

Every error is a :class:`~hookseal.sources.SourceError`, so a source built on a client fails
the way the keyring expects (it keeps its last good set and backs off), and rotation code can
catch :class:`ProviderError` and read the provider's own code. Messages name the provider,
the call (method and path, never a query or a header) and the provider's code; text quoted from
an answer is shortened, stripped of control characters and scrubbed of every credential and
secret value the client knows of.

    SourceError
    └── ProviderError                 .provider .status .code .retryable
        ├── ProviderUnreachable       no complete answer (timeout, connection refused, too large)
        ├── MalformedAnswer           an answer that is not in the documented shape
        ├── NotListed                 the listing has no (or more than one) such item
        ├── RetailError               {"result": {...}, "error": {"code", "name", "description"}}
        ├── BillingError              {"code", "message", "context": {"constraints": {...}}}
        ├── PaymentsError             {"object": "error", "location", "code", "message"}
        └── IntegratorProblem         RFC 7807: type title status detail instance realm scope
                                      resourceType resourceId
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..sources._base import SourceError

__all__ = [
    "BillingError",
    "Constraint",
    "IntegratorProblem",
    "MalformedAnswer",
    "NotListed",
    "PaymentsError",
    "ProviderError",
    "ProviderUnreachable",
    "RetailError",
]


class ProviderError(SourceError):
    """A call to a provider's API failed.

    ``status`` is the HTTP status (None when no answer came), ``code`` the provider's own error
    code where its answer had one. ``retryable`` is true when trying again later may succeed
    (no answer, 429 or 5xx); a 4xx means the request or the credentials must change first.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        code: str | int | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.code = code

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only fields: rebuild from args and attributes (a worker process, a queue)
        return (_rebuild, (type(self), self.args, dict(vars(self))))

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(provider={self.provider!r}, status={self.status!r}, code={self.code!r})"


def _rebuild(
    cls: type[ProviderError], args: tuple[Any, ...], state: dict[str, Any]
) -> ProviderError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ProviderUnreachable(ProviderError):
    """No complete answer: a timeout, a refused or broken connection, or an oversized answer."""


class MalformedAnswer(ProviderError):
    """The provider answered, but not in the shape its documentation gives (a missing field, a
    wrong type, a page larger than asked for, a pagination token that repeats)."""


class NotListed(ProviderError):
    """A complete, well-formed listing holds no item with the id or URL asked for (or several
    with that URL): the configuration, not the provider, needs a look."""


class RetailError(ProviderError):
    """The retail API's error envelope: ``error.code`` (an integer such as 6) and ``error.name``
    (such as ``no_valid_session``), with its ``description``."""

    code: int | None

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None,
        code: int | None,
        name: str | None,
        description: str | None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, code=code)
        self.name = name
        self.description = description


@dataclass(frozen=True)
class Constraint:
    """One failed constraint of a billing ``VALIDATION`` answer: its ``type`` and ``message``."""

    type: str | None
    message: str | None


class BillingError(ProviderError):
    """The billing API's error body: ``code`` (``VALIDATION``, ``UNAUTHENTICATED``,
    ``PERMISSION_DENIED``), ``message`` and, for ``VALIDATION``, the failed constraints keyed
    by field name."""

    code: str | None

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None,
        code: str | None,
        detail: str | None,
        constraints: Mapping[str, Constraint],
    ) -> None:
        super().__init__(message, provider=provider, status=status, code=code)
        self.detail = detail
        self.constraints = dict(constraints)


class PaymentsError(ProviderError):
    """The payments API's error object: ``code`` (``authentication_failure``, ``bad_request``,
    ``invalid_parameters``, ``not_found``...), ``message`` and the documentation ``location``."""

    code: str | None

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None,
        code: str | None,
        detail: str | None,
        location: str | None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, code=code)
        self.detail = detail
        self.location = location


class IntegratorProblem(ProviderError):
    """An RFC 7807 problem document from the integrator API, every documented member kept:
    ``type``, ``title``, ``status``, ``detail``, ``instance``, and ``realm`` and ``scope``
    (401) or ``resource_type`` and ``resource_id`` (404). ``code`` is the problem ``type``."""

    code: str | None

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None,
        type: str | None,
        title: str | None,
        detail: str | None,
        instance: str | None,
        realm: str | None,
        scope: str | None,
        resource_type: str | None,
        resource_id: str | None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, code=type)
        self.type = type
        self.title = title
        self.detail = detail
        self.instance = instance
        self.realm = realm
        self.scope = scope
        self.resource_type = resource_type
        self.resource_id = resource_id
