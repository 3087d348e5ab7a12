"""External subagents: another agent, run as an MCP server, doing a subagent's task.

Goose's subagent guide configures one as an ordinary extension (``cmd: codex``,
``args: [mcp]``) and delegates to it in words ("Use the codex subagent to analyze my
codebase structure": the Codex server's tool is ``codex``). Here a task names the agent
(``extension: codex``: an extension's name, or a tool's), and that agent tool runs it. The
task's prompt is the tool's prompt argument, the tool's answer is the task's result, and
the call goes through the session's tool runner, so the approval mode, the scrubber and
the extension's own timeout apply as to any tool call.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from goose_nb.errors import GooseError
from goose_nb.events import ToolCallFinished, ToolCallStarted
from goose_nb.extensions import SEPARATOR, extension_key
from goose_nb.messages import ToolCall

if TYPE_CHECKING:
    from goose_nb.events import Event
    from goose_nb.tools.base import Tool
    from goose_nb.tools.runner import ToolRunner

#: the names agents' MCP tools give the task they take, most common first
PROMPT_FIELDS = ("prompt", "task", "instructions", "message", "query", "input")

_call_numbers = itertools.count(1)


@dataclass(frozen=True)
class ExternalAnswer:
    """What the external agent said (or why it said nothing), and which tool ran it."""

    text: str
    failed: bool
    tool: str


def prompt_field(tool: Tool[Any]) -> str | None:
    """The string property of the tool's schema that takes the task."""
    properties = (tool.parameters or {}).get("properties") or {}
    return next((name for name in PROMPT_FIELDS
                 if isinstance(properties.get(name), dict)
                 and properties[name].get("type", "string") == "string"), None)


def agent_tool(tools: dict[str, Tool[Any]], extension: str) -> tuple[Tool[Any], str]:
    """The tool that runs a task for ``extension`` and the argument the prompt goes in.

    ``extension`` is an extension's name (its tool of the same name, else its first tool
    that takes a prompt), ``extension__tool``, or a tool's own name (``codex``, the tool of
    the guide's ``subagent`` extension that runs ``codex mcp``); a one-line error when
    nothing matches."""
    name, _, chosen = extension.partition(SEPARATOR)
    key = extension_key(name)
    own = [tool for tool_name, tool in tools.items() if tool_name.startswith(key + SEPARATOR)]
    if chosen:
        candidates = [tool for tool in own if tool.name == f"{key}{SEPARATOR}{chosen}"]
    elif own:
        candidates = sorted(own, key=lambda tool: tool.name != f"{key}{SEPARATOR}{key}")
    else:
        candidates = [tool for tool_name, tool in tools.items()
                      if tool_name.partition(SEPARATOR)[2] == name]
    if not candidates:
        raise GooseError(f"no running extension, or extension tool, named {extension!r}; "
                         "configure the external agent as an extension (`%goose extensions` "
                         "lists them)")
    for tool in candidates:
        field = prompt_field(tool)
        if field is not None:
            return tool, field
    names = ", ".join(tool.name for tool in candidates)
    raise GooseError(f"{extension!r} has no tool that takes a prompt (one of "
                     f"{', '.join(PROMPT_FIELDS)}); its tools: {names}")


async def ask_external(runner: ToolRunner, extension: str, prompt: str,
                       emit: Callable[[Event], None]) -> ExternalAnswer:
    """Run one task on an external agent: start the extensions, call its agent tool (as
    step 1 of a one-step turn, in ``emit``'s events, for the summary's transcript)."""
    await runner.prepare()
    tool, field = agent_tool(runner.tools, extension)
    call = ToolCall(id=f"external_{next(_call_numbers)}", name=tool.name,
                    arguments={field: prompt})
    began = time.perf_counter()
    emit(ToolCallStarted(1, 1, call))
    result, failure = await runner.run(call)
    emit(ToolCallFinished(1, 1, call, result, failure, time.perf_counter() - began))
    return ExternalAnswer(text=result.content, failed=result.is_error, tool=tool.name)
