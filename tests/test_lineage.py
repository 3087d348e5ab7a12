"""Lineage: which of the agent's python calls made each variable, through the IPython shell
and the local model server; ``%goose why`` and ``session.lineage()``; and what the cheap
fingerprints see and (as documented) do not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import OPENAI_KEY, register_goose, run_cell
from IPython.core.error import UsageError
from model_server import openai_reply, python_call

from goose_nb.messages import ModelRef
from goose_nb.tools.fingerprints import changed_names, fingerprint, fingerprints

STEP_ONE = "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2, 3]})"
STEP_TWO = "df['b'] = df['a'] * 2\ndf2 = df[df['b'] > 2]"


@pytest.fixture
def goose(shell, model_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    magics = register_goose(shell, model_server, tmp_path, monkeypatch, OPENAI_KEY,
                            GOOSE_PROVIDER="openai", GOOSE_MODEL="gpt-test")
    for name in ("df", "df2", "total"):
        shell.user_ns.pop(name, None)
    yield magics
    magics.session.close()


def test_why_names_each_step_its_model_and_a_later_user_change(shell, model_server, goose):
    model_server.queue(openai_reply(tool_calls=[python_call("c1", STEP_ONE)]),
                       openai_reply(tool_calls=[python_call("c2", STEP_TWO)]),
                       openai_reply("df has a column b now, and df2 its rows over 2."))
    result, _ = run_cell(shell, "%%goose\nMake df, then add b and filter it into df2.")
    assert result.error_in_exec is None
    session = goose.session
    found = session.lineage("df")
    assert [(e.turn, e.step) for e in found.steps] == [(1, 2), (1, 1)]  # newest first
    assert {e.model for e in found.steps} == {ModelRef(provider="openai", model="gpt-test")}
    assert found.steps[0].code == STEP_TWO and found.changed_by_cells == []
    assert [(e.step, e.names) for e in session.lineage("df2").steps] == [(2, ("df", "df2"))]
    _, shown = run_cell(shell, "%goose why df")
    assert "Why `df`:** 2 step(s) of the agent, newest first" in shown
    assert "turn 1 · step 2 · openai/gpt-test" in shown and "df['b'] = df['a'] * 2" in shown
    assert "Not changed by your own cells since" in shown
    # the user's own cell changes df: noted, with the cell
    result, _ = run_cell(shell, "df['c'] = 0")
    assert result.error_in_exec is None
    [change] = session.lineage("df").changed_by_cells
    assert change.cell == result.execution_count
    _, shown = run_cell(shell, "%goose why df")
    assert f"Changed since by your own cell(s) [{result.execution_count}]" in shown
    run_cell(shell, "total = len(df)")  # a cell that only reads df changes nothing
    assert len(session.lineage("df").changed_by_cells) == 1


def test_a_failed_call_that_changed_a_variable_is_marked(shell, model_server, goose):
    model_server.queue(openai_reply(tool_calls=[python_call("c1", "total = 1\n1/0")]),
                       openai_reply("it failed"))
    run_cell(shell, "%%goose\nSet total, then divide by zero.")
    [entry] = goose.session.lineage("total").steps
    assert entry.failed and entry.names == ("total",)
    _, shown = run_cell(shell, "%goose why total")
    assert "the call failed after changing it" in shown


def test_why_of_a_variable_the_agent_never_touched_and_bad_arguments(shell, goose):
    run_cell(shell, "total = 3")
    _, shown = run_cell(shell, "%goose why total")
    assert "No step of the agent bound or changed `total`" in shown
    for line in ("%goose why", "%goose why a b", "%goose why 1x"):
        result, _ = run_cell(shell, line)
        assert isinstance(result.error_in_exec, UsageError)
        assert str(result.error_in_exec).startswith("usage: %goose why NAME")


def test_subagents_leave_no_lineage(model_server, make_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = make_session(model_server, GOOSE_MODEL="gpt-test")
    session.namespace = {}
    replies = iter([openai_reply(tool_calls=[python_call("c1", "mine = 1")]),
                    openai_reply("done")])
    model_server.responder = lambda request: next(replies)
    session.run_subagents(["make mine"])
    assert session.lineage("mine").steps == [] and "mine" not in session.namespace


@pytest.mark.parametrize(("change", "seen"), [
    ("df['new'] = 1", True),                 # a column
    ("df.loc[len(df)] = 0", True),           # a row appended
    ("df.iloc[0, 0] = -1", True),            # a value near the start
    ("df.iloc[-1, 0] = -1", True),           # near the end
    ("df.iloc[500, 0] = -1", False),         # the middle of a large frame: not sampled
    ("items.append(4)", True),
    ("mapping['k'] = 2", True),
    ("array[-1] = 99", True),
    ("text = text + '!'", True),
    ("_ = len(df)", False),                  # reading changes nothing
])
def test_what_the_fingerprints_see(change, seen):
    namespace = {"df": pd.DataFrame({"a": range(1000), "b": range(1000)}),
                 "items": [1, 2, 3], "mapping": {"k": 1}, "array": np.arange(10),
                 "text": "hi"}
    before = fingerprints(namespace)
    exec(change, namespace)
    namespace.pop("__builtins__", None)
    namespace.pop("_", None)
    assert bool(changed_names(before, fingerprints(namespace))) is seen


def test_a_fingerprint_of_a_large_frame_reads_a_bounded_sample():
    big = pd.DataFrame({"x": np.arange(1_000_000), "y": np.arange(1_000_000) * 0.5})
    mark = fingerprint(big)
    assert mark[2] == (1_000_000, 2) and fingerprint(big) == mark


# %goose export ----------------------------------------------------------------------------


def run_demo_turn(shell, model_server) -> None:
    """A turn of three python calls, the middle one failing, and a shell call."""
    model_server.queue(
        openai_reply(tool_calls=[python_call("c1", STEP_ONE)]),
        openai_reply(tool_calls=[python_call("c2", "df['oops'] = 1\nraise ValueError('no')")]),
        openai_reply(tool_calls=[("c3", "shell", '{"command": "ls -l"}'),
                                 python_call("c4", "print(len(df))")]),
        openai_reply(tool_calls=[python_call("c5", STEP_TWO)]),
        openai_reply("done"))
    result, _ = run_cell(shell, "%%goose\nBuild df and df2.")
    assert result.error_in_exec is None


def test_export_puts_the_successful_calls_in_a_new_cell(shell, model_server, goose,
                                                        monkeypatch):
    run_demo_turn(shell, model_server)
    placed: list[str] = []
    monkeypatch.setattr(shell, "set_next_input", lambda text, replace=False: placed.append(text))
    _, shown = run_cell(shell, "%goose export")
    [cell] = placed
    assert cell == ("# turn 1, step 1 — openai/gpt-test\n" + STEP_ONE + "\n\n"
                    "# turn 1, step 3 — openai/gpt-test\n"
                    "# shell (not exported, not Python): ls -l\n\n"
                    "# turn 1, step 4 — openai/gpt-test\n" + STEP_TWO + "\n")
    assert "raise ValueError" not in cell and "print(len(df))" not in cell
    assert "3 call(s) of turn 1, as a new cell below" in shown
    # the exported cell, run in a fresh namespace, makes the agent's variables again, all
    # but the failed call's partial effect (its column), which the export leaves out
    fresh: dict = {}
    exec(cell, fresh)
    pd.testing.assert_frame_equal(fresh["df2"], shell.user_ns["df2"].drop(columns="oops"))
    run_cell(shell, "%goose export 1 --all")
    assert "print(len(df))" in placed[-1]


def test_export_to_a_file_is_an_importable_script(shell, model_server, goose, tmp_path):
    run_demo_turn(shell, model_server)
    target = tmp_path / "analysis.py"
    _, shown = run_cell(shell, f"%goose export all --file {target}")
    assert f"Wrote 3 call(s) of turn 1 to {target}." in shown
    script = target.read_text()
    assert script.splitlines()[1] == "import pandas as pd"  # the imports on top
    assert script.count("import pandas as pd") == 1
    namespace: dict = {}
    exec(compile(script, str(target), "exec"), namespace)
    assert list(namespace["df2"]["a"]) == [2, 3]


def test_export_bad_arguments_and_nothing_to_export(shell, goose):
    _, shown = run_cell(shell, "%goose export")
    assert "Nothing to export from no turn yet" in shown
    for line, message in [("%goose export 7", "no turn '7': give a turn number from 1 to 0"),
                          ("%goose export --file", "--file needs a path"),
                          ("%goose export --fast", "cannot read '--fast'")]:
        result, _ = run_cell(shell, line)
        assert isinstance(result.error_in_exec, UsageError), line
        assert str(result.error_in_exec).startswith(message), result.error_in_exec


def test_check_passes_on_a_faithful_export(shell, model_server, goose):
    model_server.queue(openai_reply(tool_calls=[python_call("c1", STEP_ONE)]),
                       openai_reply(tool_calls=[python_call("c2", STEP_TWO)]),
                       openai_reply("done"))
    run_cell(shell, "%%goose\nBuild df and df2.")
    _, shown = run_cell(shell, "%goose export --check")
    assert "The exported code reproduces the agent's variables." in shown
    assert "| df | ✓ reproduced |" in shown and "| df2 | ✓ reproduced |" in shown


def test_check_reports_a_step_that_relied_on_a_failed_calls_effect(shell, model_server,
                                                                   goose):
    run_demo_turn(shell, model_server)  # its failed call added the column `oops` to df
    _, shown = run_cell(shell, "%goose export --check")
    assert "does not reproduce all of the agent's variables" in shown
    assert "| df2 | ✗ differs | size (2, 2), the agent's (2, 3) |" in shown


def test_check_keeps_what_fits_in_its_memory_setting_and_the_last_three_turns(
        shell, model_server, goose):
    result, _ = run_cell(shell, "%goose config GOOSE_NB_CHECK_MEMORY_MB=1")
    assert result.error_in_exec is None
    shell.user_ns.update(big=np.zeros(250_000), small=[1, 2, 3])  # 2 MB and a few bytes
    model_server.queue(openai_reply(tool_calls=[python_call("c1", "total = sum(small)")]),
                       openai_reply("done"))
    run_cell(shell, "%%goose\nSum small.")
    _, shown = run_cell(shell, "%goose export --check")
    assert "| total | ✓ reproduced |" in shown
    assert ("Not kept before the turn (so not seeded; GOOSE_NB_CHECK_MEMORY_MB=1): big: "
            "2,000,000 bytes, over the 1,000,000 kept") in shown
    for number in (2, 3, 4):
        model_server.queue(openai_reply(f"turn {number}"))
        run_cell(shell, "%%goose\nAnd?")
    assert sorted(goose.session.turn_inputs) == [2, 3, 4]
    _, shown = run_cell(shell, "%goose export 1 --check")
    assert "Not checked: your variables before turn 1 are no longer kept" in shown
    # 0 keeps nothing, and --check says which setting to change
    run_cell(shell, "%goose config GOOSE_NB_CHECK_MEMORY_MB=0")
    model_server.queue(openai_reply(tool_calls=[python_call("c2", "total = 7")]),
                       openai_reply("done"))
    run_cell(shell, "%%goose\nSet total.")
    assert goose.session.turn_inputs == {}
    _, shown = run_cell(shell, "%goose export --check")
    assert "Not checked: GOOSE_NB_CHECK_MEMORY_MB is 0" in shown
    for name in ("big", "small"):
        shell.user_ns.pop(name)


def test_a_subagent_tasks_code_is_one_export_away(shell, model_server, goose, monkeypatch):
    replies = iter([openai_reply(tool_calls=[python_call("c1", "mine = 40 + 2")]),
                    openai_reply(tool_calls=[python_call("c2", "1/0")]),
                    openai_reply("42")])
    model_server.responder = lambda request: next(replies)
    _, shown = run_cell(shell, "%%goose_subagents\n- compute mine\n")
    assert "`%goose export task_1`" in shown
    placed: list[str] = []
    monkeypatch.setattr(shell, "set_next_input", lambda text, replace=False: placed.append(text))
    _, shown = run_cell(shell, "%goose export task_1")
    assert placed == ["# turn 1, step 1 — openai/gpt-test\nmine = 40 + 2\n"]  # not the 1/0
    assert "1 call(s) of subagent task_1" in shown
    result, _ = run_cell(shell, "%goose export task_1 --check")
    assert str(result.error_in_exec).startswith("--check works on the session's own turns")


PLAN = {"type": "plan", "title": "Totals",
        "steps": [{"do": "Make df", "check": "df has a"}, {"do": "Sum df['a'] into total"},
                  {"do": "Say the total"}]}


def test_each_plan_steps_code_is_one_export_argument_away(shell, model_server, goose,
                                                          monkeypatch):
    import json

    model_server.queue(
        openai_reply(json.dumps(PLAN)),  # the planner
        openai_reply("On step 1.", [python_call("c1", "df = {'a': [1, 2]}")]),
        openai_reply("✓ Step 1", [python_call("c2", "total = sum(df['a'])"),
                                  python_call("c3", "print(total)")]),
        openai_reply("✓ Step 2\nThe total is 3. ✓ Step 3"))
    run_cell(shell, "%%goose_plan\nMake df and its total.")
    result, shown = run_cell(shell, "%goose_plan run")
    assert result.error_in_exec is None
    steps = goose.session.current_plan.steps
    assert [len(step.agent_steps) for step in steps] == [1, 1, 0]
    assert "1. [x] Make df — *check:* df has a · code: `%goose export plan_step_1`" in shown
    assert "code: `%goose export plan_step_2`" in shown and "plan_step_3" not in shown
    placed: list[str] = []
    monkeypatch.setattr(shell, "set_next_input", lambda text, replace=False: placed.append(text))
    run_cell(shell, "%goose export plan_step_1")
    _, said = run_cell(shell, "%goose export plan_step_2")
    [turn] = {turn for turn, _ in steps[1].agent_steps}
    assert placed == [f"# turn {turn}, step 1 — openai/gpt-test\ndf = {{'a': [1, 2]}}\n",
                      f"# turn {turn}, step 2 — openai/gpt-test\ntotal = sum(df['a'])\n"]
    assert "1 call(s) of plan step 2, as a new cell below" in said
    run_cell(shell, "%goose export plan_step_2 --all")  # with the call that only printed
    assert placed[-1].endswith("total = sum(df['a'])\n\n"
                               f"# turn {turn}, step 2 — openai/gpt-test\nprint(total)\n")
    _, said = run_cell(shell, "%goose export plan_step_3")
    assert "Nothing to export from plan step 3: the agent called no tool while on it" in said
    for line, message in [
            ("%goose export plan_step_2 --check",
             f"--check works on whole turns, not one plan step (a step may build on the one "
             f"before): check the plan's turn with `%goose export {turn} --check`"),
            ("%goose export plan_step_4", "no plan_step_4: the plan has steps 1 to 3")]:
        result, _ = run_cell(shell, line)
        assert isinstance(result.error_in_exec, UsageError), line
        assert str(result.error_in_exec) == message
    _, shown = run_cell(shell, f"%goose export {turn} --check")  # the plan's whole turn
    assert "The exported code reproduces the agent's variables." in shown
    run_cell(shell, "%goose_plan discard")
    result, _ = run_cell(shell, "%goose export plan_step_1")
    assert str(result.error_in_exec).startswith("there is no plan, so no plan_step_1")
