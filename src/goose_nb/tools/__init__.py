"""The agent's builtin tools. Their names are part of the interface."""

from __future__ import annotations

from goose_nb.tools.base import Tool, ToolContext, ToolOutcome
from goose_nb.tools.files import EDIT_FILE_TOOL, READ_FILE_TOOL, WRITE_FILE_TOOL
from goose_nb.tools.python_exec import PYTHON_TOOL
from goose_nb.tools.shell import SHELL_TOOL
from goose_nb.tools.variables import LIST_VARIABLES_TOOL

BUILTIN_TOOLS: tuple[Tool, ...] = (
    PYTHON_TOOL,
    LIST_VARIABLES_TOOL,
    READ_FILE_TOOL,
    WRITE_FILE_TOOL,
    EDIT_FILE_TOOL,
    SHELL_TOOL,
)

__all__ = ["BUILTIN_TOOLS", "Tool", "ToolContext", "ToolOutcome"]
