"""An extension's MCP tools as goose_nb tools: named as Goose names them
(``extension__tool``), with the server's own JSON schema, read-only when the server says so.

A result's content blocks become the text the model reads: text as it is, a resource's text
under its URI, and for images, audio and binary resources a line saying what they are.
Images (PNG, JPEG, GIF, WebP) are also passed on, to the cell's tool block and to the model,
up to ``MAX_IMAGES`` of at most ``MAX_IMAGE_BYTES`` each; the line says when one was not.
``isError``, a JSON-RPC error and a call that outlasts the extension's timeout are failed
calls for the lead/worker policy.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from goose_nb.errors import ExtensionError
from goose_nb.failures import Failure
from goose_nb.messages import ToolImage
from goose_nb.tools.base import AnyArguments, Tool, ToolContext, ToolOutcome, cap

if TYPE_CHECKING:
    import mcp_types

    from goose_nb.extensions.server import ExtensionServer

#: separates the extension's name from the tool's, as in Goose
SEPARATOR = "__"
#: the image types every provider takes
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
#: images per result passed to the model and the notebook, and the size of each
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 1_000_000


#: Goose's own tool prefixes, which name no extension
OWN_PREFIXES = frozenset({"platform", "dynamic_task", "subagent"})


def extension_of(tool_name: str) -> str | None:
    """The extension a tool belongs to, by Goose's naming (``time__get_current_time`` is
    the ``time`` extension's); None for goose_nb's own tools."""
    prefix, separator, _ = tool_name.partition(SEPARATOR)
    return prefix if separator and prefix not in OWN_PREFIXES else None


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
        return ToolOutcome(text, images=result_images(result))

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


def result_images(result: mcp_types.CallToolResult) -> tuple[ToolImage, ...]:
    """The result's images that the model and the notebook are shown, within the budget."""
    images = [ToolImage(mime_type=block.mime_type, data=block.data) for block in result.content
              if block.type == "image" and _image_problem(block) is None]
    return tuple(images[:MAX_IMAGES])


def _image_problem(block: Any) -> str | None:
    """Why an image block is not passed on (None: it is, within the count)."""
    if block.mime_type not in IMAGE_TYPES:
        return "not shown: only PNG, JPEG, GIF and WebP are"
    if _decoded_size(block.data) > MAX_IMAGE_BYTES:
        return f"not shown: larger than {MAX_IMAGE_BYTES:,} bytes"
    return None


def result_text(result: mcp_types.CallToolResult) -> str:
    """What the model reads of a result, capped to the tool result size; an image's line
    says when the image itself is not passed on, and why."""
    parts, images = [], 0
    for block in result.content:
        part = _block_text(block)
        if getattr(block, "type", "") == "image":
            problem = _image_problem(block)
            if problem is None:
                images += 1
                if images > MAX_IMAGES:
                    problem = f"not shown: only the first {MAX_IMAGES} images are"
            part += f" ({problem})" if problem else ""
        parts.append(part)
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
