"""An agent served over MCP, standing in for OpenAI's Codex CLI (``codex mcp``), written
with the SDK.

It offers the two tools the Codex server offers, with the same names and arguments:
``codex`` (``prompt``, and optionally ``cwd`` and ``model``) starts a conversation and
answers it; ``codex-reply`` (``conversationId``, ``prompt``) goes on with one. The "agent"
does real work on the folder it is run in: asked to analyze a codebase, it walks the folder
and reports the files it finds per extension and the largest one. A prompt that says
"sleep N" waits N seconds first (for parallel runs); one that says "refuse" fails the call
(an error result, as a real agent's failure comes back).
"""

from __future__ import annotations

import itertools
import re
import time
import uuid
from collections import Counter
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("goose-nb-test-agent")
conversations: dict[str, list[str]] = {}
numbers = itertools.count(1)


def analyze(folder: Path) -> str:
    files = [p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts]
    kinds = Counter(p.suffix or "(none)" for p in files)
    largest = max(files, key=lambda p: p.stat().st_size, default=None)
    kinds_text = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    head = f"{len(files)} files ({kinds_text})" if files else "no files"
    tail = f"; largest: {largest.relative_to(folder)}" if largest else ""
    return f"{head}{tail}"


def answer(prompt: str, folder: Path) -> str:
    if match := re.search(r"sleep (\d+(?:\.\d+)?)", prompt):
        time.sleep(float(match.group(1)))
    if "refuse" in prompt:
        raise ToolError("the agent refuses this task: it would change files outside "
                           "its sandbox")
    work = analyze(folder) if re.search(r"analy[sz]e|structure", prompt) else "done"
    return f"Codebase of {folder.name}: {work}"


@server.tool()
def codex(prompt: str, cwd: str | None = None, model: str | None = None) -> str:
    """Run a Codex session: the agent does the task in `prompt` and answers."""
    conversation = str(uuid.UUID(int=next(numbers)))
    conversations[conversation] = [prompt]
    reply = answer(prompt, Path(cwd) if cwd else Path.cwd())
    return f"{reply}\n(conversationId {conversation})"


@server.tool(name="codex-reply")
def codex_reply(conversationId: str, prompt: str) -> str:
    """Continue a Codex conversation with another prompt."""
    if conversationId not in conversations:
        raise ToolError(f"no conversation {conversationId}")
    conversations[conversationId].append(prompt)
    return answer(prompt, Path.cwd())


if __name__ == "__main__":
    server.run("stdio")
