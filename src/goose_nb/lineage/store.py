"""The lineage record: one entry per tool call of the session's own turns; a python call's
entry names the user's variables it bound, rebound or changed.

The session feeds it the events of its own turns (the step's model and role from
``StepStarted``; the code, and the changed names with the fingerprints the python tool
took right after the call, from ``ToolCallFinished``) and, after each
of the user's cells, a look at the variables the agent touched (``after_cell``): a
fingerprint that differs from the one the agent left says the user's code changed it, and
the kernel's execution counter says in which cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from goose_nb.events import Event, Role, StepStarted, ToolCallFinished
from goose_nb.messages import ModelRef
from goose_nb.tools.fingerprints import Fingerprint, fingerprints


@dataclass(frozen=True)
class LineageEntry:
    """One tool call of the agent in the session's own turns; for the python tool, the
    code and the variables it bound, rebound or changed."""

    turn: int
    step: int
    model: ModelRef | None
    role: Role | None
    code: str
    names: tuple[str, ...]
    #: the kernel's execution count of the cell the call ran in (None outside a kernel)
    cell: int | None
    failed: bool
    tool: str = "python"
    arguments: Mapping[str, Any] = field(default_factory=dict)
    #: the changed variables' fingerprints right after the call (``check.py`` compares)
    after: Mapping[str, Fingerprint] = field(default_factory=dict)


@dataclass(frozen=True)
class VariableLineage:
    """``session.lineage(name)``: the steps that touched a variable, newest first, and the
    user's cells that changed it after the last of them."""

    name: str
    steps: list[LineageEntry]
    changed_by_cells: list[UserChange]


@dataclass(frozen=True)
class UserChange:
    """A variable the agent made, changed afterwards by the user's own cell ``cell``."""

    name: str
    cell: int | None


class Lineage:
    """The record of one session."""

    def __init__(self) -> None:
        #: every tool call of the session's turns, in order (``export.py`` reads them)
        self.calls: list[LineageEntry] = []
        self.user_changes: list[UserChange] = []
        self._steps: dict[tuple[int, int], StepStarted] = {}
        #: what each tracked variable looked like when the agent or a user cell left it
        self._left: dict[str, Fingerprint] = {}

    def hear(self, event: Event, cell: int | None) -> None:
        """Take one event of the session's own turns."""
        if isinstance(event, StepStarted):
            self._steps[event.turn, event.step] = event
        elif isinstance(event, ToolCallFinished):
            step = self._steps.get((event.turn, event.step))
            arguments = event.call.arguments or {}
            marks = event.result.changed  # taken by the tool, right after the call
            self.calls.append(LineageEntry(
                turn=event.turn, step=event.step, model=step.model if step else None,
                role=step.role if step else None, code=str(arguments.get("code", "")),
                names=tuple(marks), cell=cell, failed=event.result.is_error,
                tool=event.call.name, arguments=arguments, after=marks))
            self._left.update(marks)

    def after_cell(self, namespace: Mapping[str, Any], cell: int | None) -> None:
        """After a cell ran: note the tracked variables it changed (an agent's own cell
        changes them too, but its steps already left their fingerprints)."""
        present = {n: namespace[n] for n in self._left if n in namespace}
        now = fingerprints(present)
        for name, mark in now.items():
            if self._left.get(name) != mark:
                self.user_changes.append(UserChange(name, cell))
                self._left[name] = mark

    def result_of(self, name: str, turns: Sequence[int]) -> Fingerprint | None:
        """What ``name`` looked like after the agent's last step on it in ``turns``."""
        return next((call.after.get(name) for call in reversed(self.calls)
                     if call.turn in turns and name in call.after), None)

    def of(self, name: str) -> VariableLineage:
        return VariableLineage(name, self.chain(name), self.changed_since(name))

    def chain(self, name: str) -> list[LineageEntry]:
        """The agent's steps that touched ``name``, newest first."""
        return [entry for entry in reversed(self.calls) if name in entry.names]

    def changed_since(self, name: str) -> list[UserChange]:
        """The user's cells that changed ``name`` after the agent's last step on it."""
        chain = self.chain(name)
        if not chain:
            return []
        last = chain[0].cell
        return [change for change in self.user_changes if change.name == name
                and (last is None or change.cell is None or change.cell >= last)]
