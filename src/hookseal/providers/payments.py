"""The payments API's webhook signing secrets (seed pages ``payments-list-webhook-secrets.txt``
and ``payments-delete-webhook-secret.txt``).

HTTP Basic with the account's secret key as the user name (``curl -u skey_...:``).
``GET /webhooks/secrets?limit=&offset=&order=`` answers ``{"object": "list", "data": [...],
"limit", "offset", "total", "order"}`` whose items are ``{"object": "webhook_secret", "id":
"whsec_...", "livemode", "created_at"}``: never a value, which is shown once, at creation.
``DELETE /webhooks/secrets/{id}`` is irreversible and answers ``{"object": "webhook_secret",
"id", "deleted": true, "livemode"}``. Errors are the API's error object ``{"object": "error",
"location", "code", "message"}``. Creating a secret is not documented on these pages: see
:mod:`hookseal.providers._payments_create`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from . import _payments_create
from . import _read as read
from ._http import (
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_TIMEOUT,
    ApiHttp,
    ApiRequest,
    ApiResponse,
    Flow,
    basic_auth,
)
from ._payments_create import CreatedWebhookSecret
from .errors import PaymentsError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_BASE_URL",
    "PATH",
    "CreatedWebhookSecret",
    "DeletedWebhookSecret",
    "PaymentsClient",
    "SecretPage",
    "WebhookSecretInfo",
]

DEFAULT_BASE_URL = "https://api.omise.co"
PATH = "/webhooks/secrets"
PROVIDER = "payments API"
ORDERS = ("chronological", "reverse_chronological")
MAX_LIMIT = 100  # "Minimum: 1, Maximum: 100, Default: 20"
DEFAULT_MAX_ITEMS = 10_000
_ATTEMPTS = 3  # a listing that changes while its pages are read is read again
_ID = re.compile(r"whsec_[A-Za-z0-9_]{1,120}")
_HINTS = {
    "authentication_failure": "check the secret key (skey_...), sent as the HTTP Basic user name",
    "not_found": "no such secret on this account (deleted already, or another account's)",
}


@dataclass(frozen=True)
class WebhookSecretInfo:
    """A secret's metadata as listed: its ``whsec_`` id, ``livemode`` and ``created_at``
    (epoch seconds). The value is not listed, ever."""

    id: str
    livemode: bool
    created_at: float


@dataclass(frozen=True)
class SecretPage:
    """One page of the listing, with the pagination the API applied."""

    data: tuple[WebhookSecretInfo, ...]
    limit: int
    offset: int
    total: int
    order: str


@dataclass(frozen=True)
class DeletedWebhookSecret:
    """The answer to a deletion: the secret is gone for good."""

    id: str
    livemode: bool
    deleted: bool


class PaymentsClient:
    """Lists, deletes (and creates) webhook signing secrets of one account.

    ``secret_key`` is the account's secret key (``skey_test_...`` in test mode, ``skey_...``
    live); a public key (``pkey_...``) is refused here, as the API would refuse it. A full
    listing reads pages of ``page_limit`` (1 to 100) and refuses more than ``max_items``.
    """

    def __init__(
        self,
        secret_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        page_limit: int = MAX_LIMIT,
        max_items: int = DEFAULT_MAX_ITEMS,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not isinstance(secret_key, str) or not secret_key:
            raise ConfigurationError(f"{PROVIDER}: secret_key must be a non-empty string")
        if secret_key.startswith("pkey_"):
            raise ConfigurationError(
                f"{PROVIDER}: that is a public key (pkey_...); the API needs the secret key"
            )
        self.page_limit = _limit(page_limit)
        if isinstance(max_items, bool) or not isinstance(max_items, int) or max_items < 1:
            raise ConfigurationError(f"{PROVIDER}: max_items must be a positive integer")
        self.max_items = max_items
        self.http = ApiHttp(
            base_url,
            provider=PROVIDER,
            headers={"Authorization": basic_auth(secret_key)},
            confidential=(secret_key, basic_auth(secret_key).split(" ", 1)[1]),
            timeout=timeout,
            deadline=deadline,
            max_response_size=max_response_size,
            transport=transport,
        )
        self.livemode = _mode(secret_key)
        """The key's mode from its prefix: False for skey_test_, True for skey_, else None."""

    def __repr__(self) -> str:
        return f"PaymentsClient(base_url={self.http.base_url!r}, livemode={self.livemode!r})"

    # -- public calls (blocking, then asyncio) -------------------------------------------------

    def list_webhook_secrets_page(
        self, *, limit: int = 20, offset: int = 0, order: str = "chronological"
    ) -> SecretPage:
        """One page, exactly as the API pages it."""
        return self.http.run(self._page_flow(_limit(limit), _offset(offset), _order(order)))

    async def alist_webhook_secrets_page(
        self, *, limit: int = 20, offset: int = 0, order: str = "chronological"
    ) -> SecretPage:
        return await self.http.arun(self._page_flow(_limit(limit), _offset(offset), _order(order)))

    def list_webhook_secrets(self, *, order: str = "chronological") -> list[WebhookSecretInfo]:
        """Every secret of the account (of the key's mode), read page by page."""
        return self.http.run(self._all_flow(_order(order)))

    async def alist_webhook_secrets(
        self, *, order: str = "chronological"
    ) -> list[WebhookSecretInfo]:
        return await self.http.arun(self._all_flow(_order(order)))

    def delete_webhook_secret(
        self, secret_id: str, *, missing_ok: bool = False
    ) -> DeletedWebhookSecret | None:
        """Delete for good (irreversible). With ``missing_ok``, a secret already gone (404
        ``not_found``) returns None instead of raising, so a resumed rotation can repeat it."""
        return self.http.run(self._delete_flow(_secret_id(secret_id), missing_ok))

    async def adelete_webhook_secret(
        self, secret_id: str, *, missing_ok: bool = False
    ) -> DeletedWebhookSecret | None:
        return await self.http.arun(self._delete_flow(_secret_id(secret_id), missing_ok))

    def create_webhook_secret(self) -> CreatedWebhookSecret:
        """Create a secret; its value is in the answer, once. Not documented on the pages this
        client follows: see :mod:`hookseal.providers._payments_create`."""
        return self.http.run(self._create_flow())

    async def acreate_webhook_secret(self) -> CreatedWebhookSecret:
        return await self.http.arun(self._create_flow())

    # -- flows --------------------------------------------------------------------------------

    def _page_flow(self, limit: int, offset: int, order: str) -> Flow[SecretPage]:
        params = {"limit": str(limit), "offset": str(offset), "order": order}
        response = yield ApiRequest("GET", PATH, params=params)
        if not response.ok:
            raise self._error(response)
        page = _page(response.json())
        if len(page.data) > limit:
            raise read.Shape(f"a page holds {len(page.data)} secrets, more than the {limit} asked")
        if page.offset != offset:
            raise read.Shape(f"the answer's offset is {page.offset}, not the {offset} asked")
        return page

    def _all_flow(self, order: str) -> Flow[list[WebhookSecretInfo]]:
        for _ in range(_ATTEMPTS):
            listed = yield from self._read_once(order)
            if listed is not None:
                return listed
        raise read.Shape(f"the listing changed while it was read, {_ATTEMPTS} times in a row")

    def _read_once(self, order: str) -> Flow[list[WebhookSecretInfo] | None]:
        """One pass over every page; None when the listing visibly changed meanwhile (its
        total moved, or an id came twice), so that offsets may have skipped a secret."""
        found: dict[str, WebhookSecretInfo] = {}
        total: int | None = None
        offset = 0
        while True:
            page = yield from self._page_flow(self.page_limit, offset, order)
            if total is None:
                total = page.total
                if total > self.max_items:
                    raise read.Shape(f"total is {total}, more than max_items={self.max_items}")
            elif page.total != total:
                return None
            for secret in page.data:
                if secret.id in found:
                    return None
                found[secret.id] = secret
            offset += len(page.data)
            if not page.data or offset >= total:
                break
        return list(found.values()) if len(found) == total else None

    def _delete_flow(self, secret_id: str, missing_ok: bool) -> Flow[DeletedWebhookSecret | None]:
        response = yield ApiRequest("DELETE", f"{PATH}/{secret_id}")
        if not response.ok:
            error = self._error(response)
            if missing_ok and response.status == 404 and error.code == "not_found":
                return None
            raise error
        top = read.obj(response.json(), "the answer")
        _object(top, "webhook_secret", "the answer")
        deleted = DeletedWebhookSecret(
            id=read.string(top, "id", ""),
            livemode=read.boolean(top, "livemode", ""),
            deleted=read.boolean(top, "deleted", ""),
        )
        if deleted.id != secret_id or not deleted.deleted:
            raise read.Shape("the answer does not confirm the deletion of that secret")
        return deleted

    def _create_flow(self) -> Flow[CreatedWebhookSecret]:
        response = yield _payments_create.request()
        if not response.ok:
            raise self._error(response)
        return _payments_create.parse(response)

    # -- errors -------------------------------------------------------------------------------

    def _error(self, response: ApiResponse) -> PaymentsError:
        document = response.json_or_none()
        body = document if isinstance(document, Mapping) else {}
        code = self.http.quote(body.get("code"), response.request)
        detail = self.http.quote(body.get("message"), response.request)
        location = self.http.quote(body.get("location"), response.request)
        parts = [part for part in (code, detail, _HINTS.get(code or "")) if part]
        said = ": ".join(parts) if parts else "no error object in the answer"
        return PaymentsError(
            f"{self.http.label}: {response.request.where}: HTTP {response.status}: {said}",
            provider=PROVIDER,
            status=response.status,
            code=code,
            detail=detail,
            location=location,
        )


def _page(document: Any) -> SecretPage:
    top = read.obj(document, "the answer")
    _object(top, "list", "the answer")
    raw = top.get("data")
    if not isinstance(raw, list):
        raise read.Shape("data is missing or not a list")
    data = tuple(_info(item, f"data[{n}]") for n, item in enumerate(raw))
    order = read.string(top, "order", "")
    if order not in ORDERS:
        raise read.Shape("order is neither 'chronological' nor 'reverse_chronological'")
    return SecretPage(
        data=data,
        limit=read.integer(top, "limit", "", minimum=1),
        offset=read.integer(top, "offset", "", minimum=0),
        total=read.integer(top, "total", "", minimum=0),
        order=order,
    )


def _info(item: Any, where: str) -> WebhookSecretInfo:
    entry = read.obj(item, where)
    _object(entry, "webhook_secret", where)
    secret_id = read.string(entry, "id", where)
    if not _ID.fullmatch(secret_id):
        raise read.Shape(f"{where}.id is not a whsec_ id")
    return WebhookSecretInfo(
        id=secret_id,
        livemode=read.boolean(entry, "livemode", where),
        created_at=read.instant(entry, "created_at", where),
    )


def _object(entry: Mapping[str, Any], kind: str, where: str) -> None:
    if entry.get("object") != kind:
        raise read.Shape(f"{where}: 'object' is not {kind!r}")


def _mode(secret_key: str) -> bool | None:
    if secret_key.startswith("skey_test_"):
        return False
    return True if secret_key.startswith("skey_") else None


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ConfigurationError(f"{PROVIDER}: limit must be an integer from 1 to {MAX_LIMIT}")
    return limit


def _offset(offset: int) -> int:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ConfigurationError(f"{PROVIDER}: offset must be a non-negative integer")
    return offset


def _order(order: str) -> str:
    if order not in ORDERS:
        raise ConfigurationError(f"{PROVIDER}: order must be one of {ORDERS}")
    return order


def _secret_id(secret_id: str) -> str:
    if not isinstance(secret_id, str) or not _ID.fullmatch(secret_id):
        raise ConfigurationError(f"{PROVIDER}: a webhook secret id starts with whsec_")
    return secret_id
