"""The rate limit the live views share: at most N draws a second, and the last change is
always drawn, by one timer, even when no other change comes."""

from __future__ import annotations

from goose_nb.display.throttle import Throttle


def test_draws_at_once_then_holds_back_and_draws_the_rest_once_by_a_timer():
    now = [100.0]
    draws: list[float] = []
    timers: list = []
    throttle = Throttle(10, lambda: draws.append(now[0]), lambda delay, fn: timers.append(
        (delay, fn)), clock=lambda: now[0])
    throttle.request()
    assert draws == [100.0] and not throttle.held
    now[0] += 0.02
    throttle.request()
    throttle.request()
    assert draws == [100.0] and throttle.held and len(timers) == 1
    delay, trailing = timers[0]
    assert abs(delay - 0.08) < 1e-9
    now[0] += delay
    trailing()
    assert draws == [100.0, 100.1] and not throttle.held
    trailing()  # nothing held back since: no draw
    assert len(draws) == 2
    throttle.request(force=True)  # a forced draw ignores the interval
    assert len(draws) == 3


def test_a_draw_made_elsewhere_counts_and_clears_what_was_held():
    now = [0.0]
    draws: list[int] = []
    throttle = Throttle(10, lambda: draws.append(1), clock=lambda: now[0])
    throttle.request()  # within the first interval: held (no timer to set)
    assert throttle.held and draws == []
    throttle.drew()
    assert not throttle.held
    now[0] += 0.05
    throttle.request()
    assert draws == []  # the interval counts from the draw made elsewhere
