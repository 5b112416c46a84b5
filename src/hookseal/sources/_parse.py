"""Turning the JSON/TOML shapes that env and file sources read into a SecretSet.

One shape for both: a list whose items are secret strings or objects
``{"value"|"secret", "id", "not_before", "expires_at"|"rotate_at"}``, given as the document
itself or under a ``"secrets"`` key. Times are epoch seconds or ISO-8601 with a timezone.
Unknown keys are refused: a misspelt ``expires_at`` would otherwise make a retired secret
valid forever. Error messages name the place (``where``), never a value.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping
from typing import Any

from .._time import Instant
from ..errors import ConfigurationError
from ..secrets import Secret, SecretSet
from ._base import SourceError

_KEYS = frozenset({"value", "secret", "id", "not_before", "expires_at", "rotate_at"})


def secret_set_from_document(document: object, where: str) -> SecretSet:
    """The set described by a parsed JSON/TOML document (see the module docstring)."""
    items = document
    if isinstance(document, Mapping):
        if set(document) != {"secrets"}:
            raise SourceError(f"{where}: expected a list of secrets or an object with 'secrets'")
        items = document["secrets"]
    if not isinstance(items, list):
        raise SourceError(f"{where}: 'secrets' must be a list")
    secrets = [_secret(item, f"{where}: secret #{n}") for n, item in enumerate(items, 1)]
    try:
        return SecretSet(secrets)
    except ConfigurationError as exc:  # duplicate ids; the message names the id only
        raise SourceError(f"{where}: {exc}") from None


def _secret(item: object, where: str) -> Secret:
    if isinstance(item, str):
        return _build(item, None, None, None, where)
    if not isinstance(item, Mapping):
        raise SourceError(f"{where}: must be a string or an object")
    unknown = sorted(str(k) for k in item if k not in _KEYS)
    if unknown:
        raise SourceError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_KEYS)}")
    if ("value" in item) == ("secret" in item):
        raise SourceError(f"{where}: give exactly one of 'value' or 'secret'")
    if "expires_at" in item and "rotate_at" in item:
        raise SourceError(f"{where}: give 'expires_at' or 'rotate_at', not both")
    value = item["value"] if "value" in item else item["secret"]
    if not isinstance(value, str):
        raise SourceError(f"{where}: the value must be a string")
    secret_id = item.get("id")
    if secret_id is not None and not isinstance(secret_id, str):
        raise SourceError(f"{where}: 'id' must be a string")
    label = where if secret_id is None else f"{where} (id {secret_id!r})"
    not_before = _instant(item.get("not_before"), f"{label}: not_before")
    end_key = "rotate_at" if "rotate_at" in item else "expires_at"
    expires_at = _instant(item.get(end_key), f"{label}: {end_key}")
    return _build(value, secret_id, not_before, expires_at, label)


def _build(
    value: str, secret_id: str | None, start: Instant | None, end: Instant | None, where: str
) -> Secret:
    try:
        return Secret(value, id=secret_id, not_before=start, expires_at=end)
    except ConfigurationError as exc:  # Secret's messages never include the value
        raise SourceError(f"{where}: {exc}") from None


def _instant(raw: object, where: str) -> Instant | None:
    """An optional time field of the env/file shape (see :func:`parse_instant`)."""
    return None if raw is None else parse_instant(raw, what=where)


def parse_instant(raw: object, *, what: str) -> float:
    """Epoch seconds from a number, a string of one, an ISO-8601 string with a zone (``Z``
    allowed) or a TOML datetime; one parser for every source.

    A time without a zone is refused rather than guessed (a wrong guess moves a rotation
    window by hours), and so is anything that is not a finite moment.
    """
    if isinstance(raw, bool):
        raise SourceError(f"{what}: must be epoch seconds or an ISO-8601 time")
    if isinstance(raw, (int, float)):
        return _finite(raw, what)
    if isinstance(raw, _dt.datetime):
        moment = raw
    elif isinstance(raw, str):
        text = raw.strip()
        try:
            return _finite(float(text), what)
        except ValueError:
            pass
        if text.endswith(("Z", "z")):  # fromisoformat accepts "Z" only from 3.11
            text = text[:-1] + "+00:00"
        try:
            moment = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise SourceError(f"{what}: not an ISO-8601 time or epoch seconds") from None
    else:
        raise SourceError(f"{what}: must be epoch seconds or an ISO-8601 time")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SourceError(f"{what}: the time needs a timezone (e.g. 'Z' or '+00:00')")
    return moment.timestamp()


def _finite(raw: float, what: str) -> float:
    try:
        value = float(raw)
    except OverflowError:  # an int beyond any float: no real moment
        value = math.inf
    if not math.isfinite(value):
        raise SourceError(f"{what}: not a finite number")
    return value


def describe(value: Any) -> str:
    """A type name for error messages (never the value itself)."""
    return type(value).__name__
