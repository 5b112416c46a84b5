"""The billing API's webhook endpoints (seed page ``billing-list-webhook-endpoints.txt``).

``POST /webhooks/list`` with bearer auth and the body ``{"pagination": {"page_size": 20,
"next_page_token": "..."}}``; the answer is ``{"items": [...], "pagination": {"page_size",
"next_page_token"}}``, the token empty on the last page. An endpoint carries ``rotate_at``
while a secret rotation is in progress (when the previous secret expires) and never a secret
value. Errors: 400 ``VALIDATION`` (with ``context.constraints``), 401 ``UNAUTHENTICATED``,
403 ``PERMISSION_DENIED``, each ``{"code", "message"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from . import _read as read
from ._http import (
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_TIMEOUT,
    ApiHttp,
    ApiRequest,
    ApiResponse,
    Flow,
)
from .errors import BillingError, Constraint, NotListed

if TYPE_CHECKING:
    import httpx

__all__ = ["PATH", "BillingClient", "EndpointPage", "WebhookEndpoint"]

PATH = "/webhooks/list"
PROVIDER = "billing API"
DEFAULT_PAGE_SIZE = 20  # the page's own example; the API documents no maximum
DEFAULT_MAX_PAGES = 1000
_HINTS = {
    "UNAUTHENTICATED": "check the bearer token",
    "PERMISSION_DENIED": "the token is not allowed to list webhook endpoints",
}
_MAX_CONSTRAINTS_SHOWN = 8


@dataclass(frozen=True)
class WebhookEndpoint:
    """One webhook endpoint as listed; times are epoch seconds. ``rotate_at`` is set while a
    secret rotation is in progress: the previous secret expires then."""

    id: str
    url: str
    name: str
    status: str
    event_types: tuple[str, ...]
    created_at: float
    updated_at: float
    description: str | None = None
    included_channel_ids: tuple[str, ...] | None = None
    excluded_channel_ids: tuple[str, ...] | None = None
    rotate_at: float | None = None


@dataclass(frozen=True)
class EndpointPage:
    """One page of the listing; ``next_page_token`` is empty on the last page."""

    items: tuple[WebhookEndpoint, ...]
    page_size: int
    next_page_token: str


class BillingClient:
    """Lists webhook endpoints, one page or all of them.

    ``token`` is sent as ``Authorization: Bearer <token>``. A full listing asks for
    ``page_size`` items per page and follows ``next_page_token`` until it is empty, for at most
    ``max_pages`` pages; a token that comes back a second time, a page larger than asked for or
    an id listed twice is a :class:`~hookseal.providers.errors.MalformedAnswer`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_pages: int = DEFAULT_MAX_PAGES,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not isinstance(token, str) or not token:
            raise ConfigurationError(f"{PROVIDER}: token must be a non-empty string")
        self.page_size = _positive(page_size, "page_size")
        self.max_pages = _positive(max_pages, "max_pages")
        self.http = ApiHttp(
            base_url,
            provider=PROVIDER,
            headers={"Authorization": f"Bearer {token}"},
            confidential=(token,),
            timeout=timeout,
            deadline=deadline,
            max_response_size=max_response_size,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"BillingClient(base_url={self.http.base_url!r})"

    # -- public calls (blocking, then asyncio) -------------------------------------------------

    def list_webhooks_page(
        self, *, page_size: int | None = None, next_page_token: str | None = None
    ) -> EndpointPage:
        """One page: the first without a token, the next with the previous page's token."""
        size = self.page_size if page_size is None else _positive(page_size, "page_size")
        return self.http.run(self._page_flow(size, next_page_token))

    async def alist_webhooks_page(
        self, *, page_size: int | None = None, next_page_token: str | None = None
    ) -> EndpointPage:
        size = self.page_size if page_size is None else _positive(page_size, "page_size")
        return await self.http.arun(self._page_flow(size, next_page_token))

    def list_webhooks(self) -> list[WebhookEndpoint]:
        """Every endpoint, across every page."""
        return self.http.run(self._all_flow(None))

    async def alist_webhooks(self) -> list[WebhookEndpoint]:
        return await self.http.arun(self._all_flow(None))

    def find_webhook(self, *, id: str | None = None, url: str | None = None) -> WebhookEndpoint:
        """The endpoint with this ``id`` (or, exactly, this ``url``); NotListed if none has it."""
        return self.http.run(self._find_flow(*_criterion(id, url)))

    async def afind_webhook(
        self, *, id: str | None = None, url: str | None = None
    ) -> WebhookEndpoint:
        return await self.http.arun(self._find_flow(*_criterion(id, url)))

    # -- flows --------------------------------------------------------------------------------

    def _page_flow(self, page_size: int, token: str | None) -> Flow[EndpointPage]:
        pagination: dict[str, Any] = {"page_size": page_size}
        if token:
            pagination["next_page_token"] = token
        response = yield ApiRequest("POST", PATH, json={"pagination": pagination})
        if not response.ok:
            raise self._error(response)
        page = _page(response.json())
        if len(page.items) > page_size:
            raise read.Shape(
                f"a page holds {len(page.items)} items, more than the {page_size} asked"
            )
        return page

    def _all_flow(self, wanted: tuple[str, str] | None) -> Flow[list[WebhookEndpoint]]:
        """Every page in turn; with ``wanted`` (field, value), stop early on an id match."""
        found: dict[str, WebhookEndpoint] = {}
        followed: set[str] = set()
        token: str | None = None
        for _ in range(self.max_pages):
            page = yield from self._page_flow(self.page_size, token)
            for endpoint in page.items:
                if endpoint.id in found:
                    raise read.Shape(f"endpoint {endpoint.id!r} is listed twice")
                found[endpoint.id] = endpoint
            if wanted is not None and wanted[0] == "id" and wanted[1] in found:
                break
            token = page.next_page_token
            if not token:
                break
            if token in followed:
                raise read.Shape("pagination.next_page_token repeats a token already followed")
            followed.add(token)
        else:
            raise read.Shape(f"the listing did not end within {self.max_pages} pages")
        return list(found.values())

    def _find_flow(self, field: str, value: str) -> Flow[WebhookEndpoint]:
        endpoints = yield from self._all_flow((field, value))
        matches = [e for e in endpoints if getattr(e, field) == value]
        if not matches:
            raise NotListed(
                f"{self.http.label}: no webhook endpoint with {field} {value!r} "
                f"among the {len(endpoints)} listed",
                provider=PROVIDER,
            )
        if len(matches) > 1:
            ids = ", ".join(e.id for e in matches)
            raise NotListed(
                f"{self.http.label}: several webhook endpoints have {field} {value!r} "
                f"({ids}); choose one by id",
                provider=PROVIDER,
            )
        return matches[0]

    # -- errors -------------------------------------------------------------------------------

    def _error(self, response: ApiResponse) -> BillingError:
        document = response.json_or_none()
        body = document if isinstance(document, Mapping) else {}
        quote = self.http.quote
        code = quote(body.get("code"), response.request)
        detail = quote(body.get("message"), response.request)
        constraints = _constraints(body.get("context"), lambda text: quote(text, response.request))
        parts = [part for part in (code, detail) if part]
        if constraints:
            shown = list(constraints.items())[:_MAX_CONSTRAINTS_SHOWN]
            parts.append(
                "; ".join(
                    f"{field}: {c.type or '?'}" + (f" ({c.message})" if c.message else "")
                    for field, c in shown
                )
            )
        if code in _HINTS:
            parts.append(_HINTS[code])
        said = ": ".join(parts) if parts else "no error body in the answer"
        return BillingError(
            f"{self.http.label}: {response.request.where}: HTTP {response.status}: {said}",
            provider=PROVIDER,
            status=response.status,
            code=code,
            detail=detail,
            constraints=constraints,
        )


def _page(document: Any) -> EndpointPage:
    top = read.obj(document, "the answer")
    raw_items = top.get("items")
    if raw_items is None:
        raw_items = []  # an empty listing may leave the optional array out
    if not isinstance(raw_items, list):
        raise read.Shape("items is not a list")
    items = tuple(_endpoint(item, f"items[{n}]") for n, item in enumerate(raw_items))
    pagination = read.obj(top.get("pagination"), "pagination")
    return EndpointPage(
        items=items,
        page_size=read.integer(pagination, "page_size", "pagination", minimum=0),
        next_page_token=read.opt_string(pagination, "next_page_token", "pagination") or "",
    )


def _endpoint(item: Any, where: str) -> WebhookEndpoint:
    entry = read.obj(item, where)
    return WebhookEndpoint(
        id=read.string(entry, "id", where, nonempty=True),
        url=read.string(entry, "url", where),
        name=read.string(entry, "name", where),
        status=read.string(entry, "status", where),
        event_types=read.strings(entry, "event_types", where),
        created_at=read.instant(entry, "created_at", where),
        updated_at=read.instant(entry, "updated_at", where),
        description=read.opt_string(entry, "description", where),
        included_channel_ids=read.opt_strings(entry, "included_channel_ids", where),
        excluded_channel_ids=read.opt_strings(entry, "excluded_channel_ids", where),
        rotate_at=read.opt_instant(entry, "rotate_at", where),
    )


def _constraints(context: Any, quote: Any) -> dict[str, Constraint]:
    if not isinstance(context, Mapping):
        return {}
    raw = context.get("constraints")
    if not isinstance(raw, Mapping):
        return {}
    found: dict[str, Constraint] = {}
    for field, constraint in raw.items():
        name = quote(field)
        if not name:
            continue
        entry = constraint if isinstance(constraint, Mapping) else {}
        found[name] = Constraint(type=quote(entry.get("type")), message=quote(entry.get("message")))
    return found


def _criterion(id: str | None, url: str | None) -> tuple[str, str]:
    if (id is None) == (url is None):
        raise ConfigurationError(f"{PROVIDER}: give exactly one of id= or url=")
    value = id if id is not None else url
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{PROVIDER}: the endpoint's id or url must be a non-empty string")
    return ("id" if id is not None else "url", value)


def _positive(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{PROVIDER}: {what} must be a positive integer")
    return value
