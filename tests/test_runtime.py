"""The background loop and the waiting main thread: work and timers run on the main thread
while a turn runs, and the main thread is woken by them rather than polling."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from goose_nb.errors import TurnInterrupted
from goose_nb.runtime import BackgroundLoop


@pytest.fixture
def runtime():
    loop = BackgroundLoop()
    yield loop
    loop.close()


def test_work_from_the_loop_runs_on_the_main_thread_and_returns_its_value(runtime):
    async def turn() -> str:
        return await runtime.call_in_main(lambda: threading.current_thread().name)

    assert runtime.run(turn()) == threading.main_thread().name


def test_a_timer_set_during_a_turn_fires_on_the_main_thread_while_the_turn_waits(runtime):
    fired: list[tuple[str, float]] = []

    async def turn() -> float:
        await runtime.call_in_main(lambda: runtime.call_later_in_main(
            0.05, lambda: fired.append((threading.current_thread().name, time.monotonic()))))
        set_at = time.monotonic()
        await asyncio.sleep(0.5)  # the model is silent: nothing else wakes the main thread
        return set_at

    set_at = runtime.run(turn())
    assert len(fired) == 1 and fired[0][0] == threading.main_thread().name
    assert fired[0][1] - set_at < 0.5  # during the silence, not when the turn ended


def test_timers_left_when_the_turn_ends_are_dropped(runtime):
    fired: list[int] = []

    async def turn() -> None:
        await runtime.call_in_main(lambda: runtime.call_later_in_main(60, lambda: fired.append(1)))

    runtime.run(turn())

    async def next_turn() -> None:
        await asyncio.sleep(0.01)

    runtime.run(next_turn())
    assert fired == []


def test_main_thread_work_is_served_as_it_arrives_not_on_a_poll(runtime):
    """Fifty round trips to the main thread, against fifty 20 ms sleeps in the loop: served
    when queued, the round trips take a small part of that; on a 20 ms poll each waited up
    to a poll, about half as long as the sleeps in all."""
    async def round_trips(to_main: bool) -> float:
        started = time.perf_counter()
        for _ in range(50):
            if to_main:
                await runtime.call_in_main(lambda: None)
            else:
                await asyncio.sleep(0.02)
        return time.perf_counter() - started

    via_main = runtime.run(round_trips(True))
    sleeps = runtime.run(round_trips(False))
    assert via_main < sleeps / 4, (via_main, sleeps)


def test_an_interrupt_while_waiting_cancels_the_turn(runtime):
    import _thread

    async def turn() -> None:
        await asyncio.sleep(0.1)
        _thread.interrupt_main()  # as the kernel's SIGINT does, while the main thread sleeps
        await asyncio.sleep(30)

    started = time.monotonic()
    with pytest.raises(TurnInterrupted):
        runtime.run(turn())
    assert time.monotonic() - started < 30 / 3  # not the turn's 30 s
