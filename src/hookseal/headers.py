"""Reading the few headers a scheme needs from whatever the framework hands us.

Accepted: any mapping with case-insensitive ``get`` (Starlette, Werkzeug, Django, requests,
multidict), a plain ``dict`` (looked up case-insensitively here), or an iterable of
``(name, value)`` pairs of ``str`` or ``bytes`` such as ASGI's raw header list, read in place
without building a dict. Values must be ASCII; anything else is a :class:`MalformedHeader`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import MalformedHeader

__all__ = ["HeadersLike", "read_header", "read_headers"]

HeaderPair = tuple[str | bytes, str | bytes]
HeadersLike = Mapping[str, str] | Mapping[str, bytes] | Iterable[HeaderPair]

MAX_HEADER_LENGTH = 8192
"""Longer values are refused before any parsing work is spent on them."""


def read_header(headers: HeadersLike, name: str, spelling: str) -> str | None:
    """The value of one header (``name`` in lower case, ``spelling`` as usually written)."""
    if type(headers) is dict:
        value = headers.get(spelling)
        if value is not None and type(value) is str and value.isascii() and len(value) < 8192:
            return value.strip(" \t")  # the common case, kept short: sign() output, test dicts
    if type(headers) is list:  # ASGI's raw header list: skip the Mapping ABC check
        return _one_from_pairs(headers, name)
    if isinstance(headers, Mapping):
        return _from_mapping(headers, name, spelling)
    return _from_pairs(headers, (name,))[0]


def read_headers(
    headers: HeadersLike, names: tuple[str, ...], spellings: tuple[str, ...] | None = None
) -> list[str | None]:
    """Return the value of each lower-case name in ``names`` (or None), as stripped ASCII text.

    ``spellings`` (the names as usually written) are tried first in a plain dict. In a pair
    list a name that appears twice is refused: two different signature or timestamp headers
    leave no honest way to pick one.
    """
    if type(headers) is dict:
        return _from_dict(headers, names, names if spellings is None else spellings)
    if type(headers) is list:
        return _from_pairs(headers, names)
    if isinstance(headers, Mapping):
        return [_from_mapping(headers, name, name) for name in names]
    return _from_pairs(headers, names)


def _from_dict(
    headers: dict[str, str] | dict[str, bytes], names: tuple[str, ...], spellings: tuple[str, ...]
) -> list[str | None]:
    """A plain dict where every header is present in its usual spelling as ASCII text (the
    common case, kept short); anything else goes the careful way, :func:`_from_dict_scan`."""
    texts: list[str | None] = []
    for spelling in spellings:
        value = headers.get(spelling)
        if type(value) is str and value.isascii() and len(value) <= MAX_HEADER_LENGTH:
            texts.append(value.strip(" \t"))
        else:
            return _from_dict_scan(headers, names, spellings)
    return texts


def _from_dict_scan(
    headers: dict[str, str] | dict[str, bytes], names: tuple[str, ...], spellings: tuple[str, ...]
) -> list[str | None]:
    """The usual spelling, then the lower-case name, then one case-blind pass for the rest."""
    values: list[object] = []
    for name, spelling in zip(names, spellings, strict=True):
        value = headers.get(spelling)
        if value is None and spelling != name:
            value = headers.get(name)
        values.append(value)
    if any(v is None for v in values):  # case-sensitive dict: one pass finds other spellings
        for key, candidate in headers.items():
            if isinstance(key, (str, bytes)):
                lowered = _lower(key)
                for i, name in enumerate(names):
                    if values[i] is None and lowered == name:
                        values[i] = candidate
    return [None if v is None else _text(v, names[i]) for i, v in enumerate(values)]


def _from_mapping(
    headers: Mapping[str, str] | Mapping[str, bytes], name: str, spelling: str
) -> str | None:
    try:
        value = headers.get(spelling)
        if value is None and spelling != name:
            value = headers.get(name)
        if value is None and type(headers) is dict:
            # A plain dict is case-sensitive: look for the name in any spelling.
            for key, candidate in headers.items():
                if isinstance(key, (str, bytes)) and _lower(key) == name:
                    value = candidate
                    break
    except (TypeError, UnicodeDecodeError) as exc:
        raise MalformedHeader(f"the {name} header could not be read", header=name) from exc
    return None if value is None else _text(value, name)


def _from_pairs(headers: Iterable[HeaderPair], names: tuple[str, ...]) -> list[str | None]:
    if type(headers) is list:
        found = _from_byte_pairs(headers, names)
        if found is not None:
            return found
    return _from_any_pairs(headers, names)


_WANTED: dict[tuple[str, ...], tuple[tuple[bytes, ...], frozenset[int]]] = {}
"""Header names as bytes and their lengths, per names tuple (the schemes' own, so few)."""


def _wanted(names: tuple[str, ...]) -> tuple[tuple[bytes, ...], frozenset[int]]:
    found = _WANTED.get(names)
    if found is None:
        encoded = tuple(n.encode("ascii") for n in names)
        found = (encoded, frozenset(len(n) for n in encoded))
        if len(_WANTED) >= 64:  # bounded even if a caller invents names per request
            _WANTED.clear()
        _WANTED[names] = found
    return found


def _from_byte_pairs(headers: list[HeaderPair], names: tuple[str, ...]) -> list[str | None] | None:
    """ASGI's list of ``(bytes, bytes)`` pairs, read with as little work per header as can be:
    a name is lower-cased only when its length is one we look for (no other name can match).
    None when the list holds anything else that might matter: the careful path then reads it
    from the start, so both paths give the same answer or the same error."""
    wanted, lengths = _wanted(names)
    found: list[str | bytes | None] = [None] * len(names)
    try:
        for key, value in headers:
            if type(key) is not bytes:
                return None
            if len(key) in lengths:  # bytes.lower() keeps the length: no other name matches
                key = key.lower()
                for i, want in enumerate(wanted):
                    if key == want:
                        _store(found, i, value, names[i])
    except (TypeError, ValueError):  # not pairs
        return None
    return [None if v is None else _text(v, names[i]) for i, v in enumerate(found)]


def _one_from_pairs(headers: list[HeaderPair], name: str) -> str | None:
    """:func:`_from_byte_pairs` for one name (what most schemes read): no lists at all."""
    want = _wanted((name,))[0][0]
    size = len(want)
    found: str | bytes | None = None
    try:
        for key, value in headers:
            if type(key) is not bytes:
                return _from_any_pairs(headers, (name,))[0]
            if len(key) == size and key.lower() == want:
                if found is not None:
                    raise MalformedHeader(f"the {name} header appears more than once", header=name)
                found = value
    except (TypeError, ValueError):  # not pairs
        return _from_any_pairs(headers, (name,))[0]
    return None if found is None else _text(found, name)


def _from_any_pairs(headers: Iterable[HeaderPair], names: tuple[str, ...]) -> list[str | None]:
    found: list[str | bytes | None] = [None] * len(names)
    wanted_bytes = _wanted(names)[0]
    try:
        for pair in headers:
            key, value = pair
            if isinstance(key, bytes):
                key_l = key.lower()
                for i, want in enumerate(wanted_bytes):
                    if key_l == want:
                        _store(found, i, value, names[i])
            elif isinstance(key, str):
                key_s = key.lower()
                for i, want_s in enumerate(names):
                    if key_s == want_s:
                        _store(found, i, value, names[i])
    except (TypeError, ValueError) as exc:
        raise MalformedHeader("headers must be a mapping or (name, value) pairs") from exc
    return [None if v is None else _text(v, names[i]) for i, v in enumerate(found)]


def _store(found: list[str | bytes | None], i: int, value: str | bytes, name: str) -> None:
    if found[i] is not None:
        raise MalformedHeader(f"the {name} header appears more than once", header=name)
    found[i] = value


def _lower(key: str | bytes) -> str:
    if isinstance(key, bytes):
        return key.decode("latin-1").lower()
    return key.lower()


def _text(value: object, name: str) -> str:
    if isinstance(value, bytes):
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedHeader(f"the {name} header is not ASCII", header=name) from None
    elif isinstance(value, str):
        if not value.isascii():
            raise MalformedHeader(f"the {name} header is not ASCII", header=name)
        text = value
    else:
        raise MalformedHeader(f"the {name} header must be str or bytes", header=name)
    if len(text) > MAX_HEADER_LENGTH:
        raise MalformedHeader(f"the {name} header is too long", header=name)
    return text.strip(" \t")
