"""``%goose export [N|all|TASK_ID|plan_step_N] [--all] [--file PATH | --check]``: the
agent's python calls as code.

By default the last turn's calls become a new code cell below the current one
(``set_next_input``, which JupyterLab, Notebook 7 and terminal IPython honour); the same
code is also shown, folded, for front ends that do not (VS Code, a notebook run headless).
``--file`` writes a script instead, with the imports gathered at the top; ``--check`` runs
the code on the variables as they were before the turn (``lineage/check.py``); a task id
exports a subagent task of the last run, ``plan_step_N`` the calls the agent made on step N
of the plan's last run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

from goose_nb.display.rich import RichText
from goose_nb.display.tool_block import fence

if TYPE_CHECKING:
    from goose_nb.planning.plan import PlanStep
    from goose_nb.session import Session

USAGE = ("usage: %goose export [N | all | TASK_ID | plan_step_N] [--all] "
         "[--file PATH.py | --check] (TASK_ID: a task of the last subagent run, e.g. task_1; "
         "plan_step_N: step N of the plan's last run)")

_PLAN_STEP = re.compile(r"plan_step_(\d+)")


def _checked(session: Session, turns: list[int], chosen: list[Any], code: str) -> RichText:
    """``--check``: the exported code on the variables as they were before the turns."""
    from goose_nb.display.rich import table
    from goose_nb.lineage.check import check_export

    inputs = session.turn_inputs.get(turns[0])
    if inputs is None and not session.settings.check_memory_mb:
        text = ("Not checked: GOOSE_NB_CHECK_MEMORY_MB is 0, so your variables are not kept "
                "before a turn; set it (in MB) and run the turn again.")
        return RichText(text, text)
    if inputs is None:
        text = (f"Not checked: your variables before turn {turns[0]} are no longer kept "
                "(only the last 3 turns' are).")
        return RichText(text, text)
    results = check_export(code, inputs, chosen,
                           lambda name: session.variable_lineage.result_of(name, turns))
    good = all(result.reproduced for result in results)
    rows = [[r.name, "✓ reproduced" if r.reproduced else "✗ differs", r.detail]
            for r in results]
    head = ("The exported code reproduces the agent's variables." if good else
            "The exported code does not reproduce all of the agent's variables "
            "(a failed call's partial effect, or your own change between its steps).")
    grid = table(head, ["variable", "check", "detail"], rows)
    notes = [f"{name}: {why}" for name, why in inputs.left_out.items()]
    limit = f"GOOSE_NB_CHECK_MEMORY_MB={session.settings.check_memory_mb}"
    tail = (f"\n\nNot kept before the turn (so not seeded; {limit}): "
            + "; ".join(notes)) if notes else ""
    return RichText(grid.markdown + tail, grid.plain + tail)


def _subagent_task(session: Session, word: str) -> Any:
    """The last subagent run's task named ``word`` (``task_1``), if there is one."""
    summary = session.last_subagents
    if summary is None or word.isdigit() or word == "all":
        return None
    return next((r for r in summary.task_results if r.task_id == word), None)


def _plan_step(session: Session, word: str) -> tuple[int, PlanStep] | None:
    """The plan's step ``plan_step_N`` names, with its number; None for other words."""
    match = _PLAN_STEP.fullmatch(word)
    if match is None:
        return None
    plan, number = session.current_plan, int(match.group(1))
    if plan is None:
        raise UsageError(f"there is no plan, so no {word}: make one in a %%goose_plan cell "
                         "and run it")
    if not 1 <= number <= len(plan.steps):
        raise UsageError(f"no {word}: the plan has steps 1 to {len(plan.steps)}")
    return number, plan.steps[number - 1]


def export_command(shell: Any, session: Session, args: list[str]) -> RichText:
    from goose_nb.lineage.export import (
        agent_step_calls,
        chosen_turns,
        export_cell,
        export_script,
        exported_calls,
        task_calls,
    )

    include_reads = "--all" in args
    check = "--check" in args
    words = [word for word in args if word not in ("--all", "--check")]
    target = None
    if "--file" in words:
        at = words.index("--file")
        if at + 1 >= len(words):
            raise UsageError(f"--file needs a path; {USAGE}")
        target = Path(words.pop(at + 1)).expanduser()
        words.pop(at)
    if len(words) > 1 or any(word.startswith("-") for word in words):
        raise UsageError(f"cannot read {' '.join(args)!r}; {USAGE}")
    calls = session.variable_lineage.calls
    task = _subagent_task(session, words[0]) if words else None
    plan_step = _plan_step(session, words[0]) if words and task is None else None
    if task is not None:
        chosen, turns, where = task_calls(task.task_id, task.detail.events), [], \
            f"subagent {task.task_id}"
        if check:
            raise UsageError("--check works on the session's own turns, not a subagent's "
                             "(it changed a copy of your variables)")
    elif plan_step is not None:
        number, step = plan_step
        turns = sorted({turn for turn, _ in step.agent_steps})
        if check:
            turn = str(turns[0]) if turns else "N"
            raise UsageError("--check works on whole turns, not one plan step (a step may "
                             "build on the one before): check the plan's turn with "
                             f"`%goose export {turn} --check`")
        if not step.agent_steps:
            text = (f"Nothing to export from plan step {number}: the agent called no tool "
                    "while on it (or the plan has not run: `%goose_plan run`).")
            return RichText(text, text)
        chosen = agent_step_calls(calls, step.agent_steps, include_reads=include_reads)
        where = f"plan step {number}"
    else:
        try:
            turns = chosen_turns(calls, words[0] if words else "", len(session.turns))
        except ValueError as exc:
            raise UsageError(f"{exc}; {USAGE}") from None
        chosen = exported_calls(calls, turns, include_reads=include_reads)
        # the turns the code comes from (`all` names every turn with a tool call)
        turns = sorted({call.turn for call in chosen}) or turns
        where = (f"turn{'s' if len(turns) > 1 else ''} {', '.join(map(str, turns))}" if turns
                 else "no turn yet")
    if not chosen and task is not None:
        text = f"Nothing to export from {where}: it ran no python call that succeeded."
        return RichText(text, text)
    if not chosen:
        text = (f"Nothing to export from {where}: no python call there changed your "
                "variables (add --all for the calls that only read).")
        return RichText(text, text)
    if check:
        return _checked(session, turns, chosen, export_cell(chosen))
    if target is not None:
        try:
            target.write_text(export_script(chosen), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror}") from None
        text = f"Wrote {len(chosen)} call(s) of {where} to {target}."
        return RichText(text, text)
    code = export_cell(chosen)
    if shell is not None:
        shell.set_next_input(code, replace=False)
    note = (f"{len(chosen)} call(s) of {where}, as a new cell below (where the front end "
            "supports it; otherwise copy it from here):")
    return RichText(f"{note}\n\n<details><summary>the exported code</summary>\n\n"
                    f"{fence(code.rstrip(), 'python')}\n\n</details>", f"{note}\n{code}")
