"""Goose's extension entries, read exactly as Goose writes them in ``config.yaml``.

Goose keeps its extensions under one top-level ``extensions:`` map, keyed by name; each
entry is Goose's ``ExtensionEntry``: ``enabled`` beside the extension's own fields, tagged
by ``type``::

    extensions:
      time:
        enabled: true
        type: stdio
        name: time
        cmd: uvx
        args: [mcp-server-time]
        envs: {}
        env_keys: []
        timeout: 300
      docs:
        enabled: false
        type: streamable_http
        uri: http://localhost:8000/mcp
        headers: {Authorization: Bearer ...}

``stdio`` servers are run as commands, ``streamable_http`` and ``sse`` servers are reached at
their ``uri``, and ``builtin`` names one of Goose's own extensions (``developer`` is
goose_nb's notebook tools; the others are listed as unavailable). Fields Goose writes that
goose_nb does not use (``bundled``, ``display_name``) are read and kept, never an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

#: Goose's default for an extension's ``timeout`` (seconds)
DEFAULT_TIMEOUT = 300

#: the extension types goose_nb runs as MCP servers
SERVER_TYPES = frozenset({"stdio", "streamable_http", "sse"})

#: Goose's builtin extension that goose_nb's own tools stand for
NOTEBOOK_BUILTIN = "developer"

#: Goose's own builtin extensions, which a recipe may name without configuring them
GOOSE_BUILTINS = frozenset({NOTEBOOK_BUILTIN, "computercontroller", "memory", "tutorial",
                            "autovisualiser"})

#: where an extension's configuration came from
Origin = Literal["config.yaml", "recipe", "notebook"]


def extension_key(name: str) -> str:
    """The name as Goose uses it in tool names: without whitespace, lower case
    (``"My Docs"`` -> ``mydocs``, whose tools are ``mydocs__search``)."""
    return "".join(name.split()).lower()


class ExtensionConfig(BaseModel):
    """One extension entry. ``origin`` is goose_nb's own: which file or cell it came from."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    type: str
    enabled: bool = True
    description: str = ""
    display_name: str | None = None
    bundled: bool | None = None
    #: the tools of the server offered to the model (empty: all of them)
    available_tools: tuple[str, ...] = ()
    cmd: str | None = None
    args: tuple[str, ...] = ()
    envs: dict[str, str] = Field(default_factory=dict)
    #: names of environment variables passed on to the server with their values
    env_keys: tuple[str, ...] = ()
    timeout: int = Field(default=DEFAULT_TIMEOUT, ge=1)
    uri: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    origin: Origin = "config.yaml"

    @field_validator("description", mode="before")
    @classmethod
    def _no_description(cls, value: Any) -> Any:
        return "" if value is None else value  # Goose writes ``description: null``

    @field_validator("args", "env_keys", "available_tools", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    @field_validator("envs", "headers", mode="before")
    @classmethod
    def _none_is_no_mapping(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, Mapping):
            return {str(k): "" if v is None else str(v) for k, v in value.items()}
        return value

    @property
    def key(self) -> str:
        return extension_key(self.name)

    @property
    def is_notebook_tools(self) -> bool:
        """Goose's ``developer`` builtin, which goose_nb's own tools stand for."""
        return self.type == "builtin" and self.key == NOTEBOOK_BUILTIN

    @property
    def is_server(self) -> bool:
        return self.type in SERVER_TYPES

    def problem(self) -> str | None:
        """Why this entry cannot be run, in a few words; None when it can."""
        if self.type == "stdio" and not (self.cmd and self.cmd.strip()):
            return "a stdio extension needs a cmd"
        if self.type in ("streamable_http", "sse") and not (self.uri and self.uri.strip()):
            return f"a {self.type} extension needs a uri"
        if self.type == "builtin" and not self.is_notebook_tools:
            return (f"Goose's builtin {self.name!r} is not part of goose_nb (its notebook "
                    f"tools are the {NOTEBOOK_BUILTIN!r} builtin)")
        if not self.is_server and self.type != "builtin":
            return f"extensions of type {self.type!r} are not supported by goose_nb"
        return None


def read_extensions(data: Any, origin: Origin = "config.yaml", where: str = "config.yaml"
                    ) -> tuple[list[ExtensionConfig], list[str]]:
    """The entries of an ``extensions:`` map, and a one-line problem for each entry that
    cannot be read at all (the others still load: one bad entry costs only itself)."""
    if data is None:
        return [], []
    if not isinstance(data, Mapping):
        return [], [f"{where}: extensions: expected a map of extension names to entries, "
                    f"got {type(data).__name__}"]
    entries: list[ExtensionConfig] = []
    problems: list[str] = []
    for name, entry in data.items():
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: extensions.{name}: expected a mapping with a type, "
                            f"got {type(entry).__name__}")
            continue
        fields = {"name": str(name), **{str(k): v for k, v in entry.items()}, "origin": origin}
        if fields.get("type") is None:
            problems.append(f"{where}: extensions.{name}: no type (stdio, streamable_http, "
                            "sse or builtin)")
            continue
        try:
            entries.append(ExtensionConfig.model_validate(fields))
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            problems.append(f"{where}: extensions.{name}.{field}: {error['msg']}")
    return entries, problems
