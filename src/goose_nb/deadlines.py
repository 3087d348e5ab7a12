"""A deadline for the task that awaits inside it, cheap enough to move on every chunk.

``asyncio.timeout`` would do, but it exists only from Python 3.11 and moving it means a new
timer per call; a stream of 20,000 chunks moves its idle deadline 20,000 times. Here
``touch()`` only notes the time, and the one timer, when it fires, re-arms itself for
the rest of the interval if the deadline moved meanwhile.
"""

from __future__ import annotations

import asyncio
from types import TracebackType


class Deadline:
    """``async with Deadline(seconds, error) as deadline:`` cancels the block once
    ``seconds`` pass without a ``deadline.touch()`` (never touched: ``seconds`` after it
    began), and raises ``error`` in its place. A cancellation from elsewhere (the user's
    interrupt) passes through untouched."""

    def __init__(self, seconds: float, error: Exception) -> None:
        self.seconds = seconds
        self.error = error
        self.expired = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[object] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._last = 0.0

    def touch(self) -> None:
        """Start the interval again from now (something worth waiting for arrived)."""
        if self._loop is not None:
            self._last = self._loop.time()

    async def __aenter__(self) -> Deadline:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._last = self._loop.time()
        self._handle = self._loop.call_at(self._last + self.seconds, self._check)
        return self

    def _check(self) -> None:
        assert self._loop is not None and self._task is not None
        due = self._last + self.seconds
        if self._loop.time() < due:
            self._handle = self._loop.call_at(due, self._check)
            return
        self.expired = True
        self._task.cancel()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
        if self.expired and kind is not None and issubclass(kind, asyncio.CancelledError):
            uncancel = getattr(self._task, "uncancel", None)  # Python 3.11+
            if uncancel is not None:
                uncancel()
            raise self.error from None
