"""Running the model's tool calls: look up, validate, ask for approval, run, classify.

Nothing the model sends can crash a turn: an unknown tool, arguments that are not JSON or
do not fit the schema, a tool that raises — each becomes an error result the model reads
and can correct, plus a ``Failure`` for the lead/worker policy.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from goose_nb.config import ApprovalMode
from goose_nb.failures import Failure
from goose_nb.messages import ToolCall, ToolResult, ToolSpec
from goose_nb.tools.base import Tool, ToolContext, ToolOutcome, Toolset

logger = logging.getLogger("goose_nb.tools")

DECLINED = (
    "The user declined to run this tool call. Ask what they want instead, or go on without it."
)


@dataclass(frozen=True, slots=True)
class Approval:
    allowed: bool
    reason: str = ""


Approver = Callable[[Tool, ToolCall], Awaitable[Approval]]


def needs_approval(mode: ApprovalMode, tool: Tool, arguments: Any, context: ToolContext
                   ) -> bool:
    """``approve`` asks for every call, ``smart_approve`` for those that change things and
    for the reads a tool says need asking (a file outside the workspace)."""
    if mode != "smart_approve":
        return mode == "approve"
    return not tool.read_only or (tool.asks is not None and tool.asks(arguments, context))


def _validation_message(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "arguments"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


class ToolRunner:
    """The tools offered in one turn, and how their calls are run."""

    def __init__(
        self,
        tools: Sequence[Tool],
        context: ToolContext,
        mode: ApprovalMode,
        approver: Approver,
        refused: Mapping[str, str] | None = None,
        toolsets: Sequence[Toolset] = (),
    ) -> None:
        self.tools = {tool.name: tool for tool in tools}
        self._toolsets = list(toolsets)
        #: tools that exist elsewhere but not here, and why (subagents cannot spawn)
        self.refused = dict(refused or {})
        self.context = context
        self.mode = mode
        self.approver = approver

    def add_toolsets(self, toolsets: Sequence[Toolset]) -> None:
        """More toolsets for this turn (a recipe's extensions), added by ``prepare``."""
        self._toolsets += toolsets

    async def prepare(self) -> None:
        """Add the tools of the toolsets (starting the extensions they need); a name that
        is taken already keeps its tool. Nothing starts in ``chat`` mode, which offers no
        tools at all."""
        toolsets, self._toolsets = self._toolsets, []
        if self.mode == "chat":
            return
        for toolset in toolsets:
            for tool in await toolset.tools():
                self.tools.setdefault(tool.name, tool)

    def specs(self) -> list[ToolSpec]:
        """What the model is offered: nothing at all in ``chat`` mode."""
        return [] if self.mode == "chat" else [tool.spec() for tool in self.tools.values()]

    async def run(self, call: ToolCall) -> tuple[ToolResult, Failure | None]:
        """Run ``call``; its result is scrubbed before the model, the notebook or the
        history sees it."""
        outcome = await self._outcome(call)
        result = ToolResult(tool_call_id=call.id, name=call.name,
                            content=self.context.scrub(outcome.content),
                            is_error=outcome.failure is not None, images=outcome.images,
                            changed=dict(outcome.changed))
        return result, outcome.failure

    async def _outcome(self, call: ToolCall) -> ToolOutcome:
        if call.name in self.refused:
            return ToolOutcome(f"{call.name} is not available: {self.refused[call.name]}",
                               Failure("unknown_tool", call.name))
        tool = self.tools.get(call.name) if self.mode != "chat" else None
        if tool is None:
            available = ", ".join(self.tools) if self.mode != "chat" else "none (chat mode)"
            return ToolOutcome(f"unknown tool {call.name!r}; available tools: {available}",
                               Failure("unknown_tool", call.name))
        if call.arguments is None:
            return ToolOutcome(
                f"the arguments of {call.name} are not a JSON object: {call.raw_arguments[:300]!r}",
                Failure("bad_arguments", "not a JSON object"),
            )
        try:
            arguments = tool.arguments.model_validate(call.arguments)
        except ValidationError as error:
            detail = _validation_message(error)
            return ToolOutcome(f"invalid arguments for {call.name}: {detail}",
                               Failure("bad_arguments", detail[:200]))
        if needs_approval(self.mode, tool, arguments, self.context):
            approval = await self.approver(tool, call)
            if not approval.allowed:
                return ToolOutcome(approval.reason or DECLINED)
        try:
            return await tool.run(arguments, self.context)
        except Exception as error:  # a bug of ours must not end the user's turn
            logger.exception("tool %s failed", call.name)
            return ToolOutcome(f"{call.name} failed inside goose_nb: {type(error).__name__}: "
                               f"{error}", Failure("tool_error", type(error).__name__))
