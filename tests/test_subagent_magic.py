"""``%%goose_subagents`` / ``%goose_subagents`` in an in-process IPython shell, against the
local model server (behaviour.md §4): flags, words, YAML task lists, errors, the returned
summary and how it is shown."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import register_goose
from conftest import run_cell as run
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from model_server import ModelServer, ReceivedRequest, Reply, openai_reply
from test_subagents import (
    delegating,
    echo,
    is_subagent,
    python_call,
    slow,
    steps_before,
    subagent_requests,
    task_of,
)

from goose_nb.errors import GooseError
from goose_nb.magics.goose import GooseMagics
from goose_nb.magics.subagent_request import parse_request, words_fill_in
from goose_nb.subagents.summary import SubagentSummary

SECRET = "sk-test-SUBAGENTMAGIC0123456789abcd"


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.fixture
def goose(shell: InteractiveShell, server: ModelServer, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[GooseMagics]:
    """A freshly registered extension whose session reads an environment for ``server``."""
    monkeypatch.chdir(tmp_path)
    magics = register_goose(shell, server, tmp_path, monkeypatch, SECRET,
                            GOOSE_PROVIDER="openai", GOOSE_MODEL="gpt-test")
    yield magics
    magics.session.close()


def summary_of(shell: InteractiveShell, source: str) -> SubagentSummary:
    result, _ = run(shell, source)
    assert result.error_in_exec is None, result.error_in_exec
    assert isinstance(result.result, SubagentSummary)
    return result.result


def usage_error(shell: InteractiveShell, source: str) -> str:
    result, _ = run(shell, source)
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    message = str(result.error_in_exec)
    assert "\n" not in message
    return message


def looping(request: ReceivedRequest) -> Reply:
    """A subagent that calls a tool forever."""
    return openai_reply(tool_calls=[python_call(f"c{steps_before(request)}", "x = 1")])


# natural language ---------------------------------------------------------------------


def test_words_cell_returns_the_summary_of_the_tasks_the_model_made(goose, shell, server):
    server.responder = delegating("sequential")
    summary = summary_of(shell, "%%goose_subagents\nUse 2 subagents to create hello.html "
                                "and goodbye.html in parallel")
    assert summary.execution_summary.total_tasks == 2
    assert summary.execution_summary.successful_tasks == 2
    # "in parallel" wins over the model's sequential
    assert summary.mode == "parallel"
    assert [r.result for r in summary.task_results] == ["done: Create hello.html",
                                                        "done: Create goodbye.html"]
    result, _ = run(shell, "summary = _")
    assert result.error_in_exec is None
    kept = shell.user_ns["summary"]
    assert kept is summary
    data = kept.model_dump()
    seconds = data["execution_summary"]["execution_time_seconds"]
    assert isinstance(seconds, float)
    assert data == {
        "execution_summary": {"total_tasks": 2, "successful_tasks": 2, "failed_tasks": 0,
                              "execution_time_seconds": seconds},
        "task_results": [
            {"task_id": "task_1", "status": "success", "result": "done: Create hello.html"},
            {"task_id": "task_2", "status": "success", "result": "done: Create goodbye.html"},
        ],
    }


def test_line_magic_takes_flags_and_words(goose, shell, server):
    server.responder = delegating("parallel")
    summary = summary_of(shell, "%goose_subagents --sequential Use 2 subagents to make files")
    assert summary.mode == "sequential"
    assert summary.execution_summary.total_tasks == 2
    parent = next(r for r in server.requests if not is_subagent(r))
    assert parent.json["messages"][-1]["content"] == "Use 2 subagents to make files"


@pytest.mark.parametrize(("model_mode", "prompt", "expected"), [
    ("parallel", "Use 2 subagents to create hello.html and goodbye.html", "parallel"),
    ("sequential", "Use 2 subagents to create hello.html and goodbye.html", "sequential"),
    ("parallel", "First create hello.html, then create goodbye.html", "sequential"),
    ("parallel", "Create goodbye.html after you create hello.html", "sequential"),
    ("sequential", "Create hello.html and goodbye.html simultaneously", "parallel"),
    ("parallel", "Use 2 subagents; make them timeout after 90 seconds", "parallel"),
])
def test_words_decide_the_mode_else_the_model_does(goose, shell, server, model_mode, prompt,
                                                   expected):
    server.responder = delegating(model_mode)
    summary = summary_of(shell, f"%%goose_subagents\n{prompt}")
    assert summary.mode == expected


def test_flag_wins_over_words(goose, shell, server):
    server.responder = delegating("parallel")
    summary = summary_of(shell, "%%goose_subagents --sequential\nDo both in parallel")
    assert summary.mode == "sequential"


def test_words_set_the_limits(goose, shell, server):
    def subagent(request: ReceivedRequest) -> Reply:
        if task_of(request) == "loop":
            return looping(request)
        return slow(openai_reply("late"), 2.0)

    server.responder = delegating("parallel", tasks=("loop", "hang"), subagent=subagent)
    summary = summary_of(shell, "%%goose_subagents\nUse 2 subagents, limit each to 2 turns "
                                "and make them timeout after 0.5 seconds")
    assert len(subagent_requests(server, "loop")) == 2
    loop, hang = summary.task_results
    assert (loop.status, hang.status) == ("failed", "timeout")
    assert "2 turns" in loop.error
    assert hang.error == "timed out after 0.5 s"


# YAML task lists ----------------------------------------------------------------------


def test_yaml_list_runs_without_a_model_to_split_it(goose, shell, server):
    server.responder = echo
    summary = summary_of(shell, "%%goose_subagents --parallel\n- Summarise sales.csv\n"
                                "- id: plot\n  prompt: Plot revenue\n  max_turns: 2\n")
    assert summary.mode == "parallel"
    assert [(r.task_id, r.result) for r in summary.task_results] == [
        ("task_1", "done: Summarise sales.csv"), ("plot", "done: Plot revenue")]
    # only subagents asked the model: nothing split the list
    assert all(is_subagent(request) for request in server.requests)


def test_flags_set_limits_of_a_yaml_run(goose, shell, server):
    server.responder = lambda request: (
        looping(request) if task_of(request) == "loop" else slow(openai_reply("late"), 2.0))
    summary = summary_of(shell, "%%goose_subagents --parallel --timeout 0.5s --max-turns 3\n"
                                "- loop\n- hang\n")
    assert len(subagent_requests(server, "loop")) == 3
    assert [r.status for r in summary.task_results] == ["failed", "timeout"]
    assert summary.task_results[1].error == "timed out after 0.5 s"


def test_max_concurrency_one_runs_parallel_tasks_one_at_a_time(goose, shell, server):
    server.responder = lambda request: slow(echo(request), 0.3)
    run(shell, "%%goose\nwarm up")
    cell = "\n- task a\n- task b\n- task c\n"
    began = time.perf_counter()
    sequential = summary_of(shell, f"%%goose_subagents --sequential{cell}")
    sequential_s = time.perf_counter() - began
    began = time.perf_counter()
    gated = summary_of(shell, f"%%goose_subagents --parallel --max-concurrency 1{cell}")
    gated_s = time.perf_counter() - began
    began = time.perf_counter()
    parallel = summary_of(shell, f"%%goose_subagents --parallel{cell}")
    parallel_s = time.perf_counter() - began
    assert gated.mode == parallel.mode == "parallel"
    for summary in (sequential, gated, parallel):
        assert summary.execution_summary.successful_tasks == 3
    assert gated_s > 0.8 * sequential_s, (gated_s, sequential_s)
    assert parallel_s < 0.6 * sequential_s, (parallel_s, sequential_s)


def test_magic_displays_the_summary_table_and_transcripts(goose, shell, server):
    server.responder = echo
    result, text = run(shell, "%%goose_subagents\n- Write a haiku\n- Write a limerick\n")
    assert result.error_in_exec is None
    data, _ = shell.display_formatter.format(result.result)
    markdown = data["text/markdown"]
    assert "**Subagents (sequential): 2 of 2 succeeded" in markdown
    assert "| task | status | model(s) | turns | tokens in / out | cost | time |" in markdown
    assert "| task_1 | ✓ success | openai/gpt-test | 1 | 10 / 5 |" in markdown
    assert markdown.count("<details>") == 2
    assert "<summary>task_2: Write a limerick</summary>" in markdown
    assert "done: Write a haiku" in markdown
    assert "<table>" in data["text/html"]
    assert data["text/plain"].startswith("Subagents (sequential): 2 of 2 succeeded")
    assert SECRET not in text


# errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "fragment"), [
    ("%%goose_subagents --frobnicate\n- a\n", "unknown flag --frobnicate"),
    ("%%goose_subagents --timeout soon\n- a\n", "--timeout 'soon' is not a duration"),
    ("%%goose_subagents --timeout 0\n- a\n", "more than 0 seconds"),
    ("%%goose_subagents --max-turns 0\n- a\n", "--max-turns needs a whole number"),
    ("%%goose_subagents --max-concurrency x\n- a\n", "--max-concurrency needs a whole"),
    ("%%goose_subagents --timeout\n- a\n", "--timeout needs a value"),
    ("%goose_subagents --frobnicate do it", "unknown flag --frobnicate"),
    ("%%goose_subagents\n   \n", "no tasks given"),
    ("%goose_subagents --parallel", "no tasks given"),
    ("%%goose_subagents\n- fine\n- {prompt: x, colour: red}\n", "task 2 of the list"),
    ("%%goose_subagents\n- fine\n- max_turns: 3\n", "task 2 of the list"),
    ("%%goose_subagents\n[]\n", "the task list is empty"),
])
def test_bad_input_is_a_one_line_usage_error(goose, shell, server, source, fragment):
    message = usage_error(shell, source)
    assert fragment in message
    assert server.requests == []


def test_model_that_starts_no_subagents_is_a_usage_error(goose, shell, server):
    server.queue(openai_reply("I did it all myself."))
    message = usage_error(shell, "%%goose_subagents\nUse 2 subagents to make files")
    assert "without starting any subagents" in message
    # the session is ready for the next cell
    server.responder = echo
    assert summary_of(shell, "%%goose_subagents\n- again\n").execution_summary.total_tasks == 1


# parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "expected"), [
    ("--parallel", ("parallel", None, None, None)),
    ("--sequential", ("sequential", None, None, None)),
    ("--timeout 7m", (None, 420.0, None, None)),
    ("--timeout 90s", (None, 90.0, None, None)),
    ("--timeout=90s", (None, 90.0, None, None)),
    ("--max-turns 5", (None, None, 5, None)),
    ("--max-concurrency 2", (None, None, None, 2)),
    ("--parallel --timeout 2m --max-turns 4 --max-concurrency 3",
     ("parallel", 120.0, 4, 3)),
])
def test_flags_parse(line, expected):
    request = parse_request(line, "- a task")
    assert (request.mode, request.timeout, request.max_turns,
            request.max_concurrency) == expected
    assert request.text == "- a task"


def test_line_text_follows_the_flags():
    request = parse_request("--parallel --timeout 90s Use 2 subagents to do it", None)
    assert (request.mode, request.timeout) == ("parallel", 90.0)
    assert request.text.strip() == "Use 2 subagents to do it"


@pytest.mark.parametrize(("text", "expected"), [
    ("Use 2 subagents, timeout after 7 minutes", (None, 420.0, None)),
    ("Use 2 subagents and make them timeout after 90 seconds", (None, 90.0, None)),
    ("Use 2 subagents in parallel and limit each to 5 turns", ("parallel", None, 5)),
    ("First make a.csv, then plot it", ("sequential", None, None)),
])
def test_words_fill_in_what_the_flags_leave_open(text, expected):
    filled = words_fill_in(parse_request("", text))
    assert (filled.mode, filled.timeout, filled.max_turns) == expected
    flagged = words_fill_in(parse_request("--sequential --timeout 30s --max-turns 2", text))
    assert (flagged.mode, flagged.timeout, flagged.max_turns) == ("sequential", 30.0, 2)


def test_bad_flags_are_goose_errors():
    for line in ("--frobnicate", "--timeout soon", "--max-turns 0"):
        with pytest.raises(GooseError):
            parse_request(line, "- a")


def test_summary_json_round_trips(goose, shell, server):
    server.responder = echo
    summary = summary_of(shell, "%%goose_subagents\n- one\n")
    assert json.loads(json.dumps(summary.model_dump())) == summary.model_dump()
