"""Turning a decoded JSON document into a :class:`SecretSet`, for the remote sources.

A :class:`JsonMapping` says where the list of secrets is and which fields hold what. Every
complaint names the field and the item's position, never a value: a response that failed to
parse may still hold secrets, so no part of it is ever quoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError
from ..secrets import Secret, SecretSet
from ._base import SourceError
from ._parse import parse_instant

__all__ = ["JsonMapping", "parse_instant"]

_MISSING = object()


@dataclass(frozen=True)
class JsonMapping:
    """Where the secrets are in a JSON document, and which fields mean what.

    ``items``: dotted path to the list of secret objects ("" when the document is the list).
    ``value``/``id``: field names (a missing or null id falls back to a fingerprint).
    ``active``/``deleted``: names of boolean flags; inactive or deleted entries are dropped.
    ``not_before``/``expires_at``: names of time fields (ISO-8601 with a zone, or epoch seconds).
    ``rotate_at``: dotted path *from the document's top* to the end of a rotation. While it is
    set, every secret but the current one expires then; while it is absent or null, no rotation
    is in progress and only the current secret is kept. The current secret is the one whose
    ``current`` flag is true, or the first item when ``current`` is None.

    The retail, billing and payments APIs have sources of their own
    (:mod:`hookseal.sources.retail`, ``.billing``, ``.payments``): their envelopes, pagination
    and error bodies need more than a mapping.
    """

    items: str = "secrets"
    value: str = "value"
    id: str | None = "id"
    active: str | None = None
    deleted: str | None = None
    not_before: str | None = None
    expires_at: str | None = None
    rotate_at: str | None = None
    current: str | None = None

    @classmethod
    def plain(cls, items: str = "secrets") -> JsonMapping:
        """``{"secrets": [{"id", "value", "not_before"?, "expires_at"?}]}``."""
        return cls(items=items, not_before="not_before", expires_at="expires_at")

    def secret_set(self, document: Any) -> SecretSet:
        """The secrets ``document`` holds; :class:`SourceError` when its shape is wrong."""
        found = _lookup(document, self.items)
        if found is _MISSING:
            raise SourceError(f"response has no list at {self.items or 'the top level'!r}")
        if not isinstance(found, list):
            raise SourceError(f"response field {self.items!r} is not a list")
        rotation_end = self._rotation_end(document)
        kept: list[Secret] = []
        for position, item in enumerate(found, start=1):
            if not isinstance(item, Mapping):
                raise SourceError(f"item {position} of the secrets list is not an object")
            entry = self._secret(item, position, is_first=position == 1)
            if entry is None:
                continue
            secret, is_current = entry
            if self.rotate_at is not None and not is_current:
                if rotation_end is None:
                    continue  # no rotation in progress: only the current secret is valid
                if secret.expires_at is None or secret.expires_at > rotation_end:
                    secret = _expire(secret, rotation_end, position)
            kept.append(secret)
        if not kept:
            raise SourceError("no usable secret in the response (all inactive, deleted or absent)")
        try:
            return SecretSet(kept)
        except ConfigurationError as exc:
            raise SourceError(f"response is not a valid secret set: {exc}") from None

    def _rotation_end(self, document: Any) -> float | None:
        if self.rotate_at is None:
            return None
        raw = _lookup(document, self.rotate_at)
        if raw is _MISSING or raw is None:
            return None
        return parse_instant(raw, what=f"response field {self.rotate_at!r}")

    def _secret(
        self, item: Mapping[str, Any], position: int, *, is_first: bool
    ) -> tuple[Secret, bool] | None:
        where = f"in item {position}"
        if self.deleted is not None and _flag(item, self.deleted, where, default=False):
            return None
        if self.active is not None and not _flag(item, self.active, where, default=True):
            return None
        is_current = (
            is_first if self.current is None else _flag(item, self.current, where, default=False)
        )
        value = item.get(self.value)
        if value is None:
            raise SourceError(f"response field {self.value!r} missing {where}")
        if not isinstance(value, str) or not value:
            raise SourceError(f"response field {self.value!r} {where} is not a non-empty string")
        secret_id = None if self.id is None else item.get(self.id)
        if secret_id is not None and not isinstance(secret_id, (str, int)):
            raise SourceError(f"response field {self.id!r} {where} is not a string")
        try:
            secret = Secret(
                value,
                id=None if secret_id is None else str(secret_id),
                not_before=_time_field(item, self.not_before, where),
                expires_at=_time_field(item, self.expires_at, where),
            )
        except ConfigurationError as exc:
            raise SourceError(f"{where}: {exc}") from None
        return secret, is_current


def _lookup(document: Any, path: str) -> Any:
    node = document
    for part in path.split(".") if path else ():
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _flag(item: Mapping[str, Any], field: str, where: str, *, default: bool) -> bool:
    raw = item.get(field)
    if raw is None:
        return default
    if not isinstance(raw, bool):
        raise SourceError(f"response field {field!r} {where} is not a boolean")
    return raw


def _time_field(item: Mapping[str, Any], field: str | None, where: str) -> float | None:
    if field is None:
        return None
    raw = item.get(field)
    if raw is None:
        return None
    return parse_instant(raw, what=f"response field {field!r} {where}")


def _expire(secret: Secret, end: float, position: int) -> Secret:
    try:
        return secret.replace(expires_at=end)
    except ConfigurationError:
        raise SourceError(f"item {position} starts after the rotation's end") from None
