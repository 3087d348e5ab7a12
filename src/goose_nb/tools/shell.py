"""The ``shell`` tool: run a command with a timeout, in the kernel's working folder.

It runs on the background loop (it needs nothing from the kernel), in its own process
group, so a timeout or an interrupted turn kills the command and everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from pydantic import BaseModel, Field

from goose_nb.failures import Failure
from goose_nb.tools.base import Tool, ToolContext, ToolOutcome, cap

MAX_STREAM_CHARS = 10_000


class ShellArgs(BaseModel):
    command: str = Field(description="A shell command (run with /bin/sh)")
    timeout: int = Field(default=60, ge=1, le=600, description="Seconds before it is stopped")


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


async def _read_all(stream: asyncio.StreamReader, sink: bytearray) -> None:
    while chunk := await stream.read(65_536):
        sink.extend(chunk)


def _report(status: int | str, stdout: bytes | bytearray, stderr: bytes | bytearray) -> str:
    parts = [f"exit status: {status}"]
    for name, data in (("stdout", stdout), ("stderr", stderr)):
        text = data.decode("utf-8", "replace").rstrip()
        if text:
            parts.append(f"{name}:\n{cap(text, MAX_STREAM_CHARS)}")
    return "\n".join(parts)


async def run_shell(args: ShellArgs, context: ToolContext) -> ToolOutcome:
    process = await asyncio.create_subprocess_shell(
        args.command,
        cwd=context.cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    # read into buffers that outlive a timeout: what the command printed before it was
    # stopped is what the model needs to see (a cancelled communicate() loses it)
    stdout, stderr = bytearray(), bytearray()
    assert process.stdout is not None and process.stderr is not None
    reading = asyncio.gather(_read_all(process.stdout, stdout), _read_all(process.stderr, stderr))

    async def finish() -> int:
        await asyncio.shield(reading)
        return await process.wait()

    try:
        status = await asyncio.wait_for(finish(), args.timeout)
    except asyncio.TimeoutError:
        _kill(process)
        await reading
        report = _report(f"killed after {args.timeout} s", stdout, stderr)
        return ToolOutcome(report, Failure("shell_error", "timeout"))
    except asyncio.CancelledError:
        _kill(process)  # the readers then meet the end of the pipes and finish
        raise
    failure = Failure("shell_error", f"exit status {status}") if status else None
    return ToolOutcome(_report(status, stdout, stderr), failure)


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
