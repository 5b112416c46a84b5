"""Reading the fields of a decoded JSON answer strictly, by the documented types.

Each reader raises :class:`Shape` naming the place (``items[2].rotate_at``) and what is wrong,
never the value: an answer that failed to parse may still hold a secret. The HTTP driver turns
a :class:`Shape` into a :class:`~hookseal.providers.errors.MalformedAnswer` naming the call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..sources._base import SourceError
from ..sources._parse import parse_instant

__all__ = [
    "Shape",
    "boolean",
    "instant",
    "integer",
    "obj",
    "opt_instant",
    "opt_integer",
    "opt_obj",
    "opt_string",
    "opt_strings",
    "string",
    "strings",
]

_MISSING = object()


class Shape(Exception):
    """The answer is not in the documented shape (internal: the driver adds the call's name)."""


def obj(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` as a JSON object."""
    if not isinstance(value, Mapping):
        raise Shape(f"{where} is not an object")
    return value


def opt_obj(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    raw = _optional(parent, key)
    return None if raw is None else obj(raw, _at(where, key))


def string(parent: Mapping[str, Any], key: str, where: str, *, nonempty: bool = False) -> str:
    raw = _required(parent, key, where)
    if not isinstance(raw, str):
        raise Shape(f"{_at(where, key)} is not a string")
    if nonempty and not raw:
        raise Shape(f"{_at(where, key)} is empty")
    return raw


def opt_string(parent: Mapping[str, Any], key: str, where: str) -> str | None:
    raw = _optional(parent, key)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Shape(f"{_at(where, key)} is not a string")
    return raw


def integer(parent: Mapping[str, Any], key: str, where: str, *, minimum: int | None = None) -> int:
    raw = _required(parent, key, where)
    return _integer(raw, _at(where, key), minimum)


def opt_integer(
    parent: Mapping[str, Any], key: str, where: str, *, minimum: int | None = None
) -> int | None:
    raw = _optional(parent, key)
    return None if raw is None else _integer(raw, _at(where, key), minimum)


def boolean(parent: Mapping[str, Any], key: str, where: str) -> bool:
    raw = _required(parent, key, where)
    if not isinstance(raw, bool):
        raise Shape(f"{_at(where, key)} is not a boolean")
    return raw


def strings(parent: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    raw = _required(parent, key, where)
    return _strings(raw, _at(where, key))


def opt_strings(parent: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    raw = _optional(parent, key)
    return None if raw is None else _strings(raw, _at(where, key))


def instant(parent: Mapping[str, Any], key: str, where: str) -> float:
    """A documented ISO-8601 time (with a zone) as epoch seconds."""
    raw = _required(parent, key, where)
    return _instant(raw, _at(where, key))


def opt_instant(parent: Mapping[str, Any], key: str, where: str) -> float | None:
    raw = _optional(parent, key)
    return None if raw is None else _instant(raw, _at(where, key))


def _required(parent: Mapping[str, Any], key: str, where: str) -> Any:
    raw = parent.get(key, _MISSING)
    if raw is _MISSING or raw is None:
        raise Shape(f"{_at(where, key)} is missing")
    return raw


def _optional(parent: Mapping[str, Any], key: str) -> Any:
    return parent.get(key)


def _integer(raw: Any, where: str, minimum: int | None) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise Shape(f"{where} is not an integer")
    if minimum is not None and raw < minimum:
        raise Shape(f"{where} is below {minimum}")
    return raw


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise Shape(f"{where} is not a list of strings")
    return tuple(raw)


def _instant(raw: Any, where: str) -> float:
    if not isinstance(raw, str):
        raise Shape(f"{where} is not an ISO-8601 time string")
    try:
        return parse_instant(raw, what=where)
    except SourceError as exc:
        raise Shape(str(exc)) from None


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
