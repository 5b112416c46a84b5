"""Which request paths a middleware guards, decided so that no spelling slips past.

Every path is normalised before matching: percent-decoded (again: over-matching only asks for a
signature, never skips one), backslashes and repeated slashes folded, ``.`` and ``..`` segments
resolved, and case folded. Routers do not resolve dot segments (Starlette, Werkzeug and Django
all route ``/hooks/..`` to ``/hooks/{name}``), so a path is also matched with its dot segments
kept as they are: guarded under either reading means guarded. A string pattern guards that
path and everything below it at a segment boundary (``/hooks`` guards ``/hooks``, ``/hooks/``
and ``/hooks/x``, not ``/hooksx``); a pattern starting with ``=`` guards that exact path only; a
callable decides for itself on the normalised path. ``None`` guards every path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import unquote

from .errors import ConfigurationError

__all__ = ["PathMatcher", "PathsLike", "normalise_path"]

PathsLike = str | Iterable[str] | Callable[[str], bool] | None


_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
"""The non-ASCII letters Python's ``re`` matches to an ASCII letter under IGNORECASE (a router
with ``(?i)`` sends the long-s spelling of ``/hooks`` there); ``str.lower`` folds only Kelvin."""


def normalise_path(path: str, *, resolve_dots: bool = True) -> str:
    """The canonical form a path is matched in (see the module docstring).

    ``resolve_dots=False`` keeps ``.`` and ``..`` segments as they are (what routers see).
    """
    for _ in range(3):  # undo double and triple encoding too; bounded, not a loop on input
        decoded = unquote(path, errors="replace")
        if decoded == path:
            break
        path = decoded
    path = path.replace("\\", "/").translate(_FOLD).lower()
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "" or (segment == "." and resolve_dots):
            continue
        if segment == ".." and resolve_dots:
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/" + "/".join(segments)


_CACHE_SIZE = 1024
"""Decisions remembered per matcher. Paths come from clients, so the cache is bounded: when it
is full it is emptied and refilled (a flood of distinct paths costs only the normalising)."""

_CACHED_LENGTH = 512
"""Only spellings this short (in total) are remembered: at most ~1 MiB of keys per matcher."""


class PathMatcher:
    """Decides whether a request path is guarded. Build once, call per request.

    Decisions for pattern lists are remembered per spelling (a webhook endpoint sees the same
    few paths over and over); a callable's are not, since it may answer differently later.
    """

    __slots__ = ("_cache", "_exact", "_predicate", "_prefixes", "guards_everything")

    def __init__(self, paths: PathsLike = None) -> None:
        self._cache: dict[tuple[str, ...], bool] = {}
        self._predicate: Callable[[str], bool] | None = None
        self._exact: frozenset[str] = frozenset()
        self._prefixes: tuple[str, ...] = ()
        self.guards_everything = paths is None
        if paths is None:
            return
        if callable(paths):
            self._predicate = paths
            return
        if isinstance(paths, str):
            paths = (paths,)
        exact: set[str] = set()
        prefixes: list[str] = []
        for pattern in paths:
            if not isinstance(pattern, str) or not pattern.lstrip("=").startswith("/"):
                raise ConfigurationError(f"path patterns must start with '/': {pattern!r}")
            if pattern.startswith("="):
                exact.add(normalise_path(pattern[1:]))
            else:
                prefixes.append(normalise_path(pattern))
        if not exact and not prefixes:
            raise ConfigurationError("paths is empty: give None to guard every path")
        self._exact = frozenset(exact)
        self._prefixes = tuple(prefixes)

    def matches(self, *paths: str) -> bool:
        """True when any of the given spellings of one request's path is guarded."""
        if self.guards_everything:
            return True
        if self._predicate is not None:
            return self._decide(paths)
        cache = self._cache
        try:
            return cache[paths]
        except KeyError:
            pass
        except TypeError:  # a spelling that is not a str: decide (and fail) the careful way
            return self._decide(paths)
        decided = self._decide(paths)
        if sum(map(len, paths)) <= _CACHED_LENGTH:  # long paths are decided, not kept
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[paths] = decided
        return decided

    def _decide(self, paths: tuple[str, ...]) -> bool:
        for raw in paths:
            resolved = normalise_path(raw)
            if self._guarded(resolved):
                return True
            if "." in raw or "%" in raw:  # dot segments a router would not resolve
                literal = normalise_path(raw, resolve_dots=False)
                if literal != resolved and self._guarded(literal):
                    return True
        return False

    def _guarded(self, path: str) -> bool:
        if self._predicate is not None:
            return bool(self._predicate(path))
        if path in self._exact:
            return True
        return any(
            prefix == "/" or path == prefix or path.startswith(prefix + "/")
            for prefix in self._prefixes
        )

    def __repr__(self) -> str:
        if self.guards_everything:
            return "PathMatcher(all)"
        if self._predicate is not None:
            return f"PathMatcher({self._predicate!r})"
        return f"PathMatcher(prefixes={list(self._prefixes)}, exact={sorted(self._exact)})"
