"""Subagents through a real session and the local model server (behaviour.md §4): parallel
and sequential runs, timeouts and failures, isolation, fresh contexts, lead/worker, usage,
limits, the summary dict, and delegation by the model through the subagent tools."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from model_server import ModelServer, ReceivedRequest, Reply, error_reply, openai_reply, python_call

from goose_nb.errors import GooseError
from goose_nb.events import SubagentFinished, SubagentStarted
from goose_nb.messages import ModelRef, Usage
from goose_nb.session import Session
from goose_nb.subagents.run import NO_SPAWNING, SUBAGENT_INSTRUCTIONS, RunLimits, subagent_limits
from goose_nb.subagents.spec import (
    SubagentTask,
    limits_from_words,
    mode_from_words,
    parse_duration,
    parse_task_list,
)
from goose_nb.subagents.summary import SubagentSummary
from goose_nb.subagents.tools import CREATE_TOOL, EXECUTE_TOOL

SUBAGENT_MARK = SUBAGENT_INSTRUCTIONS[:40]
Responder = Callable[[ReceivedRequest], Reply]

# reading the requests the server received -----------------------------------------------


def messages(request: ReceivedRequest) -> list[dict[str, Any]]:
    return request.json["messages"]


def system_text(request: ReceivedRequest) -> str:
    first = messages(request)[0]
    return first["content"] if first["role"] == "system" else ""


def is_subagent(request: ReceivedRequest) -> bool:
    return SUBAGENT_MARK in system_text(request)


def task_of(request: ReceivedRequest) -> str:
    """The first user message: a subagent's task."""
    return next(m["content"] for m in messages(request) if m["role"] == "user")


def tool_names(request: ReceivedRequest) -> set[str]:
    return {tool["function"]["name"] for tool in request.json.get("tools") or []}


def tool_contents(request: ReceivedRequest) -> list[str]:
    return [m["content"] for m in messages(request) if m["role"] == "tool"]


def steps_before(request: ReceivedRequest) -> int:
    """How many model calls of this turn came before this one."""
    return sum(m["role"] == "assistant" for m in messages(request))


def subagent_requests(server: ModelServer, task: str | None = None) -> list[ReceivedRequest]:
    return [r for r in server.requests
            if is_subagent(r) and (task is None or task_of(r) == task)]


# scripting the server ---------------------------------------------------------------------


def slow(reply: Reply, seconds: float) -> Reply:
    return replace(reply, delay=seconds)



def echo(request: ReceivedRequest) -> Reply:
    """Subagents answer ``done: <task>``; anything else answers ``main``."""
    if is_subagent(request):
        return openai_reply(f"done: {task_of(request)}")
    return openai_reply("main")


def delegating(model_mode: str = "sequential",
               tasks: tuple[str, ...] = ("Create hello.html", "Create goodbye.html"),
               subagent: Responder = echo) -> Responder:
    """The parent model creates ``tasks`` with the create tool, runs them with the execute
    tool in ``model_mode``, then answers; subagent requests go to ``subagent``."""

    def respond(request: ReceivedRequest) -> Reply:
        if is_subagent(request):
            return subagent(request)
        last = messages(request)[-1]
        if last["role"] == "user":
            args = {"task_parameters": [{"instructions": task} for task in tasks]}
            return openai_reply(tool_calls=[("c1", CREATE_TOOL, json.dumps(args))])
        result = json.loads(last["content"])
        if "task_ids" in result:
            args = {"task_ids": result["task_ids"], "execution_mode": model_mode}
            return openai_reply(tool_calls=[("c2", EXECUTE_TOOL, json.dumps(args))])
        return openai_reply("The subagents are done.")

    return respond


@pytest.fixture
def session(model_server: ModelServer, make_session: Callable[..., Session], tmp_path,
            monkeypatch) -> Session:
    """A session on the server whose python tool runs in a namespace of its own."""
    monkeypatch.chdir(tmp_path)
    built = make_session(model_server, "openai", GOOSE_MODEL="gpt-test")
    built.namespace = {}
    return built


def timed(run: Callable[[], SubagentSummary]) -> tuple[SubagentSummary, float]:
    began = time.perf_counter()
    summary = run()
    return summary, time.perf_counter() - began


def statuses(summary: SubagentSummary) -> list[str]:
    return [result.status for result in summary.task_results]


# parallel and sequential --------------------------------------------------------------


def test_parallel_subagents_take_well_under_the_sequential_time(session, model_server):
    model_server.responder = lambda request: slow(echo(request), 0.4)
    session.ask("warm up")
    tasks = [f"task number {n}" for n in range(4)]
    sequential, sequential_s = timed(lambda: session.run_subagents(tasks))
    parallel, parallel_s = timed(lambda: session.run_subagents(tasks, parallel=True))
    for summary in (sequential, parallel):
        assert [r.result for r in summary.task_results] == [f"done: {t}" for t in tasks]
        assert [r.task_id for r in summary.task_results] == ["task_1", "task_2", "task_3",
                                                             "task_4"]
    assert (sequential.mode, parallel.mode) == ("sequential", "parallel")
    assert parallel_s < 0.6 * sequential_s, (parallel_s, sequential_s)
    summary_ratio = (parallel.execution_summary.execution_time_seconds
                     / sequential.execution_summary.execution_time_seconds)
    assert summary_ratio < 0.6


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_timeout_and_failure_leave_the_other_subagents_to_succeed(session, model_server,
                                                                   parallel):
    def respond(request: ReceivedRequest) -> Reply:
        if task_of(request) == "slow task":
            return slow(openai_reply("too late"), 2.0)
        if task_of(request) == "broken task":
            return error_reply(400, "the model gpt-test does not exist")
        return echo(request)

    model_server.responder = respond
    tasks = ["first fine task", {"prompt": "slow task", "timeout": 0.3}, "broken task",
             "second fine task"]
    summary = session.run_subagents(tasks, parallel=parallel)
    assert summary.mode == ("parallel" if parallel else "sequential")
    assert statuses(summary) == ["success", "timeout", "failed", "success"]
    fine, late, broken, fine_too = summary.task_results
    assert fine.result == "done: first fine task"
    assert fine_too.result == "done: second fine task"
    assert late.result is None and late.error == "timed out after 0.3 s"
    assert broken.result is None
    assert "does not exist" in broken.error
    dumped = summary.model_dump()["task_results"]
    assert dumped[1] == {"task_id": "task_2", "status": "timeout",
                         "error": "timed out after 0.3 s"}
    assert "result" not in dumped[2] and dumped[2]["status"] == "failed"
    assert summary.execution_summary.successful_tasks == 2
    assert summary.execution_summary.failed_tasks == 2
    # 400 is not retried: one request for the broken task
    assert len(subagent_requests(model_server, "broken task")) == 1


def test_events_and_progress_table_follow_each_subagent(session, model_server):
    from goose_nb.display.subagents import SubagentProgress

    model_server.responder = lambda request: (
        error_reply(400, "nope") if task_of(request) == "bad" else echo(request))
    progress = SubagentProgress(live=False)
    unsubscribe = session.subscribe(progress)
    try:
        session.run_subagents(["good", "bad"])
    finally:
        unsubscribe()
    started = [e.task_id for e in session.events if isinstance(e, SubagentStarted)]
    finished = [(e.task_id, e.status) for e in session.events if isinstance(e, SubagentFinished)]
    assert started == ["task_1", "task_2"]
    assert finished == [("task_1", "success"), ("task_2", "failed")]
    assert [row[1] for row in progress.rows.values()] == ["✓ success", "✗ failed"]
    assert "Subagents: 2 of 2 done" in progress._render_heading().plain


# what a subagent may do ---------------------------------------------------------------


def test_a_subagent_cannot_spawn_subagents_and_is_not_offered_the_tools(session,
                                                                       model_server):
    def respond(request: ReceivedRequest) -> Reply:
        if steps_before(request) == 0:
            create = json.dumps({"task_parameters": [{"instructions": "nested task"}]})
            execute = json.dumps({"task_ids": ["task_1"]})
            return openai_reply(tool_calls=[("s1", CREATE_TOOL, create),
                                            ("s2", EXECUTE_TOOL, execute)])
        return openai_reply("I could not start subagents.")

    model_server.responder = respond
    summary = session.run_subagents(["spawn two helpers"])
    first, follow_up = model_server.requests
    offered = tool_names(first)
    assert "python" in offered
    assert not offered & {CREATE_TOOL, EXECUTE_TOOL, "platform__manage_extensions",
                          "platform__manage_schedule"}
    results = [m for m in messages(follow_up) if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == ["s1", "s2"]
    for message in results:
        assert NO_SPAWNING in message["content"]
    assert NO_SPAWNING == "subagents cannot spawn subagents"
    # nothing nested ran: the server saw only this subagent's two calls
    assert len(model_server.requests) == 2
    assert summary.task_results[0].result == "I could not start subagents."


def test_subagent_python_reads_the_users_variables_but_cannot_change_them(session,
                                                                         model_server):
    user_list = [1, 2, 3]
    session.namespace.update(df=user_list)

    def respond(request: ReceivedRequest) -> Reply:
        if steps_before(request) == 0 and task_of(request) == "replace df":
            code = "print('rows', len(df))\ndf = None\nnew_var = 1"
            return openai_reply(tool_calls=[python_call("p1", code)])
        if steps_before(request) == 0:
            code = "print('seen', df is None, 'new_var' in globals())"
            return openai_reply(tool_calls=[python_call("p2", code)])
        return openai_reply(tool_contents(request)[-1])

    model_server.responder = respond
    history = list(session.history)
    summary = session.run_subagents(["replace df", "look at df"])
    assert statuses(summary) == ["success", "success"]
    assert "rows 3" in summary.task_results[0].result
    # the second subagent starts from the user's namespace, not the first one's copy
    assert "seen False False" in summary.task_results[1].result
    assert session.namespace == {"df": [1, 2, 3]}
    assert session.namespace["df"] is user_list
    assert session.history == history


def test_each_subagent_starts_with_only_the_system_prompt_and_its_task(session,
                                                                      model_server, tmp_path):
    (tmp_path / ".goosehints").write_text("Always use UTF-8 for files.")
    model_server.responder = echo
    session.ask("Remember the secret word: banana.")
    before = len(session.history)
    session.run_subagents(["Say hi", "Say bye"], parallel=True)
    firsts = [r for r in subagent_requests(model_server) if steps_before(r) == 0]
    assert sorted(task_of(r) for r in firsts) == ["Say bye", "Say hi"]
    for request in firsts:
        sent = messages(request)
        assert [m["role"] for m in sent] == ["system", "user"]
        assert "banana" not in request.body.decode()
        assert "Always use UTF-8 for files." in sent[0]["content"]
        assert SUBAGENT_INSTRUCTIONS in sent[0]["content"]
    assert len(session.history) == before


# models and usage ---------------------------------------------------------------------


def test_subagents_start_on_the_worker_while_the_session_starts_on_the_lead(
        model_server, make_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = make_session(model_server, "openai", GOOSE_LEAD_MODEL="lead-m",
                           GOOSE_MODEL="worker-m")
    session.namespace = {}

    def respond(request: ReceivedRequest) -> Reply:
        if is_subagent(request) and task_of(request) == "flaky" and steps_before(request) < 2:
            return openai_reply(tool_calls=[python_call(f"f{steps_before(request)}", "1/0")],
                                usage=(7, 3))
        return openai_reply("done", usage=(7, 3) if is_subagent(request) else (100, 50))

    model_server.responder = respond
    session.ask("hello")
    assert model_server.models_asked() == ["lead-m"]
    summary = session.run_subagents(["steady", "flaky"])
    assert [r.json["model"] for r in subagent_requests(model_server, "steady")] == ["worker-m"]
    # the session's failure threshold (2) applies: two failed worker steps escalate
    assert [r.json["model"] for r in subagent_requests(model_server, "flaky")] == [
        "worker-m", "worker-m", "lead-m"]
    steady, flaky = summary.task_results
    assert steady.detail.models == [ModelRef(provider="openai", model="worker-m")]
    assert [m.model for m in flaky.detail.models] == ["worker-m", "lead-m"]
    assert (steady.detail.steps, flaky.detail.steps) == (1, 3)
    # the subagents used none of the session's initial lead turns
    session.ask("and again")
    assert model_server.models_asked()[-1] == "lead-m"


def test_subagent_usage_is_accounted_under_its_own_role(model_server, make_session, tmp_path,
                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = make_session(model_server, "openai", GOOSE_LEAD_MODEL="gpt-4o",
                           GOOSE_MODEL="gpt-4o-mini")
    session.namespace = {}
    model_server.responder = lambda request: openai_reply(
        "done", usage=(7, 3) if is_subagent(request) else (100, 50))
    session.ask("hello")
    summary = session.run_subagents(["one", "two"], parallel=True)
    by_role = session.usage.by_role()
    assert by_role["lead"] == Usage(input_tokens=100, output_tokens=50)
    assert by_role["subagent"] == Usage(input_tokens=14, output_tokens=6)
    assert "worker" not in by_role
    assert session.usage.total() == Usage(input_tokens=114, output_tokens=56)
    worker = ModelRef(provider="openai", model="gpt-4o-mini")
    assert session.usage.by_model_role()[worker, "subagent"] == Usage(input_tokens=14,
                                                                      output_tokens=6)
    for result in summary.task_results:
        assert result.detail.usage == Usage(input_tokens=7, output_tokens=3)
        assert result.detail.cost is not None and result.detail.cost > 0
    # the main session's turns are only its own
    assert len(session.turns) == 1


# limits -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "Let me run some more code."], ids=["silent", "chatty"])
def test_a_subagent_that_keeps_calling_tools_stops_at_max_turns_and_fails(
        session, model_server, text):
    model_server.responder = lambda request: openai_reply(
        text, [python_call(f"c{steps_before(request)}", "x = 1")])
    summary = session.run_subagents(["loop forever", {"prompt": "loop briefly",
                                                       "max_turns": 2}], max_turns=3)
    assert len(subagent_requests(model_server, "loop forever")) == 3
    assert len(subagent_requests(model_server, "loop briefly")) == 2
    assert statuses(summary) == ["failed", "failed"]
    forever, briefly = summary.task_results
    assert forever.result is None
    assert "3 turns" in forever.error and "max_turns" in forever.error
    assert "2 turns" in briefly.error
    assert summary.execution_summary.failed_tasks == 2


def test_default_limits_come_from_the_settings(model_server, make_session):
    session = make_session(model_server, "openai", GOOSE_SUBAGENT_TIMEOUT="42",
                           GOOSE_SUBAGENT_MAX_TURNS="4", GOOSE_SUBAGENT_MAX_CONCURRENCY="3")
    settings = session.settings
    assert subagent_limits(settings, "parallel") == RunLimits("parallel", 42.0, 4, 3)
    assert subagent_limits(settings, "sequential", 5.0, 2, 1) == RunLimits("sequential", 5.0,
                                                                           2, 1)
    assert subagent_limits(make_session(model_server).settings, "sequential") == RunLimits(
        "sequential", 300.0, 10, 10)


# the summary --------------------------------------------------------------------------


def test_summary_dict_is_exactly_the_documented_shape(session, model_server):
    def respond(request: ReceivedRequest) -> Reply:
        task = task_of(request)
        if task == "fail":
            return error_reply(400, "bad request")
        if task == "hang":
            return slow(openai_reply("late"), 2.0)
        return openai_reply("all good")

    model_server.responder = respond
    summary = session.run_subagents(
        [SubagentTask(id="alpha", prompt="ok"), "fail", {"prompt": "hang", "timeout": 0.3},
         {"id": "alpha", "prompt": "ok"}], parallel=True)
    data = summary.model_dump()
    seconds = data["execution_summary"]["execution_time_seconds"]
    assert type(seconds) is float and seconds > 0
    assert data == {
        "execution_summary": {"total_tasks": 4, "successful_tasks": 2, "failed_tasks": 2,
                              "execution_time_seconds": seconds},
        "task_results": [
            {"task_id": "alpha", "status": "success", "result": "all good"},
            {"task_id": "task_2", "status": "failed", "error": data["task_results"][1]["error"]},
            {"task_id": "task_3", "status": "timeout", "error": "timed out after 0.3 s"},
            {"task_id": "alpha_", "status": "success", "result": "all good"},
        ],
    }
    assert "bad request" in data["task_results"][1]["error"]
    assert json.loads(json.dumps(data)) == data
    assert summary["task_results"] == data["task_results"]
    assert "Subagents (parallel): 2 of 4 succeeded" in repr(summary)


def test_summary_view_shows_the_table_and_collapsed_transcripts(session, model_server):
    from goose_nb.display.subagents import summary_forms, summary_view

    model_server.responder = lambda request: (
        error_reply(400, "no such model") if task_of(request) == "bad" else
        openai_reply("It costs five euros.", usage=(1200, 30)))
    summary = session.run_subagents(["price check", "bad"])
    static, page = summary_forms(summary)
    markdown = static.markdown
    assert "| task | status | model(s) | turns | tokens in / out | cost | time |" in markdown
    assert "| task_1 | ✓ success | openai/gpt-test | 1 | 1,200 / 30 |" in markdown
    assert "| task_2 | ✗ failed |" in markdown
    assert markdown.count("<details>") == 2
    assert "**Result:** It costs five euros." in markdown
    assert "error: " in markdown and "no such model" in markdown
    assert page.count("<details>") == 2 and "<table>" in page
    without_cost, _ = summary_forms(summary, show_cost=False)
    assert "| cost |" not in without_cost.markdown
    bundle = summary_view(summary)._repr_mimebundle_()
    assert bundle["text/markdown"] == markdown
    assert bundle["text/html"] == page


# the task list and the words --------------------------------------------------------------


def test_yaml_task_lists_parse_and_bad_items_are_named():
    tasks = parse_task_list("- Summarise sales.csv\n- prompt: Plot it\n  timeout: 2m\n"
                            "  max_turns: 5\n- recipe: data-profiler\n  params: {variable: df}\n")
    assert [t.prompt for t in tasks] == ["Summarise sales.csv", "Plot it", None]
    assert (tasks[1].timeout, tasks[1].max_turns) == (120.0, 5)
    assert (tasks[2].recipe, tasks[2].params) == ("data-profiler", {"variable": "df"})
    assert parse_task_list("Use 2 subagents: one for a, one for b") is None
    assert parse_task_list("just words") is None
    for body, fragment in [("- fine\n- {prompt: x, colour: red}\n", "task 2"),
                           ("- fine\n- fine too\n- {timeout: 5m}\n", "task 3"),
                           ("- {prompt: x, max_turns: 0}\n", "task 1"),
                           ("- {prompt: x, timeout: soon}\n", "task 1"),
                           ("[]", "empty")]:
        with pytest.raises(GooseError, match=fragment):
            parse_task_list(body)


@pytest.mark.parametrize(("text", "mode"), [
    ("Create a.html and b.html in parallel", "parallel"),
    ("do both simultaneously", "parallel"),
    ("run them at the same time", "parallel"),
    ("run them concurrently", "parallel"),
    ("First write a.csv, then plot it", "sequential"),
    ("Plot the data after cleaning it", "sequential"),
    ("Create a.html and b.html", None),
    ("Create a.html and b.html; make them timeout after 90 seconds", None),
    ("Create a.html and b.html, timeout after 7 minutes, limit each to 5 turns", None),
])
def test_mode_from_words(text, mode):
    assert mode_from_words(text) == mode


@pytest.mark.parametrize(("text", "limits"), [
    ("timeout after 7 minutes", (420.0, None)),
    ("make them timeout after 90 seconds", (90.0, None)),
    ("limit each to 5 turns", (None, 5)),
    ("time out after 1.5 minutes and limit each subagent to 3 turns", (90.0, 3)),
    ("two tasks in parallel", (None, None)),
])
def test_limits_from_words(text, limits):
    assert limits_from_words(text) == limits


def test_parse_duration():
    assert parse_duration("7m") == 420.0
    assert parse_duration("90s") == 90.0
    assert parse_duration("90") == 90.0
    assert parse_duration(2) == 2.0
    assert parse_duration("1.5 minutes") == 90.0
    for bad in ("soon", "0", "-3s", "7h"):
        with pytest.raises(GooseError):
            parse_duration(bad)


# delegation: the model splits the work --------------------------------------------------


def test_delegate_runs_the_tasks_the_model_creates(session, model_server):
    model_server.responder = delegating("sequential")
    summary = session.delegate("Use 2 subagents to create hello.html and goodbye.html",
                               subagent_limits(session.settings, "sequential"))
    assert summary.mode == "sequential"
    assert [(r.task_id, r.result) for r in summary.task_results] == [
        ("task_1", "done: Create hello.html"), ("task_2", "done: Create goodbye.html")]
    parent = [r for r in model_server.requests if not is_subagent(r)]
    assert {CREATE_TOOL, EXECUTE_TOOL, "python"} <= tool_names(parent[0])
    # the parent reads the §4 summary as the execute tool's result
    assert json.loads(tool_contents(parent[-1])[-1]) == summary.model_dump()
    assert session.turns[-1].answer == "The subagents are done."
    roles = {entry.role for entry in session.usage.entries()}
    assert roles == {None, "subagent"}


@pytest.mark.parametrize(("model_mode", "forced", "expected"), [
    ("sequential", "parallel", "parallel"),
    ("parallel", "sequential", "sequential"),
    ("parallel", None, "parallel"),
    ("sequential", None, "sequential"),
])
def test_delegate_mode_is_the_users_when_given_else_the_models(session, model_server,
                                                               model_mode, forced, expected):
    model_server.responder = delegating(model_mode)
    summary = session.delegate("Use 2 subagents", subagent_limits(session.settings, "sequential"),
                               forced)
    assert summary.mode == expected
    parent_system = system_text(model_server.requests[0])
    assert (f"in {forced} mode" in parent_system) == (forced is not None)


def test_delegate_limits_reach_the_subagents(session, model_server):
    def looping(request: ReceivedRequest) -> Reply:
        return openai_reply(tool_calls=[python_call(f"c{steps_before(request)}", "x = 1")])

    model_server.responder = delegating("parallel", tasks=("loop",), subagent=looping)
    limits = subagent_limits(session.settings, "sequential", max_turns=2)
    summary = session.delegate("Use a subagent to loop", limits)
    assert len(subagent_requests(model_server)) == 2
    assert summary.task_results[0].status == "failed"


def test_delegate_without_subagents_is_an_error(session, model_server):
    model_server.queue(openai_reply("I will just answer myself."))
    with pytest.raises(GooseError, match="without starting any subagents"):
        session.delegate("Use 2 subagents", subagent_limits(session.settings, "sequential"))


def test_alpha_features_offers_the_subagent_tools_to_the_main_agent(model_server, make_session,
                                                                   tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plain = make_session(model_server, "openai", GOOSE_MODEL="gpt-test")
    model_server.queue(openai_reply("plain"))
    plain.ask("hi")
    assert not tool_names(model_server.requests[-1]) & {CREATE_TOOL, EXECUTE_TOOL}

    alpha = make_session(model_server, "openai", GOOSE_MODEL="gpt-test", ALPHA_FEATURES="true")
    alpha.namespace = {}
    model_server.responder = delegating("parallel")
    record = alpha.ask("Use 2 subagents to create hello.html and goodbye.html")
    assert record.answer == "The subagents are done."
    assert len(subagent_requests(model_server)) == 2
    summary = json.loads(tool_contents(model_server.requests[-1])[-1])
    assert summary["execution_summary"]["successful_tasks"] == 2


def test_run_subagents_rejects_no_tasks(session):
    with pytest.raises(GooseError, match="no subagent tasks"):
        session.run_subagents([])


def test_a_list_that_is_not_valid_yaml_is_an_error_not_a_request():
    from goose_nb.subagents.spec import parse_task_list

    with pytest.raises(GooseError, match=r"not valid YAML at line 1 .*quote an item"):
        parse_task_list("- Revenue (units × price): the total: per region\n- Another task")
    assert parse_task_list("Use 2 subagents: one for North, one for South") is None
    # a list after a comment line, and one indented by a tab, are lists too
    with pytest.raises(GooseError, match=r"not valid YAML at line 2 "):
        parse_task_list("# the regions\n- North: rows: 3\n- South")
    with pytest.raises(GooseError, match=r"not valid YAML"):
        parse_task_list("- North\n\t- South")
    # a request in words with a bulleted list in it stays a request
    assert parse_task_list("Do these in parallel:\n- count the rows\n- plot it") is None


def test_progress_sends_one_line_per_task_and_a_rate_limited_heading(session, model_server):
    """100 tasks: each task's line is drawn when it starts and once when it ends, and the
    heading at most a few times a second, so what is sent grows with the number of tasks,
    not with its square."""
    from IPython.testing.globalipapp import start_ipython
    from IPython.utils.capture import capture_output

    from goose_nb.display.subagents import SubagentProgress

    start_ipython()
    timers: list = []
    with capture_output() as captured:
        progress = SubagentProgress(live=True, schedule=lambda delay, fn: timers.append(fn))
        for index in range(100):
            progress(SubagentStarted(f"task_{index}", f"prompt {index}"))
        for index in range(100):
            progress(SubagentFinished(f"task_{index}", "success", 0.5))
        progress.finish()
    by_display: dict[str, list[str]] = {}
    for output in captured.outputs:
        by_display.setdefault(output.transient["display_id"], []).append(
            output.data["text/plain"])
    heading, *lines = by_display.values()
    assert len(lines) == 100 and all(len(texts) == 2 for texts in lines)
    assert lines[7][-1].startswith("task_7 ✓ success · 0.5 s")
    assert len(heading) <= 4 and heading[-1] == "Subagents: 100 of 100 done"
    assert len(timers) == 1  # one trailing draw set while the limit held the heading back
    assert sum(len(o.data["text/plain"]) for o in captured.outputs) < 100 * 200
