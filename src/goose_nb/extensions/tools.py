"""An extension's MCP tools as goose_nb tools: named as Goose names them
(``extension__tool``), with the server's own JSON schema, read-only when the server says so.

A result's content blocks become the text the model reads: text as it is, a resource's text
under its URI, and for images, audio and binary resources a line saying what they are (the
model is told of them; the bytes stay out of the context). ``isError``, a JSON-RPC error and
a call that outlasts the extension's timeout are failed calls for the lead/worker policy.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from goose_nb.errors import ExtensionError
from goose_nb.failures import Failure
from goose_nb.tools.base import AnyArguments, Tool, ToolContext, ToolOutcome, cap

if TYPE_CHECKING:
    import mcp_types

    from goose_nb.extensions.server import ExtensionServer

#: separates the extension's name from the tool's, as in Goose
SEPARATOR = "__"


def extension_tools(server: ExtensionServer) -> list[Tool[AnyArguments]]:
    """The tools of a running server that its configuration offers (``available_tools``,
    when given, chooses among them)."""
    allowed = set(server.config.available_tools)
    return [_tool(server, listed) for listed in server.tools
            if not allowed or listed.name in allowed]


def _tool(server: ExtensionServer, listed: mcp_types.Tool) -> Tool[AnyArguments]:
    name = listed.name
    full_name = f"{server.config.key}{SEPARATOR}{name}"

    async def run(arguments: AnyArguments, context: ToolContext) -> ToolOutcome:
        given = arguments.model_dump()
        problem = schema_problem(listed.input_schema, given)
        if problem is not None:
            return ToolOutcome(f"invalid arguments for {full_name}: {problem}",
                               Failure("bad_arguments", problem[:200]))
        try:
            result = await server.call(name, given)
        except ExtensionError as exc:
            return ToolOutcome(str(exc), Failure("tool_error", f"{full_name}: unavailable"))
        text = result_text(result)
        if result.is_error:
            return ToolOutcome(text or f"{full_name} failed", Failure("tool_error", full_name))
        return ToolOutcome(text)

    annotations = listed.annotations
    return Tool(
        name=full_name,
        description=listed.description or f"{name}, a tool of the {server.name} extension",
        arguments=AnyArguments,
        run=run,
        read_only=bool(annotations and annotations.read_only_hint),
        parameters=listed.input_schema or {"type": "object", "properties": {}},
    )


def schema_problem(schema: dict[str, Any], arguments: dict[str, Any]) -> str | None:
    """The first way ``arguments`` break the tool's JSON schema, in one line; None when
    they fit (or the schema itself is broken: then the server is the judge)."""
    import jsonschema

    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        error = next(iter(validator.iter_errors(arguments)), None)
    except jsonschema.SchemaError:
        return None
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path) or "arguments"
    return f"{where}: {' '.join(error.message.split())}"


def result_text(result: mcp_types.CallToolResult) -> str:
    """What the model reads of a result, capped to the tool result size."""
    parts = [_block_text(block) for block in result.content]
    if not any(parts) and result.structured_content is not None:
        parts = [json.dumps(result.structured_content, ensure_ascii=False, default=str)]
    return cap("\n".join(part for part in parts if part))


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind} {block.mime_type}, {_decoded_size(block.data):,} bytes]"
    if kind == "resource":
        contents = block.resource
        text = getattr(contents, "text", None)
        if text is not None:
            return f"[resource {contents.uri}]\n{text}"
        blob = getattr(contents, "blob", "")
        mime = getattr(contents, "mime_type", None) or "binary"
        return f"[resource {contents.uri}, {mime}, {_decoded_size(blob):,} bytes]"
    if kind == "resource_link":
        return f"[resource link {block.uri}" + (f": {block.name}]" if block.name else "]")
    return f"[{kind or 'unknown'} content]"


def _decoded_size(data: str) -> int:
    """Bytes of a base64 payload, without decoding more than needed to tell."""
    try:
        return len(base64.b64decode(data, validate=False))
    except (ValueError, TypeError):
        return len(data)
