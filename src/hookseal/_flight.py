"""The keyring's flights: where a fetch runs, and the two thin drivers that wait for one.

Why the keyring owns its fetches (and not the caller's event loop or executor):

* A fetch started as a task on the caller's loop dies with that loop. ``asyncio.run()`` per
  call, and asgiref's ``async_to_sync`` (Django async views under a WSGI server, Flask async
  views) cancel it before it ran, so the keyring never refreshed. A fetch here runs on a thread
  of the keyring's own, whatever kind of caller opened it.
* A sync fetch run in the loop's default executor keeps that executor's thread when it hangs,
  and the next attempt takes another, until ``asyncio.to_thread`` and ``getaddrinfo`` wait
  behind them. Here each flight has one thread of its own (named ``hookseal-keyring-<name>``),
  which ends with the fetch, and the policy opens no flight while a given-up fetch is still
  inside the source: never more than one thread in a source at a time.
* A source that can only fetch with asyncio (:attr:`SecretSource.async_only`) runs ``afetch()``
  on an event loop the keyring owns (kept across flights, so the source's clients stay bound to
  one loop), bounded by ``fetch_timeout``; the keyring closes the source on that same loop.

Every waiter, sync or async, waits on the flight's one ``concurrent.futures.Future``: threads
with ``result(timeout)``, coroutines through :func:`hookseal._futures.await_done` (a cancelled
waiter never cancels the fetch). The keyring's request flows are generators that yield
:class:`Wait`; :func:`drive` and :func:`adrive` run the same flow for threads and for asyncio
(the shape of httpx's ``_auth.py``): one policy, two thin drivers, no second copy.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, TypeVar

from ._futures import await_done, shared_future
from ._refresh import FetchCancelled, Flight
from .sources._base import Fetched, SecretSource, SourceError

__all__ = ["FetchRunner", "Flow", "Wait", "adrive", "drive"]

logger = logging.getLogger("hookseal")

T = TypeVar("T")


class Wait(NamedTuple):
    """A flow asks its driver: wait for ``flight`` up to ``timeout`` seconds; it is sent back
    True when the flight landed, False when the time ran out."""

    flight: Flight
    timeout: float


Flow = Generator[Wait, bool, T]


def drive(flow: Flow[T]) -> T:
    """Run a flow in this thread, blocking on each wait."""
    try:
        wait = next(flow)
        while True:
            try:
                wait.flight.done.result(wait.timeout)
                landed = True
            except concurrent.futures.TimeoutError:
                landed = False
            wait = flow.send(landed)
    except StopIteration as stop:
        result: T = stop.value
        return result


async def adrive(flow: Flow[T]) -> T:
    """Run a flow in this task, awaiting each wait (the event loop keeps running)."""
    try:
        wait = next(flow)
        while True:
            wait = flow.send(await await_done(wait.flight.done, wait.timeout))
    except StopIteration as stop:
        result: T = stop.value
        return result


Land = Callable[[Flight, Fetched | BaseException], None]


class FetchRunner:
    """Runs each flight's fetch on a thread of its own, and closes the source at the end."""

    def __init__(
        self,
        source: SecretSource,
        *,
        name: str,
        fetch_timeout: float,
        fetching: Callable[[Flight], bool],
        land: Land,
    ) -> None:
        self._source = source
        self._name = name
        self._fetch_timeout = fetch_timeout
        self._fetching = fetching
        self._land = land
        self._async = source.async_only
        self._lock = threading.Lock()
        self._threads: dict[threading.Thread, concurrent.futures.Future[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None  # async-only sources: ours
        self._task: asyncio.Task[Fetched] | None = None

    def launch(self, flight: Flight) -> None:
        """Start the flight's fetch on a new daemon thread (a hung fetch must not keep the
        process alive)."""
        exited: concurrent.futures.Future[None] = shared_future()
        thread = threading.Thread(
            target=self._run, args=(flight, exited), name=f"hookseal-keyring-{self._name}"
        )
        thread.daemon = True
        with self._lock:
            self._threads[thread] = exited
        try:
            thread.start()
        except RuntimeError:  # interpreter shutting down, or out of threads
            with self._lock:
                del self._threads[thread]
            self._land(flight, SourceError("could not start a fetch thread"))

    def _run(self, flight: Flight, exited: concurrent.futures.Future[None]) -> None:
        outcome: Fetched | BaseException = FetchCancelled("the keyring closed")
        try:
            if self._fetching(flight):
                outcome = self._fetch_async() if self._async else self._source.fetch()
        except Exception as exc:  # every failure is recorded and backed off, none escapes
            outcome = exc
        finally:
            try:
                self._land(flight, outcome)
            finally:
                with self._lock:
                    self._threads.pop(threading.current_thread(), None)
                exited.set_result(None)

    # -- async-only sources -------------------------------------------------------------------

    def _own_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            # a source's own asyncio.to_thread() runs here, never in the app's executor
            loop.set_default_executor(
                ThreadPoolExecutor(1, thread_name_prefix=f"hookseal-keyring-{self._name}-io")
            )
            self._loop = loop
        return self._loop

    def _fetch_async(self) -> Fetched:
        loop = self._own_loop()  # only one flight runs at a time: nobody else runs this loop
        task = loop.create_task(self._bounded_afetch())
        with self._lock:
            self._task = task
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            raise FetchCancelled("the keyring closed") from None
        finally:
            with self._lock:
                self._task = None

    async def _bounded_afetch(self) -> Fetched:
        try:
            return await asyncio.wait_for(self._source.afetch(), self._fetch_timeout)
        except asyncio.TimeoutError:
            raise SourceError(f"no answer within fetch_timeout={self._fetch_timeout:g} s") from None

    # -- closing ------------------------------------------------------------------------------

    def close(self, timeout: float) -> None:
        """Stop the fetch in flight, wait up to ``timeout`` for it, close the source."""
        if not self._async:
            self._source.close()  # first: closing a source ends a fetch blocked inside it
            self._join(timeout)
            return
        self._cancel()
        if self._join(timeout):
            self._close_on_own_loop(timeout)
        else:
            self._source.close()

    async def aclose(self, timeout: float) -> None:
        """:meth:`close` without blocking the caller's event loop."""
        if not self._async:
            await self._source.aclose()
            await self._ajoin(timeout)
            return
        self._cancel()
        if await self._ajoin(timeout):
            _, closed = self._start_closing_thread()
            await await_done(closed, timeout)
        else:
            self._source.close()

    def _cancel(self) -> None:
        with self._lock:
            loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # that loop is already closed
                loop.call_soon_threadsafe(task.cancel)

    def _others(self) -> list[tuple[threading.Thread, concurrent.futures.Future[None]]]:
        me = threading.current_thread()  # a hook closing the keyring from a fetch thread
        with self._lock:
            return [
                (thread, exited) for thread, exited in self._threads.items() if thread is not me
            ]

    def _join(self, timeout: float) -> bool:
        """Wait for the fetch threads to end (joined), up to ``timeout`` in all. Looks again
        after each: a landing just before close may have launched one more (which, finding the
        keyring closed, ends without calling the source)."""
        deadline = time.monotonic() + timeout
        while others := self._others():
            thread, _ = others[0]
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                return self._settled(False)
            with self._lock:  # (it removed itself; never loop on a thread that is gone)
                self._threads.pop(thread, None)
        return True

    async def _ajoin(self, timeout: float) -> bool:
        """The same without blocking the loop: wait for each thread's last step (the thread
        itself ends a moment later, with nothing left to do)."""
        deadline = time.monotonic() + timeout
        while others := self._others():
            thread, exited = others[0]
            if not await await_done(exited, max(0.0, deadline - time.monotonic())):
                return self._settled(False)
            with self._lock:
                self._threads.pop(thread, None)
        return True

    def _settled(self, done: bool) -> bool:
        if not done:
            logger.warning(
                "hookseal: keyring %s: a fetch is still inside the source after close; its "
                "thread is a daemon and ends when the source returns",
                self._name,
            )
        return done

    def _close_on_own_loop(self, timeout: float) -> None:
        thread, _ = self._start_closing_thread()
        thread.join(timeout)
        if thread.is_alive():
            logger.warning("hookseal: keyring %s: closing the source is taking long", self._name)

    def _start_closing_thread(
        self,
    ) -> tuple[threading.Thread, concurrent.futures.Future[None]]:
        """Close the source on the loop it fetched on, then that loop, in a thread of ours (the
        caller may be inside an event loop of its own, where this loop cannot run)."""
        done: concurrent.futures.Future[None] = shared_future()

        def run() -> None:
            try:
                self._close_own_loop()
            finally:
                done.set_result(None)

        thread = threading.Thread(target=run, name=f"hookseal-keyring-{self._name}", daemon=True)
        thread.start()
        return thread, done

    def _close_own_loop(self) -> None:
        loop = self._loop
        if loop is None:
            self._source.close()
            return
        try:
            loop.run_until_complete(self._source.aclose())
        except Exception:
            logger.exception("hookseal: keyring %s: closing the source failed", self._name)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()
