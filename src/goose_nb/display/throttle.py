"""A rate limit for redrawing a live view, with a trailing draw so nothing held back is lost.

A view asks to be drawn on every change; drawing each time would flood the front end (a
stream has thousands of chunks, a subagent run 2N starts and finishes). ``Throttle`` draws
at most ``per_second`` times a second, and when it holds a draw back it sets one timer
(``schedule``, on the main thread) to draw when the interval is over, so the last change is
always shown even if no other change comes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: ``schedule(delay, fn)``: run ``fn`` on the main thread ``delay`` seconds from now
Schedule = Callable[[float, Callable[[], None]], None]


class Throttle:
    """``request()`` on every change; ``draw`` runs now, or once when the interval ends."""

    def __init__(self, per_second: float, draw: Callable[[], None],
                 schedule: Schedule | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1 / per_second
        self._draw = draw
        self._schedule = schedule
        self._clock = clock
        self._last = 0.0
        self._scheduled = False
        #: a change was asked to be drawn and is not drawn yet
        self.held = False

    def request(self, force: bool = False) -> None:
        """Draw now if the interval is over (or ``force``), else hold the draw back."""
        wait = self._last + self._interval - self._clock()
        if not force and wait > 0:
            self.held = True
            if self._schedule is not None and not self._scheduled:
                self._scheduled = True
                self._schedule(wait, self._trailing)
            return
        self._last = self._clock()
        self._draw()  # ``held`` still says whether something was held back, while it draws
        self.held = False

    def drew(self) -> None:
        """Count a draw made another way (a new display, the final render) as drawn now."""
        self._last = self._clock()
        self.held = False

    def _trailing(self) -> None:
        self._scheduled = False
        if self.held:
            self.request(force=True)
