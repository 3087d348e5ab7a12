"""The file tools: ``read_file``, ``write_file`` and ``edit_file``.

Paths are relative to the kernel's working folder, as they are for the user's own code.
Errors come back to the model as text it can act on ("no such file", "the snippet appears
twice: include more context"), classified as ``file_error`` or ``permission_error``.

``write_file`` and ``edit_file`` change files only inside the workspace
(``GOOSE_NB_WORKSPACE``, by default the folder the session started in); ``read_file``
reads anywhere, but outside the workspace it asks first in ``smart_approve``. The
``shell`` and ``python`` tools are not confined: the workspace guards against a model's
slip with a path, it is not a sandbox.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from goose_nb.failures import Failure
from goose_nb.tools.base import Tool, ToolContext, ToolOutcome, cap

MAX_READ_BYTES = 200_000
MAX_READ_LINES = 2_000


class ReadFileArgs(BaseModel):
    path: str = Field(description="File path, relative to the notebook's folder")
    start_line: int = Field(default=1, ge=1, description="First line to read (1-based)")
    end_line: int | None = Field(default=None, ge=1, description="Last line to read")


class WriteFileArgs(BaseModel):
    path: str = Field(description="File path, relative to the notebook's folder")
    content: str = Field(description="The whole new content of the file")


class EditFileArgs(BaseModel):
    path: str = Field(description="File path, relative to the notebook's folder")
    old: str = Field(description="The exact text to replace; must occur exactly once")
    new: str = Field(description="The text to put in its place")


def os_failure(error: OSError, path: str) -> ToolOutcome:
    """An OSError as the model should see it, and its failure kind."""
    if isinstance(error, PermissionError):
        return ToolOutcome(f"permission denied: {path}", Failure("permission_error", path))
    reason = error.strerror or type(error).__name__
    return ToolOutcome(f"cannot access {path}: {reason}", Failure("file_error", reason))


async def read_file(args: ReadFileArgs, context: ToolContext) -> ToolOutcome:
    path = context.resolve(args.path)
    try:
        if path.stat().st_size > MAX_READ_BYTES and args.end_line is None:
            size = path.stat().st_size
            return ToolOutcome(
                f"{args.path} is {size:,} bytes; read it in parts with start_line/end_line",
                Failure("file_error", "file too large"),
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ToolOutcome(f"{args.path} is not UTF-8 text", Failure("file_error", "not text"))
    except OSError as error:
        return os_failure(error, args.path)
    lines = text.splitlines()
    end = min(args.end_line or len(lines), len(lines), args.start_line + MAX_READ_LINES - 1)
    chosen = lines[args.start_line - 1 : end]
    header = f"{args.path} (lines {args.start_line}-{end} of {len(lines)})"
    return ToolOutcome(cap(header + "\n" + "\n".join(chosen)))  # a line can be megabytes


def outside_workspace(path: str, context: ToolContext) -> ToolOutcome:
    """The refusal of a change outside the workspace, as the model should read it."""
    return ToolOutcome(
        f"{path} is outside the workspace {context.workspace} (after resolving '..' and "
        "links); write inside it, or tell the user, who can set GOOSE_NB_WORKSPACE",
        Failure("permission_error", "outside the workspace"))


def reads_outside_workspace(args: ReadFileArgs, context: ToolContext) -> bool:
    return not context.in_workspace(context.resolve(args.path))


async def write_file(args: WriteFileArgs, context: ToolContext) -> ToolOutcome:
    path = context.resolve(args.path)
    if not context.in_workspace(path):
        return outside_workspace(args.path, context)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(args.content, encoding="utf-8")
    except OSError as error:
        return os_failure(error, args.path)
    return ToolOutcome(f"wrote {len(args.content):,} characters to {args.path}")


async def edit_file(args: EditFileArgs, context: ToolContext) -> ToolOutcome:
    path = context.resolve(args.path)
    if not context.in_workspace(path):
        return outside_workspace(args.path, context)
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return ToolOutcome(f"{args.path} is not UTF-8 text", Failure("file_error", "not text"))
    except OSError as error:
        return os_failure(error, args.path)
    # the model sees and sends "\n"; a CRLF file is edited as such and keeps its CRLF
    newline = "\r\n" if "\r\n" in raw else "\n"
    text = raw.replace("\r\n", "\n")
    count = text.count(args.old) if args.old else 0
    if count != 1:
        problem = "does not occur" if count == 0 else f"occurs {count} times"
        return ToolOutcome(
            f"the text to replace {problem} in {args.path}; "
            + ("read the file and copy the text exactly" if count == 0
               else "include more surrounding lines so it occurs once"),
            Failure("file_error", "snippet not found" if count == 0 else "snippet not unique"),
        )
    try:
        path.write_text(text.replace(args.old, args.new, 1), encoding="utf-8", newline=newline)
    except OSError as error:
        return os_failure(error, args.path)
    return ToolOutcome(f"replaced 1 occurrence in {args.path}")


READ_FILE_TOOL = Tool(
    name="read_file",
    description="Read a UTF-8 text file, optionally a range of lines.",
    arguments=ReadFileArgs,
    run=read_file,
    read_only=True,
    asks=reads_outside_workspace,
)
WRITE_FILE_TOOL = Tool(
    name="write_file",
    description="Create a file or overwrite it with new content (folders are created).",
    arguments=WriteFileArgs,
    run=write_file,
)
EDIT_FILE_TOOL = Tool(
    name="edit_file",
    description="Replace one exact snippet of a file with new text; the snippet must occur "
    "exactly once.",
    arguments=EditFileArgs,
    run=edit_file,
)
