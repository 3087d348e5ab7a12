"""An MCP server for the cases a real one cannot produce on demand, written with the SDK.

Run as ``python tests/mcp_stub.py [--hang-at-start] [--fail-at-start]``, it serves over stdio:

- ``count`` (read-only): how many times it was called in this process, so a test can tell
  a restarted server from the same one;
- ``crash``: the process exits at once, mid-call, as a server that dies does;
- ``sleep`` (read-only): sleeps ``seconds`` before answering, for a call that outlasts
  its timeout;
- ``huge`` (read-only): ``size`` characters of text;
- ``write_note``: not read-only (so ``smart_approve`` asks for it);
- ``pictures`` (read-only): ``count`` images, each a real PNG of one red pixel padded to
  ``size`` bytes, or of another ``format``, for the image budget.

``--hang-at-start`` never answers the handshake; ``--fail-at-start`` writes a line to
stderr and exits before it.
"""

from __future__ import annotations

import os
import struct
import sys
import time
import zlib

from mcp.server.mcpserver import Image, MCPServer
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


def red_pixel_png() -> bytes:
    """A valid PNG of one red pixel."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


@server.tool(annotations=READ_ONLY)
def pictures(count: int = 1, size: int = 0, format: str = "png") -> list[Image]:
    """Images: one red pixel each (padded to `size` bytes after the PNG's end)."""
    data = red_pixel_png()
    data += b"\x00" * max(0, size - len(data))
    return [Image(data=data, format=format) for _ in range(count)]


if __name__ == "__main__":
    if "--fail-at-start" in sys.argv:
        sys.stderr.write("stub: cannot open the database at /nowhere/db.sqlite\n")
        sys.exit(2)
    if "--hang-at-start" in sys.argv:
        time.sleep(3600)
    server.run("stdio")
