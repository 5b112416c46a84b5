"""Waiting for a thread's result from any event loop, and running a call in a thread of its own.

A ``concurrent.futures.Future`` is the one thing both kinds of callers can wait on. Awaiting it
must not depend on the waiting loop living on (``asyncio.run`` per call closes it), must not
cancel the shared result when one waiter is cancelled, and must not borrow the loop's default
executor (``asyncio.to_thread``, ``getaddrinfo``) to do so.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["await_done", "in_own_thread", "shared_future"]

T = TypeVar("T")


def shared_future() -> concurrent.futures.Future[Any]:
    """A future many callers wait on: already "running", so no waiter can cancel it."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set_running_or_notify_cancel()
    return future


async def await_done(future: concurrent.futures.Future[Any], timeout: float | None) -> bool:
    """Wait until ``future`` is done (True) or ``timeout`` seconds passed (False).

    The waiter is a private asyncio future: cancelling the awaiting task cancels only it, never
    the shared ``future``. If the waiting loop is closed before ``future`` is done, the wake-up
    is dropped quietly (``asyncio.wrap_future`` would call into the closed loop).
    """
    if future.done():
        return True
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def wake(_: concurrent.futures.Future[Any]) -> None:
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_settle, waiter)

    future.add_done_callback(wake)
    try:
        await asyncio.wait_for(waiter, timeout)
    except asyncio.TimeoutError:
        return future.done()
    return True


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def in_own_thread(fn: Callable[[], T], *, name: str) -> T:
    """Run ``fn()`` in a new daemon thread and await its result, keeping the context variables.

    Not the loop's default executor: a call that hangs keeps its own thread and nothing else
    waits behind it. A cancelled caller does not stop the thread (no thread can be stopped).
    """
    future: concurrent.futures.Future[T] = shared_future()
    context = contextvars.copy_context()

    def run() -> None:
        try:
            result = context.run(fn)
        except BaseException as exc:  # handed to the awaiting caller, which re-raises it
            future.set_exception(exc)
        else:
            future.set_result(result)

    threading.Thread(target=run, name=name, daemon=True).start()
    await await_done(future, None)
    return future.result()
