"""The shell tool against processes that outlive the command or escape its process group.

``setsid`` puts a child in a session of its own, out of reach of the kill of the command's
group, and such a child (or a plain ``&`` one) keeps the output pipes open: the call must
still return within its bounds, with what was printed, and leave no asyncio debris.
Each test's sleeps carry a unique duration, so the finalizer kills exactly them.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import subprocess
import time
import tracemalloc
import uuid
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from goose_nb.failures import Failure
from goose_nb.tools import ToolContext, ToolOutcome
from goose_nb.tools.shell import (
    HELD_NOTE,
    MAX_KEPT_BYTES,
    MAX_STREAM_CHARS,
    SHELL_TOOL,
)

T = TypeVar("T")

#: how long the processes that hold the pipes run: a call that waited for them would take
#: this long, so each bound below is a fraction of it (the ratio holds on a loaded machine,
#: where an absolute bound of a second or two does not)
HELD_FOR = 15


async def _direct(function: Callable[[], Any]) -> Any:
    return function()


@pytest.fixture
def context(tmp_path: Path) -> ToolContext:
    return ToolContext(namespace={}, run_in_main=_direct, scrub=lambda text: text, cwd=tmp_path)


@pytest.fixture
def sleeps() -> Iterator[Callable[[int], str]]:
    """``sleeps(seconds)`` gives a ``sleep`` command with a duration no other process
    has; every such sleep still running is killed after the test."""
    made: list[str] = []

    def sleep(seconds: int) -> str:
        made.append(f"sleep {seconds}.{uuid.uuid4().int % 10**9:09d}")
        return made[-1]

    yield sleep
    for command in made:
        subprocess.run(["pkill", "-KILL", "-f", re.escape(command)], check=False)


def _running(command: str) -> bool:
    found = subprocess.run(["pgrep", "-f", re.escape(command)], capture_output=True, check=False)
    return found.returncode == 0


def _gone(command: str) -> bool:
    """Whether ``command`` stops running within a second (a kill takes a moment)."""
    deadline = time.monotonic() + 1
    while _running(command) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _running(command)


def run_clean(make: Callable[[], Awaitable[T]], caplog: pytest.LogCaptureFixture) -> T:
    """Run ``make()`` in a fresh loop and fail on the debris a leaked reader or pipe
    leaves: an unclosed transport's ResourceWarning, asyncio's "Task was destroyed"."""
    async def main() -> T:
        return await make()

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        try:
            return asyncio.run(main())
        finally:
            gc.collect()  # what asyncio left unclosed warns when it is collected
            assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
            assert not [r for r in caplog.records if r.name == "asyncio"]


def shell(context: ToolContext, command: str, timeout: int = 60) -> Awaitable[ToolOutcome]:
    arguments = SHELL_TOOL.arguments.model_validate({"command": command, "timeout": timeout})
    return SHELL_TOOL.run(arguments, context)


def test_a_normal_command_returns_its_status_and_output(
    context: ToolContext, caplog: pytest.LogCaptureFixture
) -> None:
    outcome = run_clean(lambda: shell(context, "echo out; echo err >&2; exit 4"), caplog)
    assert outcome.failure == Failure("shell_error", "exit status 4")
    assert outcome.content == "exit status: 4\nstdout:\nout\nstderr:\nerr"


def test_timeout_returns_although_an_escaped_child_holds_the_output(
    context: ToolContext, caplog: pytest.LogCaptureFixture, sleeps: Callable[[int], str]
) -> None:
    escaped, in_group, timeout = sleeps(HELD_FOR), sleeps(4 * HELD_FOR), 2
    command = f"echo before; setsid {escaped} & {in_group}"
    started = time.monotonic()
    outcome = run_clean(lambda: shell(context, command, timeout), caplog)
    elapsed = time.monotonic() - started
    assert timeout <= elapsed < HELD_FOR / 3
    assert outcome.failure == Failure("shell_error", "timeout")
    assert outcome.content.startswith(f"exit status: killed after {timeout} s\nstdout:\nbefore")
    assert outcome.content.endswith(HELD_NOTE)
    assert _gone(in_group), "the command's process group survived the timeout"
    assert _running(escaped)  # the case under test: it escaped the kill and held the pipe


@pytest.mark.parametrize("detach", ["setsid ", ""], ids=["escaped", "in-group"])
def test_exit_returns_promptly_although_a_background_child_holds_the_output(
    context: ToolContext, caplog: pytest.LogCaptureFixture, sleeps: Callable[[int], str],
    detach: str,
) -> None:
    background = sleeps(HELD_FOR)
    started = time.monotonic()
    outcome = run_clean(lambda: shell(context, f"echo hi; {detach}{background} &"), caplog)
    assert time.monotonic() - started < HELD_FOR / 5
    assert outcome.failure is None
    assert outcome.content == f"exit status: 0\nstdout:\nhi\n{HELD_NOTE}"
    assert _running(background)  # left running, as a command's background job is


def test_cancelling_kills_the_group_closes_the_pipes_and_re_raises(
    context: ToolContext, caplog: pytest.LogCaptureFixture, sleeps: Callable[[int], str]
) -> None:
    escaped, in_group = sleeps(HELD_FOR), sleeps(4 * HELD_FOR)

    async def cancel_midway() -> float:
        task = asyncio.ensure_future(shell(context, f"setsid {escaped} & {in_group}"))
        while not _running(in_group):
            await asyncio.sleep(0.05)
        task.cancel()
        cancelled = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - cancelled

    assert run_clean(cancel_midway, caplog) < HELD_FOR / 5
    assert _gone(in_group), "the command's process group survived the cancellation"


def test_a_flood_of_output_is_held_as_head_and_tail_only(
    context: ToolContext, caplog: pytest.LogCaptureFixture
) -> None:
    size = 50_000_000
    command = f"head -c {size} /dev/zero | tr '\\0' x; echo; echo END"
    tracemalloc.start()
    try:
        outcome = run_clean(lambda: shell(context, command), caplog)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MAX_KEPT_BYTES, f"{peak:,} bytes held for {size:,} of output"
    assert outcome.failure is None
    head, note_and_tail = outcome.content.split("\n… [", 1)
    note, tail = note_and_tail.split("] …\n", 1)
    assert head == "exit status: 0\nstdout:\n" + "x" * (MAX_STREAM_CHARS // 2)
    assert tail.endswith("x\nEND")
    assert len(tail) == MAX_STREAM_CHARS // 2
    shown = MAX_STREAM_CHARS  # every shown character is one byte here
    assert note == f"{size + len(chr(10) + 'END' + chr(10)) - shown:,} bytes left out"
