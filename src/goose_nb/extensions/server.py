"""One extension's MCP server, as the session holds it: started on first use, stopped on
reset or when the kernel ends, on the official ``mcp`` SDK.

The SDK's ``Client`` is an async context manager whose transport runs in anyio task groups,
so it must be entered and left by one task. Each server therefore has an owner task on
goose_nb's background loop that enters the client, lists the tools, says it is ready and
then waits to be told to stop; tool calls from the turns use the client meanwhile. Every
wait is bounded by the extension's ``timeout``, the way Goose bounds it.

What the server writes to stderr goes to a temporary file, so that a server that cannot
start, or stops, is reported with the last words it wrote (scrubbed of secrets).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO, TypeVar

from goose_nb.errors import ExtensionError
from goose_nb.extensions.config import ExtensionConfig

if sys.version_info < (3, 11):  # anyio installs the backport there
    from exceptiongroup import BaseExceptionGroup  # type: ignore[import-not-found]

if TYPE_CHECKING:
    import mcp_types
    from mcp import Client

logger = logging.getLogger("goose_nb.extensions")

Status = Literal["not started", "running", "failed", "stopped"]
T = TypeVar("T")
Page = TypeVar("Page", bound="mcp_types.PaginatedResult")

#: how long a server may take to stop once asked, beyond which its task is cancelled
#: (the SDK's own shutdown closes stdin, then terminates, then kills, each bounded)
STOP_SECONDS = 10.0
#: how much of a server's stderr an error quotes
STDERR_TAIL_CHARS = 400
#: pages of a listing read at most (a server that pages forever is cut off)
MAX_PAGES = 50


class ExtensionServer:
    """The MCP connection of one extension, with its status for ``%goose extensions``."""

    def __init__(self, config: ExtensionConfig, *, environ: Mapping[str, str], cwd: Path,
                 scrub: Callable[[str], str]) -> None:
        self.config = config
        self.status: Status = "not started"
        #: why the server failed or stopped, in one line
        self.reason = ""
        #: the server's tools, as it listed them when it started
        self.tools: list[mcp_types.Tool] = []
        #: whether the server stopped while in use (rather than failing to start), and how
        #: often it was restarted since (Goose's rule: once, on the next use)
        self.crashed = False
        self.restarts = 0
        self._environ = environ
        self._cwd = cwd
        self._scrub = scrub
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None
        self._stderr: TextIO | None = None
        self._environment: dict[str, str] = {}

    @property
    def name(self) -> str:
        return self.config.name

    # starting and stopping ---------------------------------------------------------

    async def start(self) -> None:
        """Start the server and list its tools within the extension's timeout; an
        ``ExtensionError`` (one line: what happened, the stderr tail) if it cannot."""
        await self._end()  # what is left of an earlier start (a crashed server's task)
        if self.config.type == "stdio":
            try:
                self._environment = self._server_environment()
            except ExtensionError as exc:
                raise self._fail(str(exc)) from None
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        self._stop = asyncio.Event()
        # kept open for the server's life, closed by _end()
        self._stderr = tempfile.TemporaryFile(  # noqa: SIM115
            "w+", encoding="utf-8", errors="replace")
        self._task = loop.create_task(self._own(ready), name=f"goose_nb extension {self.name}")
        timeout = self.config.timeout
        try:
            await asyncio.wait_for(asyncio.shield(ready), timeout)
        except asyncio.TimeoutError:
            ready.cancel()  # what the owner task meets now is not waited for
            error = self._fail(f"did not start within {timeout} s (its timeout)")
            # after reading the stderr tail (ending closes it); the owner task is stuck in
            # the handshake, not waiting to be told to stop: it is cancelled at once
            await self._end(cancel=True)
            raise error from None
        except Exception as exc:
            error = self._fail(f"could not start: {describe(exc)}")
            await self._end(cancel=True)
            raise error from None
        self.status, self.reason, self.crashed = "running", "", False
        logger.info("extension %s started: %d tools", self.name, len(self.tools))

    async def _own(self, ready: asyncio.Future[None]) -> None:
        """The owner task: enter the client, list the tools, wait to be told to stop."""
        from importlib.metadata import version

        from mcp import Client
        from mcp_types import Implementation

        assert self._stop is not None
        try:
            async with self._transport() as transport, Client(
                transport, read_timeout_seconds=float(self.config.timeout),
                client_info=Implementation(name="goose_nb", version=version("goose_nb")),
            ) as client:
                self.tools = await _every_page(lambda cursor: client.list_tools(cursor=cursor),
                                               lambda page: page.tools)
                self._client = client
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception)
                                    else ExtensionError("cancelled while starting"))
            elif not self._stop.is_set() and self.status == "running":
                self._crashed(describe(exc))
            if not isinstance(exc, Exception):
                raise
        finally:
            self._client = None

    @contextlib.asynccontextmanager
    async def _transport(self) -> AsyncIterator[Any]:
        """The SDK transport for the extension's type (an HTTP client closed after)."""
        config = self.config
        if config.type == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            assert config.cmd is not None and self._stderr is not None
            parameters = StdioServerParameters(command=config.cmd, args=list(config.args),
                                               env=self._environment,
                                               cwd=self._cwd)
            yield stdio_client(parameters, errlog=self._stderr)
        elif config.type == "sse":
            from mcp.client.sse import sse_client

            assert config.uri is not None
            yield sse_client(config.uri, headers=dict(config.headers),
                             sse_read_timeout=float(config.timeout))
        else:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            assert config.uri is not None
            async with create_mcp_http_client(headers=dict(config.headers)) as http:
                yield streamable_http_client(config.uri, http_client=http)

    def _server_environment(self) -> dict[str, str]:
        """``envs`` as given, and each of ``env_keys`` with its value from the session's
        environment (on top of the SDK's safe defaults: PATH, HOME, ...). A key that is not
        set is an error naming it, as in Goose, rather than a server that fails oddly."""
        environment = dict(self.config.envs)
        for key in self.config.env_keys:
            if key not in self._environ:
                raise ExtensionError(f"env_keys names {key}, which is not set; set it in the "
                                     "environment or remove it from the extension")
            environment[key] = self._environ[key]
        return environment

    async def stop(self) -> None:
        """Ask the owner task to leave the client (which stops the server), within
        ``STOP_SECONDS``; a task that does not finish by then is cancelled."""
        await self._end()
        if self.status == "running":
            self.status, self.reason = "stopped", ""

    async def _end(self, *, cancel: bool = False) -> None:
        """End the owner task: told to stop (or, with ``cancel``, cancelled), within
        ``STOP_SECONDS`` each; then close the stderr file."""
        task, self._task = self._task, None
        if self._stop is not None:
            self._stop.set()
        if task is not None and not task.done():
            done = set() if cancel else (await asyncio.wait({task}, timeout=STOP_SECONDS))[0]
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=STOP_SECONDS)
        self._client = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    # calling -----------------------------------------------------------------------

    async def call(self, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """Call one of the server's tools. A JSON-RPC error comes back as an error result
        (the model can act on it); a call that outlasts the timeout, or a server that is
        gone, is an ``ExtensionError``."""
        from mcp.shared.exceptions import MCPError
        from mcp_types import CallToolResult, TextContent
        from mcp_types.jsonrpc import CONNECTION_CLOSED, REQUEST_TIMEOUT

        client = self._require_client()
        timeout = self.config.timeout
        try:
            return await asyncio.wait_for(
                client.call_tool(tool, arguments, read_timeout_seconds=float(timeout)),
                timeout + 1)
        except MCPError as exc:
            if exc.error.code == REQUEST_TIMEOUT:
                raise self._too_slow(tool) from None
            if exc.error.code == CONNECTION_CLOSED:
                self._crashed("its connection closed")
                raise self._fail_message() from None
            text = f"MCP error {exc.error.code}: {exc.error.message}"
            return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        except asyncio.TimeoutError:
            raise self._too_slow(tool) from None
        except Exception as exc:
            self._crashed(describe(exc))
            raise self._fail_message() from None

    @property
    def has_resources(self) -> bool:
        client = self._client
        return client is not None and client.server_capabilities.resources is not None

    async def list_resources(self) -> list[mcp_types.Resource]:
        """The server's resources (every page of them), within the timeout."""
        client = self._require_client()
        pages = _every_page(lambda cursor: client.list_resources(cursor=cursor),
                            lambda page: page.resources)
        return await self._bounded("resources/list", pages)

    async def read_resource(self, uri: str) -> mcp_types.ReadResourceResult:
        client = self._require_client()
        return await self._bounded("resources/read", client.read_resource(uri))

    def _require_client(self) -> Client:
        if self._client is None:
            raise ExtensionError(f"extension {self.name} is not running"
                                 + (f" ({self.reason})" if self.reason else ""))
        return self._client

    async def _bounded(self, what: str, request: Awaitable[T]) -> T:
        """A request within the extension's timeout; a JSON-RPC error as one line."""
        from mcp.shared.exceptions import MCPError

        try:
            return await asyncio.wait_for(request, self.config.timeout)
        except asyncio.TimeoutError:
            raise self._too_slow(what) from None
        except MCPError as exc:
            raise ExtensionError(f"extension {self.name}: {what} failed: MCP error "
                                 f"{exc.error.code}: {exc.error.message}") from None

    # reporting ---------------------------------------------------------------------

    def _too_slow(self, tool: str) -> ExtensionError:
        return ExtensionError(f"extension {self.name}: {tool} did not answer within "
                              f"{self.config.timeout} s (its timeout)")

    def _crashed(self, what: str) -> None:
        self.status, self.crashed = "failed", True
        self.reason = self._scrub(f"stopped unexpectedly ({what}){self._stderr_tail()}")
        logger.warning("extension %s %s", self.name, self.reason)

    def _fail(self, what: str) -> ExtensionError:
        self.status = "failed"
        self.reason = self._scrub(f"{what}{self._stderr_tail()}")
        return self._fail_message()

    def _fail_message(self) -> ExtensionError:
        return ExtensionError(f"extension {self.name}: {self.reason}")

    def _stderr_tail(self) -> str:
        """``; its stderr ends: …`` with the server's last lines, or nothing."""
        stream = self._stderr
        if stream is None or stream.closed:
            return ""
        try:
            stream.flush()
            stream.seek(0)
            text = stream.read()[-STDERR_TAIL_CHARS:]
        except (OSError, ValueError):
            return ""
        lines = [" ".join(line.split()) for line in text.splitlines()]
        tail = " | ".join(line for line in lines if line)
        return f"; its stderr ends: {tail}" if tail else ""


async def _every_page(fetch: Callable[[str | None], Awaitable[Page]],
                      items: Callable[[Page], list[T]]) -> list[T]:
    """The items of a paginated listing (tools, resources), page after page until the
    server gives no next cursor, or ``MAX_PAGES`` have been read."""
    found: list[T] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = await fetch(cursor)
        found.extend(items(page))
        cursor = page.next_cursor
        if not cursor:
            break
    return found


def describe(exc: BaseException) -> str:
    """An exception in a few words; anyio's exception groups by their first real error."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
