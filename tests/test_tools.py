"""The builtin tools and the runner that validates, approves and runs their calls.

Tools are driven with ``asyncio.run`` and a ``ToolContext`` whose ``run_in_main`` calls the
function directly: that is what the hop to the main thread does when there is one thread.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from goose_nb.failures import Failure
from goose_nb.messages import ToolCall, ToolResult
from goose_nb.tools import BUILTIN_TOOLS, Tool, ToolContext, ToolOutcome
from goose_nb.tools.approval import describe_call
from goose_nb.tools.base import MAX_RESULT_CHARS, cap
from goose_nb.tools.files import (
    EDIT_FILE_TOOL,
    READ_FILE_TOOL,
    WRITE_FILE_TOOL,
    EditFileArgs,
    ReadFileArgs,
)
from goose_nb.tools.python_exec import PYTHON_TOOL, execute
from goose_nb.tools.runner import DECLINED, Approval, ToolRunner, needs_approval
from goose_nb.tools.shell import SHELL_TOOL, ShellArgs
from goose_nb.tools.variables import LIST_VARIABLES_TOOL, describe, list_variables


def keep_all(text: str) -> str:
    """A scrubber that keeps everything (these tests are not about secrets)."""
    return text


async def _direct(function: Callable[[], Any]) -> Any:
    return function()


@pytest.fixture
def context(tmp_path: Path) -> ToolContext:
    return ToolContext(namespace={}, run_in_main=_direct,
                       scrub=keep_all, cwd=tmp_path, workspace=tmp_path)


def run_tool(tool: Tool, context: ToolContext, **arguments: Any) -> ToolOutcome:
    return asyncio.run(tool.run(tool.arguments.model_validate(arguments), context))


def failure_kind(outcome: ToolOutcome) -> str | None:
    return outcome.failure.kind if outcome.failure else None


# ================================================================ python


def test_python_assigns_in_the_namespace(context: ToolContext) -> None:
    outcome = run_tool(PYTHON_TOOL, context, code="x = 6 * 7")
    assert outcome.failure is None
    assert context.namespace["x"] == 42
    assert outcome.content == "(ran with no output)"
    # the next call sees it, as the next cell would
    assert run_tool(PYTHON_TOOL, context, code="x + 1").content == "result: 43"


def test_python_captures_stdout_and_stderr(context: ToolContext) -> None:
    code = "import sys\nprint('to out')\nprint('to err', file=sys.stderr)"
    outcome = run_tool(PYTHON_TOOL, context, code=code)
    assert outcome.failure is None
    assert "stdout:\nto out" in outcome.content
    assert "stderr:\nto err" in outcome.content


def test_python_returns_the_repr_of_the_last_expression() -> None:
    run = execute("values = [1, 2, 3]\nsum(values) * 2", {}, keep_all)
    assert run.has_value and run.value == 12
    assert run.report() == "result: 12"
    assert "result: 'text'" in execute("'te' + 'xt'", {}, keep_all).report()


def test_a_last_expression_of_none_gives_no_result() -> None:
    # print(...) is an expression whose value is None
    run = execute("print('hi')", {}, keep_all)
    assert not run.has_value
    assert "result:" not in run.report()
    assert run.report() == "stdout:\nhi"


def test_python_error_comes_back_with_type_message_and_own_traceback(
    context: ToolContext,
) -> None:
    code = "a = 1\nb = a / 0\n"
    outcome = run_tool(PYTHON_TOOL, context, code=code)
    assert outcome.failure == Failure("python_error", "ZeroDivisionError")
    assert "error: ZeroDivisionError: division by zero" in outcome.content
    assert "line 2" in outcome.content
    assert "b = a / 0" in outcome.content  # the model's own line, as text
    assert "goose_nb" not in outcome.content  # none of our frames
    assert "python_exec.py" not in outcome.content
    assert context.namespace["a"] == 1  # what ran before the error stays


def test_a_traceback_goes_through_functions_the_model_defined() -> None:
    run = execute("def half(n):\n    return n / 0\n\nhalf(4)", {}, keep_all)
    assert isinstance(run.error, ZeroDivisionError)
    assert "in half" in run.traceback
    assert "return n / 0" in run.traceback
    assert "python_exec.py" not in run.traceback


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ("x = (1,\n", "SyntaxError"),
        ("print('a'", "SyntaxError"),
        ("x = 1\nreturn x", "SyntaxError"),  # parses, but does not compile
        ("await something()", "SyntaxError"),
        ("undefined_name + 1", "NameError"),
        ("import no_such_module_for_goose_nb", "ModuleNotFoundError"),
        ("open('no-such-file.csv')", "FileNotFoundError"),
        ("raise PermissionError('denied')", "PermissionError"),
        ("{}['k']", "KeyError"),
    ],
)
def test_errors_in_the_code_are_python_errors_of_their_type(
    context: ToolContext, code: str, error_type: str
) -> None:
    outcome = run_tool(PYTHON_TOOL, context, code=code)
    assert outcome.failure == Failure("python_error", error_type)
    assert f"error: {error_type}" in outcome.content
    assert "python_exec.py" not in outcome.content


def test_a_syntax_error_shows_the_offending_line() -> None:
    run = execute("x = 1\nreturn x", {}, keep_all)
    assert isinstance(run.error, SyntaxError)
    assert "line 2" in run.traceback
    assert "return x" in run.traceback
    assert "python_exec.py" not in run.traceback


@pytest.mark.parametrize("code", ["exit()", "raise SystemExit", "import sys\nsys.exit(3)"])
def test_exit_does_not_escape(context: ToolContext, code: str) -> None:
    outcome = run_tool(PYTHON_TOOL, context, code=code)  # would end pytest if it escaped
    assert outcome.failure == Failure("python_error", "SystemExit")


def test_keyboard_interrupt_reaches_the_caller() -> None:
    with pytest.raises(KeyboardInterrupt):
        execute("raise KeyboardInterrupt", {}, keep_all)


def test_long_output_is_capped_keeping_head_and_tail(context: ToolContext) -> None:
    code = "print('HEAD' + 'x' * 100_000 + 'TAIL')"
    outcome = run_tool(PYTHON_TOOL, context, code=code)
    assert len(outcome.content) < MAX_RESULT_CHARS + 100
    assert "HEAD" in outcome.content
    assert "TAIL" in outcome.content
    assert "characters left out" in outcome.content


def test_cap() -> None:
    text = "A" * 10 + "m" * 1000 + "Z" * 10
    capped = cap(text, 100)
    assert capped.startswith("A" * 10)
    assert capped.endswith("Z" * 10)
    assert "[920 characters left out]" in capped
    assert cap("short", 100) == "short"
    assert cap("x" * 100, 100) == "x" * 100


# ================================================================ variables


@pytest.fixture
def namespace() -> dict[str, Any]:
    import math

    def scale(values: list[float], factor: float = 2.0) -> list[float]:
        return [v * factor for v in values]

    return {
        "sales": pd.DataFrame(
            {"region": ["north", "south", "east", "west", "mid"],
             "units": [10, 20, 30, 40, 50],
             "price": [1.5, 2.5, 3.5, 4.5, 5.5]}
        ),
        "matrix": np.zeros((3, 4), dtype=np.float32),
        "scale": scale,
        "threshold": 0.75,
        "math": math,
        "_private": 1,
        "__builtins__": {},
        "In": ["", "x = 1"],
        "Out": {},
        "get_ipython": lambda: None,
        "hidden_helper": "environment's",
    }


def test_list_variables_describes_dataframes_arrays_and_functions(
    namespace: dict[str, Any],
) -> None:
    text = list_variables(namespace, hidden=frozenset({"hidden_helper"}))
    lines = {line.split(":", 1)[0] for line in text.splitlines() if ": " in line}
    assert "sales: DataFrame (pandas), 5 rows × 3 columns" in text
    region_dtype = namespace["sales"].dtypes["region"]  # object, or str from pandas 3 on
    assert f"columns: region: {region_dtype}, units: int64, price: float64" in text
    assert "north" in text and "east" in text
    assert "west" not in text  # a few rows, not all of them
    assert "matrix: ndarray, shape (3, 4), dtype float32" in text
    assert "scale: function scale(values" in text
    assert "factor: 'float' = 2.0)" in text  # annotations are strings in this module
    assert "threshold: float: 0.75" in text
    for left_out in ("math", "_private", "__builtins__", "In", "Out", "get_ipython",
                     "hidden_helper"):
        assert left_out not in lines, left_out


def test_list_variables_for_one_name_shows_more_rows(namespace: dict[str, Any]) -> None:
    text = list_variables(namespace, name="sales")
    assert text.startswith("sales: DataFrame (pandas), 5 rows × 3 columns")
    assert "west" in text and "mid" in text
    assert "matrix" not in text


def test_list_variables_for_an_unknown_name_lists_the_known_ones(
    namespace: dict[str, Any],
) -> None:
    text = list_variables(namespace, name="salse")
    assert "no variable named 'salse'" in text
    assert "sales" in text and "threshold" in text


def test_list_variables_of_an_empty_namespace() -> None:
    assert list_variables({"In": [], "_": None}) == "(no user variables yet)"


def test_one_very_wide_dataframe_is_capped() -> None:
    wide = pd.DataFrame(np.zeros((2, 3000)), columns=[f"column_{i}" for i in range(3000)])
    text = list_variables({"wide": wide}, name="wide")
    assert len(text) < MAX_RESULT_CHARS + 100
    assert "3000 columns" in text


def test_describe_series_and_containers() -> None:
    assert describe(pd.Series([1.0, 2.0])) == "Series (pandas), length 2, dtype float64"
    assert describe([1, 2, 3]) == "list of 3: [1, 2, 3]"
    assert describe({"a": 1}) == "dict of 1: {'a': 1}"
    assert describe(int) == "class int"
    assert describe(len).startswith("function len")


def test_describe_survives_a_broken_repr() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert describe(Broken()).startswith("Broken: <Broken instance")


def test_list_variables_tool_runs_on_the_context(context: ToolContext) -> None:
    context.namespace.update(n=3, helper=1)
    context.hidden = frozenset({"helper"})
    outcome = run_tool(LIST_VARIABLES_TOOL, context)
    assert outcome == ToolOutcome("n: int: 3")


# ================================================================ files


def test_read_file_whole_and_by_line_range(context: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("one\ntwo\nthree\nfour\n", encoding="utf-8")
    whole = run_tool(READ_FILE_TOOL, context, path="notes.txt")
    assert whole.failure is None
    assert whole.content == "notes.txt (lines 1-4 of 4)\none\ntwo\nthree\nfour"
    part = run_tool(READ_FILE_TOOL, context, path="notes.txt", start_line=2, end_line=3)
    assert part.content == "notes.txt (lines 2-3 of 4)\ntwo\nthree"
    tail = run_tool(READ_FILE_TOOL, context, path="notes.txt", start_line=4, end_line=99)
    assert tail.content == "notes.txt (lines 4-4 of 4)\nfour"


def test_read_file_accepts_an_absolute_path(context: ToolContext, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "a.txt").write_text("absolute", encoding="utf-8")
    outcome = run_tool(READ_FILE_TOOL, context, path=str(other / "a.txt"))
    assert outcome.content.endswith("\nabsolute")


def test_read_a_missing_file(context: ToolContext) -> None:
    outcome = run_tool(READ_FILE_TOOL, context, path="missing.csv")
    assert failure_kind(outcome) == "file_error"
    assert "missing.csv" in outcome.content
    assert "No such file" in outcome.content


def test_read_a_directory(context: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    outcome = run_tool(READ_FILE_TOOL, context, path="data")
    assert failure_kind(outcome) == "file_error"
    assert "directory" in outcome.content.lower()


def test_read_a_file_that_is_not_utf8(context: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "blob.bin").write_bytes(b"\xff\xfe\x00\x81binary")
    outcome = run_tool(READ_FILE_TOOL, context, path="blob.bin")
    assert outcome.failure == Failure("file_error", "not text")
    assert "not UTF-8" in outcome.content


def test_read_a_file_without_permission(context: ToolContext, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden", encoding="utf-8")
    secret.chmod(0o000)
    try:
        if os.geteuid() == 0:
            pytest.skip("running as root: file permissions do not stop root from reading")
        outcome = run_tool(READ_FILE_TOOL, context, path="secret.txt")
        assert failure_kind(outcome) == "permission_error"
        assert "permission denied: secret.txt" in outcome.content
    finally:
        secret.chmod(0o600)


def test_a_large_file_needs_a_line_range(context: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "big.csv").write_text("a,b\n" + "1,2\n" * 100_000, encoding="utf-8")
    outcome = run_tool(READ_FILE_TOOL, context, path="big.csv")
    assert outcome.failure == Failure("file_error", "file too large")
    assert "start_line/end_line" in outcome.content
    part = run_tool(READ_FILE_TOOL, context, path="big.csv", start_line=1, end_line=2)
    assert part.failure is None
    assert part.content.endswith("\na,b\n1,2")


def test_a_very_long_line_is_capped(context: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "minified.json").write_text("[" + "1," * 150_000 + "1]", encoding="utf-8")
    outcome = run_tool(READ_FILE_TOOL, context, path="minified.json", end_line=1)
    assert outcome.failure is None
    assert len(outcome.content) < MAX_RESULT_CHARS + 100


def test_write_file_creates_parent_folders(context: ToolContext, tmp_path: Path) -> None:
    outcome = run_tool(WRITE_FILE_TOOL, context, path="out/deep/result.md", content="# hi\n")
    assert outcome.failure is None
    assert (tmp_path / "out" / "deep" / "result.md").read_text(encoding="utf-8") == "# hi\n"
    assert "5 characters" in outcome.content


def test_write_file_over_a_directory_fails(context: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    outcome = run_tool(WRITE_FILE_TOOL, context, path="folder", content="x")
    assert failure_kind(outcome) == "file_error"


def test_edit_file_replaces_exactly_one_occurrence(
    context: ToolContext, tmp_path: Path
) -> None:
    path = tmp_path / "script.py"
    path.write_text("a = 1\nb = 2\nc = 3\n", encoding="utf-8")
    outcome = run_tool(EDIT_FILE_TOOL, context, path="script.py", old="b = 2", new="b = 20")
    assert outcome.failure is None
    assert path.read_text(encoding="utf-8") == "a = 1\nb = 20\nc = 3\n"


@pytest.mark.parametrize(
    ("old", "detail"),
    [("z = 9", "snippet not found"), ("= 1", "snippet not unique"), ("", "snippet not found")],
)
def test_edit_file_fails_clearly_and_leaves_the_file_alone(
    context: ToolContext, tmp_path: Path, old: str, detail: str
) -> None:
    path = tmp_path / "script.py"
    original = "a = 1\nb = 1\n"
    path.write_text(original, encoding="utf-8")
    outcome = run_tool(EDIT_FILE_TOOL, context, path="script.py", old=old, new="X")
    assert outcome.failure == Failure("file_error", detail)
    assert path.read_text(encoding="utf-8") == original
    if detail == "snippet not unique":
        assert "occurs 2 times" in outcome.content


def test_edit_a_missing_file(context: ToolContext) -> None:
    outcome = run_tool(EDIT_FILE_TOOL, context, path="nope.py", old="a", new="b")
    assert failure_kind(outcome) == "file_error"


def test_edit_file_keeps_windows_line_endings(context: ToolContext, tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"id,name\r\n1,alpha\r\n2,beta\r\n")
    # the model saw the file through read_file, which shows lines without their endings
    outcome = run_tool(EDIT_FILE_TOOL, context, path="data.csv",
                       old="1,alpha\n2,beta", new="1,ALPHA\n2,BETA")
    assert outcome.failure is None
    assert path.read_bytes() == b"id,name\r\n1,ALPHA\r\n2,BETA\r\n"


# ================================================================ shell


def test_shell_success_returns_stdout(context: ToolContext) -> None:
    outcome = run_tool(SHELL_TOOL, context, command="echo hello")
    assert outcome.failure is None
    assert outcome.content == "exit status: 0\nstdout:\nhello"


def test_shell_runs_in_the_context_folder(context: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "marker-file.txt").write_text("", encoding="utf-8")
    outcome = run_tool(SHELL_TOOL, context, command="pwd; ls")
    assert str(tmp_path) in outcome.content
    assert "marker-file.txt" in outcome.content


def test_shell_non_zero_exit_is_a_failure_with_stderr(context: ToolContext) -> None:
    outcome = run_tool(SHELL_TOOL, context, command="echo partial; echo broke >&2; exit 3")
    assert outcome.failure == Failure("shell_error", "exit status 3")
    assert "exit status: 3" in outcome.content
    assert "stdout:\npartial" in outcome.content
    assert "stderr:\nbroke" in outcome.content


def test_shell_command_not_found(context: ToolContext) -> None:
    outcome = run_tool(SHELL_TOOL, context, command="no-such-command-goose-nb --flag")
    assert outcome.failure == Failure("shell_error", "exit status 127")
    assert "not found" in outcome.content


def _alive(pid: int) -> bool:
    """Running, and not a zombie waiting for a parent that may never reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_shell_timeout_kills_the_command_and_its_children(
    context: ToolContext, tmp_path: Path
) -> None:
    command = "echo started; sleep 30 & echo $! > child.pid; sleep 30"
    outcome = run_tool(SHELL_TOOL, context, command=command, timeout=1)
    assert outcome.failure == Failure("shell_error", "timeout")
    assert "killed after 1 s" in outcome.content
    assert "stdout:\nstarted" in outcome.content  # what it printed before is kept
    child = int((tmp_path / "child.pid").read_text())
    for _ in range(100):  # SIGKILL is immediate; give the kernel a moment to tear down
        if not _alive(child):
            break
        time.sleep(0.05)
    assert not _alive(child), f"background child {child} survived the timeout"


def test_shell_arguments_are_bounded() -> None:
    schema = SHELL_TOOL.spec().parameters
    assert schema["properties"]["timeout"]["minimum"] == 1
    assert schema["properties"]["timeout"]["maximum"] == 600


# ================================================================ runner


class Recorder:
    """An approver that answers as told and remembers what it was asked."""

    def __init__(self, allowed: bool = True, reason: str = "") -> None:
        self.asked: list[str] = []
        self.answer = Approval(allowed, reason)

    async def __call__(self, tool: Tool, call: ToolCall) -> Approval:
        self.asked.append(tool.name)
        return self.answer


def make_runner(context: ToolContext, mode: str = "auto",
                approver: Recorder | None = None,
                tools: tuple[Tool, ...] = BUILTIN_TOOLS) -> ToolRunner:
    return ToolRunner(tools, context, mode, approver or Recorder())  # type: ignore[arg-type]


def call(name: str, arguments: dict[str, Any] | None, raw: str = "") -> ToolCall:
    return ToolCall(id=f"call_{name}", name=name, arguments=arguments, raw_arguments=raw)


def run_call(runner: ToolRunner, tool_call: ToolCall) -> tuple[ToolResult, Failure | None]:
    return asyncio.run(runner.run(tool_call))


def test_runner_runs_a_valid_call(context: ToolContext) -> None:
    result, failure = run_call(make_runner(context), call("python", {"code": "2 + 3"}))
    assert failure is None
    assert result == ToolResult(tool_call_id="call_python", name="python", content="result: 5")


def test_runner_failed_tool_is_an_error_result(context: ToolContext) -> None:
    result, failure = run_call(make_runner(context), call("python", {"code": "1/0"}))
    assert failure == Failure("python_error", "ZeroDivisionError")
    assert result.is_error


def test_unknown_tool_lists_the_available_ones(context: ToolContext) -> None:
    result, failure = run_call(make_runner(context), call("plot", {"x": 1}))
    assert failure == Failure("unknown_tool", "plot")
    assert result.is_error
    assert "unknown tool 'plot'" in result.content
    for name in ("python", "list_variables", "read_file", "write_file", "edit_file", "shell"):
        assert name in result.content


def test_arguments_that_are_not_json_are_bad_arguments(context: ToolContext) -> None:
    bad = call("python", None, raw='{"code": "print(1)"')
    result, failure = run_call(make_runner(context), bad)
    assert failure == Failure("bad_arguments", "not a JSON object")
    assert result.is_error
    assert '{"code": "print(1)"' in result.content


@pytest.mark.parametrize(
    ("name", "arguments", "field"),
    [
        ("python", {}, "code"),
        ("python", {"source": "1"}, "code"),
        ("python", {"code": 42}, "code"),
        ("read_file", {"path": "a", "start_line": 0}, "start_line"),
        ("shell", {"command": "ls", "timeout": "soon"}, "timeout"),
        ("edit_file", {"path": "a", "old": "x"}, "new"),
    ],
)
def test_arguments_that_do_not_fit_the_schema_name_the_field(
    context: ToolContext, name: str, arguments: dict[str, Any], field: str
) -> None:
    result, failure = run_call(make_runner(context), call(name, arguments))
    assert failure is not None and failure.kind == "bad_arguments"
    assert field in failure.detail
    assert result.is_error
    assert f"invalid arguments for {name}: {field}:" in result.content


def test_chat_mode_offers_and_runs_no_tools(context: ToolContext, tmp_path: Path) -> None:
    approver = Recorder()
    runner = make_runner(context, "chat", approver)
    assert runner.specs() == []
    result, failure = run_call(runner, call("write_file", {"path": "x.txt", "content": "x"}))
    assert failure == Failure("unknown_tool", "write_file")
    assert "chat mode" in result.content
    assert not (tmp_path / "x.txt").exists()
    assert approver.asked == []


def test_auto_mode_never_asks(context: ToolContext, tmp_path: Path) -> None:
    approver = Recorder(allowed=False)
    runner = make_runner(context, "auto", approver)
    _, failure = run_call(runner, call("write_file", {"path": "x.txt", "content": "x"}))
    assert failure is None
    assert approver.asked == []
    assert (tmp_path / "x.txt").exists()


def test_approve_mode_asks_for_every_tool(context: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a", encoding="utf-8")
    approver = Recorder()
    runner = make_runner(context, "approve", approver)
    calls = [
        call("python", {"code": "1"}),
        call("list_variables", {}),
        call("read_file", {"path": "a.txt"}),
        call("write_file", {"path": "b.txt", "content": "b"}),
        call("edit_file", {"path": "a.txt", "old": "a", "new": "A"}),
        call("shell", {"command": "true"}),
    ]
    for tool_call in calls:
        assert run_call(runner, tool_call)[1] is None
    assert approver.asked == [c.name for c in calls]


def test_smart_approve_asks_only_for_tools_that_change_things(
    context: ToolContext, tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("a", encoding="utf-8")
    approver = Recorder()
    runner = make_runner(context, "smart_approve", approver)
    for tool_call in [call("list_variables", {}), call("read_file", {"path": "a.txt"})]:
        assert run_call(runner, tool_call)[1] is None
    assert approver.asked == []
    run_call(runner, call("python", {"code": "1"}))
    run_call(runner, call("shell", {"command": "true"}))
    assert approver.asked == ["python", "shell"]


def test_a_declined_call_does_not_run_and_is_not_a_failure(
    context: ToolContext, tmp_path: Path
) -> None:
    approver = Recorder(allowed=False)
    runner = make_runner(context, "approve", approver)
    result, failure = run_call(runner, call("write_file", {"path": "new.txt", "content": "x"}))
    assert failure is None
    assert not result.is_error
    assert result.content == DECLINED
    assert not (tmp_path / "new.txt").exists()
    result, _ = run_call(runner, call("python", {"code": "ran = True"}))
    assert "ran" not in context.namespace


def test_a_decline_with_a_reason_passes_the_reason_on(context: ToolContext) -> None:
    runner = make_runner(context, "approve", Recorder(allowed=False, reason="nobody to ask"))
    result, failure = run_call(runner, call("shell", {"command": "true"}))
    assert (result.content, failure) == ("nobody to ask", None)


def test_a_call_with_bad_arguments_is_not_shown_for_approval(context: ToolContext) -> None:
    approver = Recorder()
    runner = make_runner(context, "approve", approver)
    _, failure = run_call(runner, call("python", {"cod": "1"}))
    assert failure is not None and failure.kind == "bad_arguments"
    assert approver.asked == []


def test_a_tool_that_raises_becomes_a_tool_error(context: ToolContext) -> None:
    async def explode(args: Any, ctx: ToolContext) -> ToolOutcome:
        raise RuntimeError("internal bug")

    broken = Tool(name="broken", description="raises", arguments=PYTHON_TOOL.arguments,
                  run=explode)
    runner = make_runner(context, tools=(broken,))
    result, failure = run_call(runner, call("broken", {"code": ""}))
    assert failure == Failure("tool_error", "RuntimeError")
    assert result.is_error
    assert "RuntimeError: internal bug" in result.content


def test_needs_approval(context: ToolContext) -> None:
    tools = {tool.name: tool for tool in BUILTIN_TOOLS}
    inside = ReadFileArgs(path="data.csv")
    outside = ReadFileArgs(path="../elsewhere/data.csv")
    assert not needs_approval("auto", tools["shell"], ShellArgs(command="ls"), context)
    assert needs_approval("approve", tools["read_file"], inside, context)
    assert not needs_approval("smart_approve", tools["read_file"], inside, context)
    assert needs_approval("smart_approve", tools["read_file"], outside, context)
    assert not needs_approval("auto", tools["read_file"], outside, context)
    edit = EditFileArgs(path="data.csv", old="a", new="b")
    assert needs_approval("smart_approve", tools["edit_file"], edit, context)


def test_write_and_edit_refuse_paths_outside_the_workspace(tmp_path: Path) -> None:
    workspace = tmp_path / "work"
    (workspace / "sub").mkdir(parents=True)
    (tmp_path / "outside.txt").write_text("keep me")
    (workspace / "link").symlink_to(tmp_path)  # a link inside that points outside
    context = ToolContext(namespace={}, run_in_main=_direct, scrub=keep_all,
                          cwd=workspace / "sub", workspace=workspace)
    for path in ("../../outside.txt", str(tmp_path / "outside.txt"), "../link/outside.txt"):
        for tool, arguments in ((WRITE_FILE_TOOL, {"content": "changed"}),
                                (EDIT_FILE_TOOL, {"old": "keep", "new": "lost"})):
            outcome = run_tool(tool, context, path=path, **arguments)
            assert "outside the workspace" in outcome.content, (tool.name, path)
            assert outcome.failure == Failure("permission_error", "outside the workspace")
    assert (tmp_path / "outside.txt").read_text() == "keep me"
    # inside, through '..' that stays inside, works
    outcome = run_tool(WRITE_FILE_TOOL, context, path="../kept.txt", content="new")
    assert outcome.failure is None and (workspace / "kept.txt").read_text() == "new"


def test_read_outside_the_workspace_asks_in_smart_approve(tmp_path: Path) -> None:
    workspace = tmp_path / "work"
    workspace.mkdir()
    (tmp_path / "notes.txt").write_text("outside notes")
    (workspace / "inside.txt").write_text("inside notes")
    context = ToolContext(namespace={}, run_in_main=_direct, scrub=keep_all,
                          cwd=workspace, workspace=workspace)
    recorder = Recorder()
    runner = make_runner(context, "smart_approve", recorder, tools=(READ_FILE_TOOL,))
    result, _ = run_call(runner, call("read_file", {"path": "inside.txt"}))
    assert recorder.asked == [] and "inside notes" in result.content
    result, _ = run_call(runner, call("read_file", {"path": "../notes.txt"}))
    assert recorder.asked == ["read_file"] and "outside notes" in result.content


def test_describe_call_shows_code_as_code() -> None:
    assert describe_call(call("python", {"code": "x = 1"})) == "```python\nx = 1\n```"
    assert describe_call(call("shell", {"command": "ls -l"})) == "```sh\nls -l\n```"
    shown = describe_call(call("write_file", {"path": "é.txt", "content": "x"}))
    assert shown.startswith("```json\n")
    assert json.loads(shown[len("```json\n"):-len("\n```")]) == {"path": "é.txt",
                                                                 "content": "x"}
    assert describe_call(call("python", None)) == "```json\n{}\n```"


# ================================================================ specs


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


REQUIRED = {
    "python": ["code"],
    "list_variables": [],
    "read_file": ["path"],
    "write_file": ["path", "content"],
    "edit_file": ["path", "old", "new"],
    "shell": ["command"],
}


def test_builtin_tool_names_are_the_interface() -> None:
    assert [tool.name for tool in BUILTIN_TOOLS] == list(REQUIRED)


def test_only_list_variables_and_read_file_are_read_only() -> None:
    assert {tool.name for tool in BUILTIN_TOOLS if tool.read_only} == {
        "list_variables", "read_file"}


@pytest.mark.parametrize("tool", BUILTIN_TOOLS, ids=lambda tool: tool.name)
def test_tool_specs_are_clean_json_schemas(tool: Tool) -> None:
    spec = tool.spec()
    schema = spec.parameters
    assert spec.name == tool.name and spec.description
    assert schema["type"] == "object"
    assert schema["properties"]
    assert sorted(schema.get("required", [])) == sorted(REQUIRED[tool.name])
    assert set(schema.get("required", [])) <= set(schema["properties"])
    assert "title" not in _keys(schema)
    for prop in schema["properties"].values():
        assert prop.get("description"), prop
    json.dumps(schema)  # what is sent over the wire
