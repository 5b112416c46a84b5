"""The retail API's webhook signature keys (seed page ``retail-get-webhook-signatures.txt``).

``GET https://{API hostname}/internal/get-webhook-signatures?chain_id=...&exclude_inactive=...``
with a Spaaza admin session (user id and session key headers). The answer is the envelope
``{"result": {"code": 1, "status": "ok"}, "results": {"webhook_signatures": [...],
"result_type": "get-webhook-signatures"}}``; each key has an integer ``id``, its ``value``,
``active``, ``deleted``, ``chain`` and ``created_date``/``last_modified_date``. Errors come as
``{"result": {"status": "error", ...}, "error": {"code": 6, "name": "no_valid_session",
"description": ...}}`` with a 4xx status (codes 3, 6, 68 and 76 are documented).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..secrets import Secret
from . import _read as read
from ._http import (
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_TIMEOUT,
    ApiHttp,
    ApiRequest,
    ApiResponse,
    Flow,
)
from .errors import RetailError

if TYPE_CHECKING:
    import httpx

__all__ = ["PATH", "RetailClient", "SpaazaSession", "WebhookSignature"]

PATH = "/internal/get-webhook-signatures"
RESULT_TYPE = "get-webhook-signatures"
PROVIDER = "retail API"


@dataclass(frozen=True)
class SpaazaSession:
    """A Spaaza admin session, as the API's authentication page describes it: the user id and
    session key from the login endpoint, sent as ``X-Spaaza-Session-User-Id`` and
    ``X-Spaaza-Session-Key``; ``app_hostname`` adds ``X-Spaaza-MyPrice-App-Hostname`` and
    ``api_version`` adds ``X-Spaaza-API-Version``. The session key never appears in ``repr``.
    (For other header names, give the client ``headers=`` instead.)"""

    user_id: int | str
    session_key: str
    app_hostname: str | None = None
    api_version: str | None = None

    def headers(self) -> dict[str, str]:
        found = {
            "X-Spaaza-Session-User-Id": str(self.user_id),
            "X-Spaaza-Session-Key": self.session_key,
        }
        if self.app_hostname is not None:
            found["X-Spaaza-MyPrice-App-Hostname"] = self.app_hostname
        if self.api_version is not None:
            found["X-Spaaza-API-Version"] = self.api_version
        return found

    def __repr__(self) -> str:
        return f"SpaazaSession(user_id={self.user_id!r}, app_hostname={self.app_hostname!r})"


@dataclass(frozen=True)
class WebhookSignature:
    """One signature key of a chain. ``secret`` holds the value (id: the key's id as text);
    times are epoch seconds."""

    id: int
    secret: Secret
    active: bool
    deleted: bool
    created_date: float
    last_modified_date: float
    chain_id: int | None = None
    chain_name: str | None = None

    @property
    def usable(self) -> bool:
        """Active and not deleted: a key the provider may sign with."""
        return self.active and not self.deleted


class RetailClient:
    """Reads a chain's webhook signature keys.

    ``base_url`` is ``https://{API hostname}`` (e.g. ``https://api0.spaaza.com``). Give
    ``session`` (a :class:`SpaazaSession`) or ``headers`` (any other auth headers, kept out of
    ``repr`` and of every error).
    """

    def __init__(
        self,
        base_url: str,
        *,
        session: SpaazaSession | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if (session is None) == (headers is None):
            raise ConfigurationError(f"{PROVIDER}: give session= or headers=, exactly one")
        auth = dict(session.headers() if session is not None else headers or {})
        # the session key is the credential; other headers given by hand may all be
        confidential = (session.session_key,) if session is not None else tuple(auth.values())
        self.http = ApiHttp(
            base_url,
            provider=PROVIDER,
            headers=auth,
            confidential=confidential,
            timeout=timeout,
            deadline=deadline,
            max_response_size=max_response_size,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"RetailClient(base_url={self.http.base_url!r})"

    def get_webhook_signatures(
        self, chain_id: int, *, exclude_inactive: bool = False
    ) -> list[WebhookSignature]:
        """Every signature key of ``chain_id`` (only active ones with ``exclude_inactive``)."""
        return self.http.run(self._get_flow(_chain(chain_id), exclude_inactive))

    async def aget_webhook_signatures(
        self, chain_id: int, *, exclude_inactive: bool = False
    ) -> list[WebhookSignature]:
        return await self.http.arun(self._get_flow(_chain(chain_id), exclude_inactive))

    def _get_flow(self, chain_id: int, exclude_inactive: bool) -> Flow[list[WebhookSignature]]:
        params = {"chain_id": str(chain_id), "exclude_inactive": _flag(exclude_inactive)}
        response = yield ApiRequest("GET", PATH, params=params)
        document = self._check(response)
        return _signatures(document, chain_id)

    def _check(self, response: ApiResponse) -> Mapping[str, Any]:
        """The decoded envelope of a successful answer; :class:`RetailError` for an error
        envelope or a non-2xx status."""
        document = response.json() if response.ok else response.json_or_none()
        envelope = document if isinstance(document, Mapping) else {}
        result = envelope.get("result")
        failed = isinstance(result, Mapping) and result.get("status") == "error"
        if response.ok and not failed:
            top = read.obj(document, "the answer")
            status = read.string(read.obj(top.get("result"), "result"), "status", "result")
            if status != "ok":
                raise read.Shape("result.status is neither 'ok' nor 'error'")
            return top
        raise self._error(response, envelope)

    def _error(self, response: ApiResponse, envelope: Mapping[str, Any]) -> RetailError:
        error = envelope.get("error")
        if not isinstance(error, Mapping):  # the older shape: a list under "errors"
            errors = envelope.get("errors")
            error = errors[0] if isinstance(errors, list) and errors else {}
        error = error if isinstance(error, Mapping) else {}
        raw_code = error.get("code")
        code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
        name = self.http.quote(error.get("name"), response.request)
        description = self.http.quote(error.get("description"), response.request)
        said = " ".join(part for part in (name, None if code is None else f"(code {code})") if part)
        if description:
            said = f"{said}: {description}" if said else description
        message = f"{self.http.label}: {response.request.where}: HTTP {response.status}"
        message += f": {said}" if said else ": no error envelope in the answer"
        return RetailError(
            message,
            provider=PROVIDER,
            status=response.status,
            code=code,
            name=name,
            description=description,
        )


def _chain(chain_id: int) -> int:
    if isinstance(chain_id, bool) or not isinstance(chain_id, int):
        raise ConfigurationError(f"{PROVIDER}: chain_id must be an integer")
    return chain_id


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _signatures(top: Mapping[str, Any], chain_id: int) -> list[WebhookSignature]:
    results = read.obj(top.get("results"), "results")
    result_type = read.opt_string(results, "result_type", "results")
    if result_type is not None and result_type != RESULT_TYPE:
        raise read.Shape(f"results.result_type is not {RESULT_TYPE!r}")
    items = results.get("webhook_signatures")
    if not isinstance(items, list):
        raise read.Shape("results.webhook_signatures is missing or not a list")
    found = [_signature(item, f"results.webhook_signatures[{n}]") for n, item in enumerate(items)]
    ids = [s.id for s in found]
    if len(set(ids)) != len(ids):
        raise read.Shape("results.webhook_signatures lists the same id twice")
    wrong_chain = [s.id for s in found if s.chain_id is not None and s.chain_id != chain_id]
    if wrong_chain:
        raise read.Shape(f"keys {wrong_chain} belong to another chain than {chain_id}")
    return found


def _signature(item: Any, where: str) -> WebhookSignature:
    entry = read.obj(item, where)
    key_id = read.integer(entry, "id", where)
    value = read.string(entry, "value", where, nonempty=True)
    chain = read.opt_obj(entry, "chain", where)
    return WebhookSignature(
        id=key_id,
        secret=_secret(value, key_id, where),
        active=read.boolean(entry, "active", where),
        deleted=read.boolean(entry, "deleted", where),
        created_date=read.instant(entry, "created_date", where),
        last_modified_date=read.instant(entry, "last_modified_date", where),
        chain_id=None if chain is None else read.integer(chain, "id", f"{where}.chain"),
        chain_name=None if chain is None else read.opt_string(chain, "name", f"{where}.chain"),
    )


def _secret(value: str, key_id: int, where: str) -> Secret:
    try:
        return Secret(value, id=str(key_id))
    except ConfigurationError:
        raise read.Shape(f"{where}.value is not a usable secret") from None
