"""An MCP server for the cases a real one cannot produce on demand, written with the SDK.

Run as ``python tests/mcp_stub.py [--hang-at-start] [--fail-at-start]``, it serves over stdio:

- ``count`` (read-only): how many times it was called in this process, so a test can tell
  a restarted server from the same one;
- ``crash``: the process exits at once, mid-call, as a server that dies does;
- ``sleep`` (read-only): sleeps ``seconds`` before answering, for a call that outlasts
  its timeout;
- ``huge`` (read-only): ``size`` characters of text;
- ``write_note``: not read-only (so ``smart_approve`` asks for it).

``--hang-at-start`` never answers the handshake; ``--fail-at-start`` writes a line to
stderr and exits before it.
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

READ_ONLY = ToolAnnotations(read_only_hint=True)

server = MCPServer("goose-nb-test-stub")
calls = 0


@server.tool(annotations=READ_ONLY)
def count() -> str:
    """How many times this tool was called in this server process."""
    global calls
    calls += 1
    return f"call {calls} in process {os.getpid()}"


@server.tool()
def crash() -> str:
    """Exit the server process at once."""
    sys.stderr.write("stub: crashing on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool(annotations=READ_ONLY)
def sleep(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return f"slept {seconds} s"


@server.tool(annotations=READ_ONLY)
def huge(size: int) -> str:
    """A long text."""
    return "h" * size


@server.tool()
def write_note(text: str) -> str:
    """Pretend to change something."""
    return f"noted: {text}"


if __name__ == "__main__":
    if "--fail-at-start" in sys.argv:
        sys.stderr.write("stub: cannot open the database at /nowhere/db.sqlite\n")
        sys.exit(2)
    if "--hang-at-start" in sys.argv:
        time.sleep(3600)
    server.run("stdio")
