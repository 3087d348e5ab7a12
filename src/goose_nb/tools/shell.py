"""The ``shell`` tool: run a command with a timeout, in the kernel's working folder.

It runs on the background loop (it needs nothing from the kernel), in its own process
group, so a timeout or an interrupted turn kills the command and everything it started.
A process that leaves that group (``setsid``) or that the command leaves running in the
background may keep the output pipes open; the call never waits for such a process
beyond a short grace: it closes the pipes and reports what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from typing import Any

from pydantic import BaseModel, Field

from goose_nb.failures import Failure
from goose_nb.tools.base import Tool, ToolContext, ToolOutcome, cap

MAX_STREAM_CHARS = 10_000

#: seconds the pipes may stay open once the command has exited (or was killed): long
#: enough for output still in flight to arrive, short enough that a background process
#: holding the pipes (a server started with ``&``, an escaped ``setsid`` child) costs the
#: turn next to nothing
DRAIN_GRACE = 0.5

#: bytes of each output stream held while the command runs, half its head and half its
#: tail: a command that prints gigabytes (``yes``, a log followed) costs no more memory
MAX_KEPT_BYTES = 256 * 1024

HELD_NOTE = (
    "note: a background process still held the output and was not waited for "
    "(what it printed later is not shown)"
)


class ShellArgs(BaseModel):
    command: str = Field(description="A shell command (run with /bin/sh)")
    timeout: int = Field(default=60, ge=1, le=600, description="Seconds before it is stopped")


class _Kept:
    """The head and the tail of one output stream, at most ``MAX_KEPT_BYTES`` of it,
    and how many bytes arrived in all."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        half = MAX_KEPT_BYTES // 2
        room = half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        del self.tail[: max(0, len(self.tail) - half)]

    def text(self) -> str:
        """What to report: the whole output when it is short, else its head and tail
        (``MAX_STREAM_CHARS`` in all) and how many bytes between them were left out."""
        if self.total <= MAX_KEPT_BYTES:
            return cap(bytes(self.head + self.tail).decode("utf-8", "replace").rstrip(),
                       MAX_STREAM_CHARS)
        half = MAX_STREAM_CHARS // 2
        head = bytes(self.head).decode("utf-8", "replace")[:half]
        tail = bytes(self.tail).decode("utf-8", "replace").rstrip()[-half:]
        left_out = self.total - len(head.encode()) - len(tail.encode())
        return f"{head}\n… [{left_out:,} bytes left out] …\n{tail}"


class _Capture(asyncio.SubprocessProtocol):
    """Collects the output as it arrives and says when the command exited and when its
    pipes closed, as two separate futures.

    A protocol rather than stream readers: nothing reads in a task of its own, so there is
    no reader to outlive the call, and a pipe held open by a background process delays
    only the ``closed`` future, never the exit; closing the transport is the whole cleanup.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.output = {1: _Kept(), 2: _Kept()}
        self.exited: asyncio.Future[int] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._transport: asyncio.SubprocessTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self._transport = transport

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.output[fd].add(data)

    def process_exited(self) -> None:
        assert self._transport is not None  # asyncio calls connection_made first
        status = self._transport.get_returncode()
        assert status is not None
        self.exited.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        """Called once the command has exited and every pipe is closed."""
        if not self.closed.done():
            self.closed.set_result(None)


def _kill(pid: int) -> None:
    """Kill the command's whole process group: it was started as the group's leader."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


async def _within(future: asyncio.Future[Any], seconds: float) -> bool:
    """Whether ``future`` finished within ``seconds``; unlike ``wait_for``, a timeout
    leaves it pending, so the caller can still wait for it (or not) afterwards."""
    done, _ = await asyncio.wait({future}, timeout=seconds)
    return bool(done)


async def _close(transport: asyncio.SubprocessTransport, capture: _Capture) -> None:
    """Close the pipes (whoever still holds them) and let asyncio finish tearing down
    while the loop runs, so no transport is left for the garbage collector to warn about.

    A command just killed is let exit first: closing the transport polls the process, and
    a poll that reaps it before asyncio's child watcher does makes the watcher log
    "Unknown child process pid" (and report 255)."""
    await _within(capture.exited, DRAIN_GRACE)
    transport.close()
    await _within(capture.closed, DRAIN_GRACE)


def _report(status: int | str, capture: _Capture, held: bool) -> str:
    parts = [f"exit status: {status}"]
    for name, kept in (("stdout", capture.output[1]), ("stderr", capture.output[2])):
        text = kept.text()
        if text:
            parts.append(f"{name}:\n{text}")
    if held:
        parts.append(HELD_NOTE)
    return "\n".join(parts)


async def _outcome(
    args: ShellArgs, transport: asyncio.SubprocessTransport, capture: _Capture
) -> ToolOutcome:
    """Wait for the exit (not for the pipes), then give the output a bounded grace."""
    if not await _within(capture.exited, args.timeout):
        _kill(transport.get_pid())
        held = not await _within(capture.closed, DRAIN_GRACE)
        report = _report(f"killed after {args.timeout} s", capture, held)
        return ToolOutcome(report, Failure("shell_error", "timeout"))
    held = not await _within(capture.closed, DRAIN_GRACE)
    status = capture.exited.result()
    failure = Failure("shell_error", f"exit status {status}") if status else None
    return ToolOutcome(_report(status, capture, held), failure)


async def run_shell(args: ShellArgs, context: ToolContext) -> ToolOutcome:
    loop = asyncio.get_running_loop()
    transport, capture = await loop.subprocess_shell(
        lambda: _Capture(loop),
        args.command,
        cwd=context.cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        return await _outcome(args, transport, capture)
    except asyncio.CancelledError:
        _kill(transport.get_pid())  # an interrupted turn stops what it started
        raise
    finally:
        await _close(transport, capture)


SHELL_TOOL = Tool(
    name="shell",
    description=(
        "Run a shell command in the notebook's folder; returns the exit status, stdout and "
        "stderr. Use it for files, git, installed command-line tools; not for Python code "
        "that should share the notebook's variables (use the python tool)."
    ),
    arguments=ShellArgs,
    run=run_shell,
)
