"""The kernel-safe runtime: one background event loop per kernel.

Inside a magic the kernel's own asyncio loop is already running, so ``asyncio.run`` fails
and ``nest_asyncio`` would patch the whole process. Instead a daemon thread owns a private
loop (and the session's ``httpx.AsyncClient``, reused across cells); the main thread submits
a turn and waits for it, and while it waits it runs whatever the turn sends back to it
(display updates, tool code that must run where the user's code runs) and the timers set on
it (a view's trailing render). The waiting thread sleeps in a blocking queue get, and is
woken by work, by the turn's end, or by its next timer; it never polls. A kernel
interrupt arrives in the waiting main thread as ``KeyboardInterrupt``: the turn is cancelled,
allowed to unwind, and ``TurnInterrupted`` is raised.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

from goose_nb.errors import TurnInterrupted

logger = logging.getLogger("goose_nb.runtime")

T = TypeVar("T")

#: how long ``arun`` (awaited from another event loop) sleeps between looks at its queue
_POLL_SECONDS = 0.02
#: the longest the waiting main thread sleeps with nothing to do, as a safety net only: it
#: is woken by work, by the turn's end and by its timers
_IDLE_WAKE_SECONDS = 1.0
#: how long a cancelled turn gets to unwind before the main thread stops waiting
_CANCEL_GRACE_SECONDS = 5.0


def _wake() -> None:
    """Queued to wake the waiting main thread; does nothing itself."""


class BackgroundLoop:
    """A private asyncio loop on a daemon thread, plus a queue of work for the main thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._main_calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_order = itertools.count()
        self._timers_lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop, started on first use so that loading the extension costs nothing."""
        with self._lock:
            if self._loop is None:
                ready = threading.Event()
                self._thread = threading.Thread(
                    target=self._serve, args=(ready,), name="goose-nb-loop", daemon=True
                )
                self._thread.start()
                ready.wait()
            assert self._loop is not None
            return self._loop

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        ready.set()
        self._loop.run_forever()

    def close(self) -> None:
        """Finish pending async generators, stop the loop and join its thread.

        The loop starts again on next use, so closing is safe at any point between turns.
        """
        with self._lock:
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
        with self._lock:
            self._loop = self._thread = None

    def in_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> RunningTask[T]:
        return RunningTask(self.loop, coro)

    def post_to_main(self, fn: Callable[[], None]) -> None:
        """Queue ``fn`` to run on the main thread the next time it drains the queue."""
        self._main_calls.put(fn)

    def call_later_in_main(self, delay: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the main thread ``delay`` seconds from now, if a turn is still being
        waited for then (timers left when the wait ends are dropped: they belong to it)."""
        with self._timers_lock:
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._timer_order), fn))
        self._main_calls.put(_wake)  # the waiting thread recomputes how long it may sleep

    def _run_due_timers(self) -> float:
        """Run the timers that are due; the seconds until the next one (or the idle wake)."""
        while True:
            with self._timers_lock:
                if not self._timers:
                    return _IDLE_WAKE_SECONDS
                due, _, fn = self._timers[0]
                wait = due - time.monotonic()
                if wait > 0:
                    return min(wait, _IDLE_WAKE_SECONDS)
                heapq.heappop(self._timers)
            self._call(fn)

    async def call_in_main(self, fn: Callable[[], T]) -> T:
        """From the loop thread: run ``fn`` on the main thread and await its result."""
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if not result.set_running_or_notify_cancel():
                return
            try:
                result.set_result(fn())
            except KeyboardInterrupt:
                # The user interrupted code running here: the waiting main thread sees the
                # interrupt and cancels the turn; the coroutine must not get it raw.
                result.set_exception(TurnInterrupted("interrupted"))
                raise
            except Exception as exc:  # handed back to the awaiting coroutine
                result.set_exception(exc)

        self._main_calls.put(run)
        wrapped = asyncio.wrap_future(result)
        try:
            return await wrapped
        except asyncio.CancelledError:
            result.cancel()
            raise

    def drain(self) -> None:
        """Run everything queued for the main thread (call from the main thread)."""
        while True:
            try:
                fn = self._main_calls.get_nowait()
            except queue.Empty:
                return
            self._call(fn)

    @staticmethod
    def _call(fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            logger.exception("main-thread callback failed")

    def _serve_main(self, future: concurrent.futures.Future[Any],
                    deadline: float | None = None) -> None:
        """Serve queued work and timers until ``future`` is done (or ``deadline``), asleep
        in between; the future's completion wakes the sleep."""
        future.add_done_callback(lambda _: self._main_calls.put(_wake))
        try:
            while not future.done():
                sleep = self._run_due_timers()
                if deadline is not None:
                    sleep = min(sleep, deadline - time.monotonic())
                    if sleep <= 0:
                        break
                try:
                    fn = self._main_calls.get(timeout=sleep)
                except queue.Empty:
                    continue
                self._call(fn)
                self.drain()
            self.drain()
        finally:
            with self._timers_lock:
                self._timers.clear()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for it here, serving main-thread work meanwhile.

        Ctrl-C / kernel interrupt cancels the coroutine and raises ``TurnInterrupted`` once
        it has unwound (or after a short grace period if it will not).
        """
        if self.in_loop_thread():
            raise RuntimeError("BackgroundLoop.run called from the loop thread itself")
        task = self.submit(coro)
        try:
            return self._wait(task.done)
        except KeyboardInterrupt:
            task.cancel()
            self._wait_cancelled(task.done)
            raise TurnInterrupted("interrupted") from None

    def _wait(self, future: concurrent.futures.Future[T]) -> T:
        self._serve_main(future)
        return future.result()

    def _wait_cancelled(self, future: concurrent.futures.Future[Any]) -> None:
        try:
            self._serve_main(future, deadline=time.monotonic() + _CANCEL_GRACE_SECONDS)
        except KeyboardInterrupt:
            logger.warning("second interrupt: not waiting for the turn to unwind")

    async def arun(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` from another event loop (the caller's), serving main-thread work."""
        task = self.submit(coro)
        wrapped = asyncio.wrap_future(task.done)
        try:
            while not wrapped.done():
                self.drain()
                await asyncio.wait({wrapped}, timeout=_POLL_SECONDS)
            self.drain()
            return wrapped.result()
        except asyncio.CancelledError:
            task.cancel()
            raise


class RunningTask(Generic[T]):
    """A coroutine running on the background loop, seen from another thread.

    Unlike ``run_coroutine_threadsafe``'s future, ``done`` completes only when the task has
    really finished, including the unwinding after a cancel, so the caller can wait for the
    session to be consistent again.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> None:
        self.done: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._loop = loop
        self._task: asyncio.Task[T] | None = None
        loop.call_soon_threadsafe(self._start, coro)

    def _start(self, coro: Coroutine[Any, Any, T]) -> None:
        self._task = self._loop.create_task(coro)
        self._task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[T]) -> None:
        if task.cancelled():
            self.done.set_exception(TurnInterrupted("interrupted"))
        elif task.exception() is not None:
            self.done.set_exception(task.exception())
        else:
            self.done.set_result(task.result())

    def cancel(self) -> None:
        """Ask the task to stop (thread-safe); it unwinds with ``CancelledError``."""
        self._loop.call_soon_threadsafe(self._cancel)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
