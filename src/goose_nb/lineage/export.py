"""The agent's work as ordinary notebook code: ``%goose export``.

The python calls of the chosen turns, in order, each headed by a comment naming its turn,
step and model, become one code cell (or a script, with the imports the code used gathered
at the top). Calls that failed are left out: their effect, if any, is partial and the
next call was written knowing it failed. Calls that changed none of the user's variables
(a bare expression, a ``print``) are kept only when asked (``include_reads``). Shell and
file tool calls are listed as comments, since they are not Python the cell could run.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from goose_nb.lineage.store import LineageEntry

#: the tools whose calls are listed as comments, with the argument that says what they did
_COMMENTED = {"shell": "command", "write_file": "path", "edit_file": "path",
              "read_file": "path"}


def task_calls(task_id: str, events: Sequence[object]) -> list[LineageEntry]:
    """A subagent task's successful python calls, from its transcript's events, as export
    entries (a subagent changes a copy of the user's variables, so every call is kept)."""
    from goose_nb.events import StepStarted, ToolCallFinished

    models = {}
    calls = []
    for event in events:
        if isinstance(event, StepStarted):
            models[event.turn, event.step] = event.model
        elif (isinstance(event, ToolCallFinished) and event.call.name == "python"
              and not event.result.is_error):
            code = str((event.call.arguments or {}).get("code", ""))
            calls.append(LineageEntry(
                turn=event.turn, step=event.step, model=models.get((event.turn, event.step)),
                role=None, code=code, names=(task_id,), cell=None, failed=False))
    return calls


def chosen_turns(calls: Sequence[LineageEntry], which: str, last_turn: int) -> list[int]:
    """The turns ``which`` names: ``""`` (the last), a number, or ``all``; a one-line
    ``ValueError`` otherwise."""
    if which in ("", "last"):
        return [last_turn] if last_turn else []
    if which == "all":
        return sorted({call.turn for call in calls})
    if which.isdigit() and 1 <= int(which) <= last_turn:
        return [int(which)]
    raise ValueError(f"no turn {which!r}: give a turn number from 1 to {last_turn}, or all")


def _header(call: LineageEntry) -> str:
    model = f" — {call.model}" + (f" ({call.role})" if call.role else "") if call.model else ""
    return f"# turn {call.turn}, step {call.step}{model}"


def exported_calls(calls: Sequence[LineageEntry], turns: Sequence[int], *,
                   include_reads: bool = False) -> list[LineageEntry]:
    """The calls of ``turns`` that go into the export, in the order they ran."""
    wanted = set(turns)
    return [call for call in calls if call.turn in wanted and not call.failed
            and (call.tool in _COMMENTED or (call.tool == "python" and call.code.strip()
                                              and (call.names or include_reads)))]


def agent_step_calls(calls: Sequence[LineageEntry], agent_steps: Sequence[tuple[int, int]],
                     *, include_reads: bool = False) -> list[LineageEntry]:
    """The exported calls of the agent's steps ``agent_steps`` ((turn, step) pairs: a plan
    step's), in the order they ran."""
    wanted = set(agent_steps)
    turns = sorted({turn for turn, _ in wanted})
    return [call for call in exported_calls(calls, turns, include_reads=include_reads)
            if (call.turn, call.step) in wanted]


def export_cell(calls: Sequence[LineageEntry]) -> str:
    """The calls as one cell: each headed by its comment, shell and file calls as
    comments."""
    blocks = []
    for call in calls:
        if call.tool == "python":
            blocks.append(f"{_header(call)}\n{call.code.strip()}")
        else:
            what = str(call.arguments.get(_COMMENTED[call.tool], ""))
            blocks.append(f"{_header(call)}\n# {call.tool} (not exported, not Python): "
                          f"{' '.join(what.split())[:200]}")
    return "\n\n".join(blocks) + "\n"


def export_script(calls: Sequence[LineageEntry]) -> str:
    """The calls as a script: the imports they use first, once each, then the code."""
    imports: list[str] = []
    blocks = []
    for call in calls:
        if call.tool != "python":
            blocks.append(export_cell([call]).rstrip())
            continue
        body = call.code.strip()
        try:
            tree = ast.parse(body)
        except SyntaxError:
            blocks.append(f"{_header(call)}\n{body}")
            continue
        lines = body.splitlines()
        kept = set(range(len(lines)))
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                source = "\n".join(lines[node.lineno - 1:node.end_lineno or node.lineno])
                if source not in imports:
                    imports.append(source)
                kept -= set(range(node.lineno - 1, node.end_lineno or node.lineno))
        rest = "\n".join(line for index, line in enumerate(lines) if index in kept).strip()
        if rest:
            blocks.append(f"{_header(call)}\n{rest}")
    head = '"""The agent\'s work, exported by goose_nb (%goose export --file)."""\n'
    return "\n\n".join([head + "\n".join(imports), *blocks]) + "\n"
