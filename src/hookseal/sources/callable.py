"""A source backed by your own function, sync or async (a vault client, a database query)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ..errors import ConfigurationError
from ..secrets import Secret, SecretLike, SecretSet
from ._base import Fetched, SecretSource, SourceError
from ._parse import describe

__all__ = ["CallableSource", "Produced"]

Produced = SecretSet | Fetched | SecretLike | Iterable[SecretLike]
"""What the callable may return: a SecretSet, a Fetched (to give a ttl), one secret, or an
iterable of Secret/str/bytes."""


class CallableSource(SecretSource):
    """Calls ``fn()`` on every fetch. ``fn`` may be sync or ``async def`` (or return an
    awaitable). Anything it raises becomes a :class:`SourceError` keeping only the exception's
    type in the message, since a user function's message may hold anything."""

    def __init__(
        self,
        fn: Callable[[], Produced | Awaitable[Produced]],
        *,
        name: str | None = None,
    ) -> None:
        if not callable(fn):
            raise ConfigurationError("CallableSource needs a callable")
        self.fn = fn
        self.name = name if name is not None else f"callable:{getattr(fn, '__name__', 'fn')}"

    def fetch(self) -> Fetched:
        result = self._call()
        if inspect.isawaitable(result):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return self._convert(asyncio.run(_awaited(result)))
            _discard(result)
            raise SourceError(
                f"{self.name}: an async callable cannot be fetched synchronously inside a "
                "running event loop; use afetch()"
            )
        return self._convert(result)

    async def afetch(self) -> Fetched:
        if inspect.iscoroutinefunction(self.fn):
            result: Any = await self._guard(self.fn())
        else:
            result = await asyncio.to_thread(self._call)
        if inspect.isawaitable(result):
            result = await self._guard(result)
        return self._convert(result)

    def _call(self) -> Any:
        try:
            return self.fn()
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(f"{self.name}: the callable raised {describe(exc)}") from exc

    async def _guard(self, awaitable: Awaitable[Any]) -> Any:
        try:
            return await awaitable
        except SourceError:
            raise
        except Exception as exc:
            raise SourceError(f"{self.name}: the callable raised {describe(exc)}") from exc

    def _convert(self, result: Any) -> Fetched:
        if isinstance(result, Fetched):
            return result
        if isinstance(result, (SecretSet, str, bytes, Secret, Iterable)):
            try:
                return Fetched(SecretSet.coerce(result))
            except ConfigurationError as exc:
                raise SourceError(f"{self.name}: {exc}") from None
        raise SourceError(
            f"{self.name}: the callable returned a {describe(result)}, not secrets or a Fetched"
        )


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _discard(awaitable: Awaitable[Any]) -> None:
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()  # a never-awaited coroutine would warn
