"""The session's extensions: what config.yaml and the notebook configure, which are
enabled, and one server each, started when the first turn that offers tools needs it.

Rules, as Goose's users know them:

- a server that cannot start is reported in one line and the turn goes on without it; it
  is tried again only when the user asks (``%goose extensions enable NAME``, a reload);
- a server that stops while the session uses it is restarted once, on its next use, and
  if it stops again it stays stopped until the user asks;
- ``enable`` / ``disable`` in the notebook win over config.yaml's ``enabled``, and last
  until the kernel ends (config.yaml itself is never written).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from goose_nb.errors import ExtensionError
from goose_nb.extensions.config import GOOSE_BUILTINS, ExtensionConfig, extension_key
from goose_nb.extensions.server import ExtensionServer
from goose_nb.extensions.tools import extension_tools
from goose_nb.secrets import MIN_SECRET_LENGTH, environment_secrets, url_secrets
from goose_nb.tools.base import Tool

logger = logging.getLogger("goose_nb.extensions")

#: restarts of a crashed server (on its next use) before it stays stopped
MAX_RESTARTS = 1


@dataclass(frozen=True)
class ExtensionRow:
    """One line of ``%goose extensions``."""

    name: str
    origin: str
    enabled: bool
    status: str
    tools: tuple[str, ...]


class Extensions:
    """Every extension the session knows, and the servers of those that run."""

    def __init__(self, *, environ: Callable[[], Mapping[str, str]],
                 scrub: Callable[[str], str], report: Callable[[str], None],
                 platform: bool = False) -> None:
        #: whether the platform tools (search, resources) come with the extensions' own:
        #: the session's set has them, a recipe's run-only set does not
        self._platform = platform
        self._environ = environ
        self._scrub = scrub
        #: how a problem reaches the user: a warning in the cell that met it
        self._report = report
        self._configs: dict[str, ExtensionConfig] = {}
        self._switched: dict[str, bool] = {}
        self._servers: dict[str, ExtensionServer] = {}
        #: entries that could not be read (from config.yaml), shown by ``%goose extensions``
        self.problems: list[str] = []
        self._reported: set[str] = set()
        #: one turn at a time starts servers (parallel subagents share the parent's set)
        self._starting: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    # configuration -----------------------------------------------------------------

    def configure(self, entries: Sequence[ExtensionConfig], problems: Sequence[str]) -> None:
        """config.yaml's entries, on every (re)load: they replace the earlier ones; the
        notebook's own stay. A server whose entry changed or went is stopped before the
        next turn uses the extensions."""
        kept = {key: c for key, c in self._configs.items() if c.origin != "config.yaml"}
        for entry in entries:
            kept.setdefault(entry.key, entry)
        self._configs = kept
        self.problems = list(problems)
        self._reported.clear()

    def add(self, config: ExtensionConfig) -> None:
        """A notebook's own extension (``%goose extensions add``), enabled."""
        key = config.key
        if key in self._configs and self._configs[key].origin != "notebook":
            raise ExtensionError(f"an extension named {config.name} exists already (from "
                                 f"{self._configs[key].origin}); choose another name")
        self._configs[key] = config
        self._switched.pop(key, None)

    def enable(self, name: str) -> None:
        """Enable ``name`` for this session; a failed server is tried again."""
        key = self._known(name)
        self._switched[key] = True
        server = self._servers.get(key)
        if server is not None and server.status == "failed":
            server.restarts, server.crashed = 0, False
            server.status = "not started"

    def disable(self, name: str) -> None:
        self._switched[self._known(name)] = False

    def _known(self, name: str) -> str:
        key = extension_key(name)
        if key not in self._configs:
            known = ", ".join(sorted(c.name for c in self._configs.values())) or "none"
            raise ExtensionError(f"no extension named {name!r} (configured: {known}); "
                                 "`%goose extensions` lists them")
        return key

    def named(self, names: Sequence[str]) -> tuple[list[ExtensionConfig], list[str]]:
        """What a recipe's bare extension names (``- github``) stand for in this session:
        a configured extension that is disabled here, enabled for the recipe's run; one
        of Goose's builtins; or a problem line for a name nobody configured. An enabled
        extension is left out, since the run already has it."""
        configs: list[ExtensionConfig] = []
        problems: list[str] = []
        for name in names:
            key = extension_key(name)
            config = self._configs.get(key)
            if config is None and key in GOOSE_BUILTINS:
                configs.append(ExtensionConfig(name=key, type="builtin", origin="recipe"))
            elif config is None:
                problems.append(f"the recipe's extension {name!r} is not configured; add it "
                                f"to config.yaml's extensions, or run `%goose extensions add "
                                f"{key} -- CMD ARGS`; the run goes on without it")
            elif not self.enabled(config):
                configs.append(config.model_copy(update={"enabled": True,
                                                         "origin": "recipe"}))
        return configs, problems

    def enabled(self, config: ExtensionConfig) -> bool:
        return self._switched.get(config.key, config.enabled)

    # running -----------------------------------------------------------------------

    async def tools(self) -> list[Tool[Any]]:
        """The tools of every enabled extension, starting the servers that are not
        running yet (together, each within its own timeout). A problem is reported once
        and costs only that extension."""
        async with self._lock():
            return await self._started_tools()

    def _lock(self) -> asyncio.Lock:
        """The lock of the running loop (goose_nb's loop starts again after a close)."""
        loop = asyncio.get_running_loop()
        if self._starting is None or self._starting[0] is not loop:
            self._starting = (loop, asyncio.Lock())
        return self._starting[1]

    async def _started_tools(self) -> list[Tool[Any]]:
        await self._stop_stale()
        for problem in self.problems:
            self._report_once(problem)
        wanted: list[ExtensionServer] = []
        for config in self._configs.values():
            if not self.enabled(config) or config.is_notebook_tools:
                continue
            unusable = config.problem()
            if unusable is not None:
                self._report_once(f"extension {config.name} is not available: {unusable}")
                continue
            wanted.append(self._server(config))
        await asyncio.gather(*(self._ensure_running(server) for server in wanted))
        running = [server for server in wanted if server.status == "running"]
        tools = [tool for server in running for tool in extension_tools(server)]
        if self._platform and running:
            from goose_nb.extensions.platform import platform_tools

            tools += platform_tools(self)
        return tools

    def resource_servers(self, name: str = "") -> list[ExtensionServer]:
        """The running servers that offer resources (only ``name``'s, when given)."""
        if name:
            key = self._known(name)
            server = self._servers.get(key)
            if server is None or server.status != "running":
                raise ExtensionError(f"extension {name} is not running")
            if not server.has_resources:
                raise ExtensionError(f"extension {name} offers no resources")
            return [server]
        return [server for server in self._servers.values()
                if server.status == "running" and server.has_resources]

    def _server(self, config: ExtensionConfig) -> ExtensionServer:
        server = self._servers.get(config.key)
        if server is None:
            server = ExtensionServer(config, environ=self._environ(), cwd=Path.cwd(),
                                     scrub=self._scrub)
            self._servers[config.key] = server
        return server

    async def _ensure_running(self, server: ExtensionServer) -> None:
        if server.status == "running":
            return
        if server.status == "failed":
            if not server.crashed or server.restarts >= MAX_RESTARTS:
                return  # not started again until the user asks
            server.restarts += 1
            self._report(f"extension {server.name} {server.reason}; restarting it")
        try:
            await server.start()
        except ExtensionError as exc:
            self._report(f"{exc}; this turn goes on without it")

    async def _stop_stale(self) -> None:
        """Stop the servers whose extension was disabled, removed or reconfigured."""
        stale = [key for key, server in self._servers.items()
                 if self._configs.get(key) != server.config
                 or not self.enabled(server.config)]
        for key in stale:
            await self._servers.pop(key).stop()

    async def stop_all(self) -> None:
        """Stop every server (a reset, the kernel's end); they start again when needed."""
        servers, self._servers = list(self._servers.values()), {}
        await asyncio.gather(*(server.stop() for server in servers))

    @property
    def started(self) -> bool:
        """Whether any server was started (and so may need stopping)."""
        return bool(self._servers)

    def _report_once(self, text: str) -> None:
        if text not in self._reported:
            self._reported.add(text)
            self._report(text)

    def secrets(self) -> list[str]:
        """What the extensions' configuration holds that is secret: ``envs`` named like
        secrets, the values ``env_keys`` pass on (Goose keeps them in its keyring), every
        header value (``Authorization: Bearer …``) and a ``uri``'s userinfo."""
        environ = self._environ()
        found: list[str] = []
        for config in self._configs.values():
            found += environment_secrets(config.envs)
            found += [environ[key] for key in config.env_keys
                      if len(environ.get(key, "").strip()) >= MIN_SECRET_LENGTH]
            for value in config.headers.values():
                # "Bearer TOKEN": the whole value, and the credential alone
                found += [part for part in (value, *value.split(None, 1)[1:])
                          if len(part.strip()) >= MIN_SECRET_LENGTH]
            if config.uri:
                found += url_secrets(config.uri)
        return found

    # showing -----------------------------------------------------------------------

    def described(self) -> list[tuple[ExtensionRow, str]]:
        """Each extension's row with its description (for the model's search)."""
        descriptions = [config.description for config in self._configs.values()]
        return list(zip(self.rows(), descriptions, strict=True))

    def rows(self) -> list[ExtensionRow]:
        """Each extension: where it came from, enabled or not, its status, its tools."""
        rows = []
        for config in self._configs.values():
            server = self._servers.get(config.key)
            tools: tuple[str, ...] = ()
            if config.is_notebook_tools:
                status = "builtin: goose_nb's notebook tools"
            elif (problem := config.problem()) is not None:
                status = f"unavailable: {problem}"
            elif server is None or server.status == "not started":
                status = "not started"
            else:
                status = server.status + (f": {server.reason}" if server.reason else "")
                tools = tuple(tool.name for tool in extension_tools(server))
            rows.append(ExtensionRow(config.name, config.origin, self.enabled(config),
                                     status, tools))
        return rows
