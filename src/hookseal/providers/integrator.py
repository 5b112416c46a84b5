"""The integrator API's webhook secret (seed page ``integrator-update-webhook-secret.txt``).

``PUT /v1/integrator/webhook-secret`` with ``{"secret": "..."}`` (at least 1 character) sets
the one secret the integrator signs with: HMAC SHA256 over the exact JSON payload, in the
``Signature`` header. While no secret is set, deliveries carry no ``Signature`` header at all:
:func:`signature_scheme` says so in the refusal. There is no call that reads the secret back,
so its value lives in your own store (any :class:`~hookseal.sources.SecretSource`).

Errors are RFC 7807 problem documents (``type`` default ``about:blank``, ``title``,
``status``, ``detail``, ``instance``; ``realm`` and ``scope`` on 401; ``resourceType`` and
``resourceId`` on 404), read into :class:`~hookseal.providers.errors.IntegratorProblem`.
The page does not say how a caller authenticates; a 401 names a realm and a scope, which is
OAuth bearer style, so ``token`` is sent as ``Authorization: Bearer`` (or give ``headers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from ..schemes.signature import Signature
from ..secrets import Secret
from ._http import (
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_TIMEOUT,
    ApiHttp,
    ApiRequest,
    ApiResponse,
    Flow,
)
from .errors import IntegratorProblem

if TYPE_CHECKING:
    import httpx

__all__ = ["MISSING_SIGNATURE_HINT", "PATH", "IntegratorClient", "signature_scheme"]

PATH = "/v1/integrator/webhook-secret"
PROVIDER = "integrator API"
MISSING_SIGNATURE_HINT = (
    "the integrator sends no Signature header while no webhook secret is set "
    "(set one with PUT /v1/integrator/webhook-secret)"
)
_PROBLEM_MEMBERS = (
    ("type", "type"),
    ("title", "title"),
    ("detail", "detail"),
    ("instance", "instance"),
    ("realm", "realm"),
    ("scope", "scope"),
    ("resourceType", "resource_type"),
    ("resourceId", "resource_id"),
)


def signature_scheme() -> Signature:
    """The integrator's scheme: hex or base64 HMAC-SHA256 of the body in ``Signature``; a
    delivery without the header is refused with :data:`MISSING_SIGNATURE_HINT` in the detail."""
    return Signature(missing_hint=MISSING_SIGNATURE_HINT)


class IntegratorClient:
    """Sets the integrator's webhook secret.

    ``token`` is sent as ``Authorization: Bearer <token>``; ``headers`` replaces that with any
    other auth headers. Neither, nor the secret being set, ever appears in ``repr`` or in an
    error, even when the provider echoes it back.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if (token is None) == (headers is None):
            raise ConfigurationError(f"{PROVIDER}: give token= or headers=, exactly one")
        if token is not None and (not isinstance(token, str) or not token):
            raise ConfigurationError(f"{PROVIDER}: token must be a non-empty string")
        auth = {"Authorization": f"Bearer {token}"} if token is not None else dict(headers or {})
        self.http = ApiHttp(
            base_url,
            provider=PROVIDER,
            headers=auth,
            confidential=tuple(auth.values()) + ((token,) if token else ()),
            timeout=timeout,
            deadline=deadline,
            max_response_size=max_response_size,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"IntegratorClient(base_url={self.http.base_url!r})"

    def set_webhook_secret(self, secret: str | Secret) -> None:
        """Make ``secret`` the one the integrator signs with, from its next delivery on."""
        self.http.run(self._put_flow(_value(secret)))

    async def aset_webhook_secret(self, secret: str | Secret) -> None:
        await self.http.arun(self._put_flow(_value(secret)))

    def _put_flow(self, value: str) -> Flow[None]:
        response = yield ApiRequest("PUT", PATH, json={"secret": value}, confidential=(value,))
        if not response.ok:
            raise self._problem(response)
        return None

    def _problem(self, response: ApiResponse) -> IntegratorProblem:
        document = response.json_or_none()
        body = document if isinstance(document, Mapping) else {}
        members = {
            attribute: self.http.quote(body.get(member), response.request)
            for member, attribute in _PROBLEM_MEMBERS
        }
        if members["type"] is None and isinstance(document, Mapping):
            members["type"] = "about:blank"  # RFC 7807's default for a missing type
        said = "; ".join(
            f"{member} {members[attribute]}"
            for member, attribute in _PROBLEM_MEMBERS[2:]
            if members[attribute]
        )
        title = members["title"] or "no problem document in the answer"
        message = f"{self.http.label}: {response.request.where}: HTTP {response.status}: {title}"
        if said:
            message += f" ({said})"
        return IntegratorProblem(message, provider=PROVIDER, status=response.status, **members)


def _value(secret: str | Secret) -> str:
    if isinstance(secret, Secret):
        try:
            secret = secret.reveal().decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigurationError(f"{PROVIDER}: the secret must be UTF-8 text") from None
    if not isinstance(secret, str) or len(secret) < 1:
        raise ConfigurationError(f"{PROVIDER}: the secret must be a string of at least 1 character")
    return secret
