"""Goose's platform tools over the extensions: search them, list and read their resources.

Named as Goose names them (``platform__search_available_extensions``,
``platform__list_resources``, ``platform__read_resource``), so prompts and recipes written
for Goose work. Enabling and disabling stay the user's (``%goose extensions``): goose_nb
offers no ``platform__manage_extensions``, and subagents are refused it by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from goose_nb.errors import ExtensionError
from goose_nb.failures import Failure
from goose_nb.tools.base import Tool, ToolContext, ToolOutcome, cap

if TYPE_CHECKING:
    from goose_nb.extensions.registry import Extensions


class SearchArgs(BaseModel):
    query: str = Field(default="", description="Words to look for in names, descriptions "
                                               "and tools (empty: every extension)")


class ListResourcesArgs(BaseModel):
    extension_name: str = Field(default="", description="One extension (empty: all)")


class ReadResourceArgs(BaseModel):
    uri: str = Field(description="The resource's URI, as listed")
    extension_name: str = Field(default="", description="The extension that has it (empty: "
                                                        "the first that offers resources)")


def platform_tools(extensions: Extensions) -> list[Tool[Any]]:
    """The three tools, acting on ``extensions`` (the session's own set)."""

    async def search(args: SearchArgs, context: ToolContext) -> ToolOutcome:
        words = args.query.lower().split()
        lines = []
        for row, description in extensions.described():
            text = " ".join([row.name, description, *row.tools]).lower()
            if all(word in text for word in words):
                state = "enabled" if row.enabled else "disabled (the user can enable it)"
                tools = ", ".join(row.tools) or "none listed yet"
                lines.append(f"- {row.name} ({state}; {row.status}): {description or '-'}; "
                             f"tools: {tools}")
        return ToolOutcome("\n".join(lines) or f"no extension matches {args.query!r}")

    async def list_resources(args: ListResourcesArgs, context: ToolContext) -> ToolOutcome:
        try:
            servers = extensions.resource_servers(args.extension_name)
            lines = []
            for server in servers:
                for resource in await server.list_resources():
                    about = f": {resource.description}" if resource.description else ""
                    lines.append(f"- [{server.name}] {resource.uri} ({resource.name}){about}")
        except ExtensionError as exc:
            return ToolOutcome(str(exc), Failure("tool_error", "platform__list_resources"))
        return ToolOutcome(cap("\n".join(lines) or "no extension lists any resources"))

    async def read_resource(args: ReadResourceArgs, context: ToolContext) -> ToolOutcome:
        try:
            servers = extensions.resource_servers(args.extension_name)
            if not servers:
                raise ExtensionError("no running extension offers resources")
            result = await servers[0].read_resource(args.uri)
        except ExtensionError as exc:
            return ToolOutcome(str(exc), Failure("tool_error", "platform__read_resource"))
        parts = []
        for contents in result.contents:
            text = getattr(contents, "text", None)
            mime = contents.mime_type or "binary"
            parts.append(text if text is not None else
                         f"[{mime} resource {contents.uri}, not text]")
        return ToolOutcome(cap("\n".join(parts)))

    return [
        Tool("platform__search_available_extensions",
             "Search the extensions configured for this notebook (enabled or not): their "
             "names, descriptions and tools. Only the user enables or disables them.",
             SearchArgs, search, read_only=True),
        Tool("platform__list_resources",
             "List the resources (documents, data) the running extensions offer.",
             ListResourcesArgs, list_resources, read_only=True),
        Tool("platform__read_resource",
             "Read one resource of a running extension by its URI.",
             ReadResourceArgs, read_resource, read_only=True),
    ]
