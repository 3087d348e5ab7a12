"""Asking the user before a tool runs (``GOOSE_MODE=approve`` / ``smart_approve``).

A plain ``input()`` prompt on the kernel's main thread: it is the one way of asking that
works the same in JupyterLab, Notebook, VS Code and Colab. Where no one can answer (a
notebook executed headless), the call is not run and the model is told why.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from goose_nb.messages import ToolCall
from goose_nb.tools.base import Tool
from goose_nb.tools.runner import Approval, Approver

_YES = {"y", "yes"}
NO_INPUT = (
    "The user could not be asked to approve this call (the notebook has no input), so it "
    "was not run. Set GOOSE_MODE=auto to let tools run without asking."
)


def describe_call(call: ToolCall) -> str:
    """The call as the user should see it before saying yes: code as code."""
    arguments = call.arguments or {}
    if call.name == "python" and isinstance(arguments.get("code"), str):
        return f"```python\n{arguments['code']}\n```"
    if call.name == "shell" and isinstance(arguments.get("command"), str):
        return f"```sh\n{arguments['command']}\n```"
    return f"```json\n{json.dumps(arguments, indent=2, ensure_ascii=False)}\n```"


def ask_on_main_thread(tool: Tool, call: ToolCall) -> Approval:
    """Show the call and ask yes/no with ``input()`` (call on the main thread)."""
    from IPython.core.error import StdinNotImplementedError
    from IPython.display import Markdown, display

    display(Markdown(f"**goose wants to run `{tool.name}`:**\n\n{describe_call(call)}"))
    try:
        answer = input(f"Run {tool.name}? [y/N] ")
    except (StdinNotImplementedError, EOFError, OSError):
        return Approval(False, NO_INPUT)
    return Approval(answer.strip().lower() in _YES)


def ask_yes_no(question: str) -> bool | None:
    """Ask ``question`` with ``input()`` (on the main thread); None when no one can
    answer (a notebook executed headless)."""
    from IPython.core.error import StdinNotImplementedError

    try:
        answer = input(f"{question} [y/N] ")
    except (StdinNotImplementedError, EOFError, OSError):
        return None
    return answer.strip().lower() in _YES


def input_approver(run_in_main: Callable[[Callable[[], Any]], Awaitable[Any]]) -> Approver:
    """An approver that asks on the main thread, where ``input()`` reaches the front end."""

    async def approve(tool: Tool, call: ToolCall) -> Approval:
        return await run_in_main(lambda: ask_on_main_thread(tool, call))

    return approve
