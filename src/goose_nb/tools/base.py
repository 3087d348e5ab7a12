"""What a tool is, what it gets to work with, and what it gives back."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from goose_nb.failures import Failure
from goose_nb.messages import ToolImage, ToolSpec

#: what a tool result sent to the model may hold; longer output keeps its head and tail
MAX_RESULT_CHARS = 20_000

Args = TypeVar("Args", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """The text the model gets back, the images it also sees, and the failure if the
    tool did not do its job."""

    content: str
    failure: Failure | None = None
    images: tuple[ToolImage, ...] = ()
    #: the user's variables the call bound, rebound or changed (the python tool's), each
    #: with its fingerprint after the call (``fingerprints.py``)
    changed: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)


@dataclass
class ToolContext:
    """Where tools act: the Python namespace, the working folder, a way to run a
    function on the kernel's main thread (where the user's own code runs), and the
    session's scrubber, for what a tool shows or returns (it may print the environment)."""

    namespace: dict[str, Any]
    run_in_main: Callable[[Callable[[], Any]], Awaitable[Any]]
    scrub: Callable[[str], str]
    cwd: Path = field(default_factory=Path.cwd)
    #: the folder the file tools may change (``GOOSE_NB_WORKSPACE``)
    workspace: Path = field(default_factory=Path.cwd)
    #: names that are the environment's, not the user's (IPython's ``user_ns_hidden``)
    hidden: frozenset[str] = frozenset()
    #: note which of the user's variables each python call changes (the user's own
    #: namespace only: a subagent's copy is neither the user's nor worth copying whole)
    track_changes: bool = False

    def resolve(self, path: str) -> Path:
        """A path as the user means it: relative to the kernel's working folder."""
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.cwd / candidate

    def in_workspace(self, path: Path) -> bool:
        """Whether ``path`` is inside the workspace once ``..`` and symlinks are resolved
        (a link inside the workspace that points outside it is outside)."""
        return path.resolve().is_relative_to(self.workspace.resolve())


@dataclass(frozen=True)
class Tool(Generic[Args]):
    """A tool the model can call. ``arguments`` is a pydantic model: its JSON schema is
    what the model is shown, and validating against it is how bad arguments are caught."""

    name: str
    description: str
    arguments: type[Args]
    run: Callable[[Args, ToolContext], Awaitable[ToolOutcome]]
    read_only: bool = False
    #: for a read-only tool, the calls that still need approval in ``smart_approve``
    #: (``read_file`` outside the workspace)
    asks: Callable[[Args, ToolContext], bool] | None = None
    #: the JSON schema the model is shown, when it is not ``arguments``'s own: an
    #: extension's tool, whose server gives its schema (and checks the arguments itself)
    parameters: Mapping[str, Any] | None = None

    def spec(self) -> ToolSpec:
        """What the model is shown: built once per tool (every step sends it)."""
        if self.parameters is not None:
            return ToolSpec(name=self.name, description=self.description,
                            parameters=dict(self.parameters))
        return _tool_spec(self.name, self.description, self.arguments)


class AnyArguments(BaseModel):
    """The arguments of a tool whose schema is not ours (``Tool.parameters``): any JSON
    object, passed on as it came."""

    model_config = ConfigDict(extra="allow")


class Toolset(Protocol):
    """Tools that exist only once something has started: an extension's, listed by its
    server when the first turn that offers tools starts it."""

    async def tools(self) -> Sequence[Tool[Any]]: ...


@functools.lru_cache(maxsize=1024)
def _tool_spec(name: str, description: str, arguments: type[BaseModel]) -> ToolSpec:
    """A pydantic JSON schema takes milliseconds to build; a session's tools are few and
    fixed, and a step sends all of them, so each spec is built once and shared (ToolSpec is
    frozen, and its schema is only ever serialized)."""
    schema = arguments.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return ToolSpec(name=name, description=description, parameters=schema)


def cap(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """Keep the head and the tail of a long text, saying how much was left out."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… [{len(text) - limit:,} characters left out] …\n{text[-half:]}"
