"""A model per subagent (``subagents/models.py``), through a real session and the local model
server: each precedence level names its model in the subagent's requests, a subagent with a
model runs on it alone or with the lead its task names, the model may pick only an allowed
model, and usage shows what each model cost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from model_server import (
    ModelServer,
    ReceivedRequest,
    Reply,
    anthropic_reply,
    openai_reply,
    python_call,
)
from test_subagents import is_subagent, steps_before, subagent_requests, task_of, tool_contents

from goose_nb.display.subagents import summary_forms
from goose_nb.display.usage import usage_view
from goose_nb.errors import GooseError
from goose_nb.messages import ModelRef
from goose_nb.subagents.models import split_model
from goose_nb.subagents.run import subagent_limits
from goose_nb.subagents.spec import parse_task_list
from goose_nb.subagents.tools import CREATE_TOOL, EXECUTE_TOOL


def asked(server: ModelServer, task: str) -> list[str]:
    return [r.json["model"] for r in subagent_requests(server, task)]


def answer_all(request: ReceivedRequest) -> Reply:
    if request.path.endswith("/messages"):
        return anthropic_reply("done")
    return openai_reply("done")


def pinned_recipe(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pinned.yaml"
    path.write_text("title: Pinned\ndescription: D\nprompt: pinned task\n"
                    "settings:\n  goose_model: recipe-m\n", encoding="utf-8")
    return path


def test_each_level_of_precedence_names_its_model(model_server, make_session, tmp_path):
    """The session's worker < GOOSE_SUBAGENT_MODEL < the recipe < the task."""
    pinned_recipe(tmp_path / "recipes")
    model_server.responder = answer_all
    plain = make_session(model_server, GOOSE_MODEL="worker-m")
    plain.namespace = {}
    plain.run_subagents(["on the worker"])
    assert asked(model_server, "on the worker") == ["worker-m"]

    session = make_session(model_server, GOOSE_MODEL="worker-m", GOOSE_SUBAGENT_MODEL="sub-m",
                           GOOSE_RECIPE_PATH=str(tmp_path / "recipes"))
    session.namespace = {}
    summary = session.run_subagents(parse_task_list(
        "- on the subagent model\n"
        "- recipe: pinned\n"
        "- {recipe: pinned, prompt: task over recipe, model: task-m}\n"
        "- {prompt: on another provider, model: anthropic/claude-task}\n"))
    assert asked(model_server, "on the subagent model") == ["sub-m"]
    assert asked(model_server, "pinned task") == ["recipe-m"]
    assert asked(model_server, "task over recipe") == ["task-m"]
    other = [r for r in model_server.requests if r.path.endswith("/messages")]
    assert [r.json["model"] for r in other] == ["claude-task"]
    assert [r.detail.models for r in summary.task_results] == [
        [ModelRef(provider="openai", model="sub-m")],
        [ModelRef(provider="openai", model="recipe-m")],
        [ModelRef(provider="openai", model="task-m")],
        [ModelRef(provider="anthropic", model="claude-task")]]
    static, _ = summary_forms(summary)
    assert "openai/recipe-m" in static.plain and "anthropic/claude-task" in static.plain


def test_the_subagent_provider_applies_to_the_subagent_model(model_server, make_session):
    model_server.responder = answer_all
    session = make_session(model_server, GOOSE_MODEL="worker-m",
                           GOOSE_SUBAGENT_PROVIDER="anthropic",
                           GOOSE_SUBAGENT_MODEL="claude-sub")
    session.namespace = {}
    session.run_subagents(["one", {"prompt": "two", "model": "claude-own"}])
    assert [r.json["model"] for r in model_server.requests] == ["claude-sub", "claude-own"]
    assert all(r.path.endswith("/messages") for r in model_server.requests)


def test_a_subagent_model_runs_alone_even_when_the_session_has_lead_worker(
        model_server, make_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = make_session(model_server, GOOSE_LEAD_MODEL="lead-m", GOOSE_MODEL="worker-m",
                           GOOSE_SUBAGENT_MODEL="sub-m")
    session.namespace = {}

    def respond(request: ReceivedRequest) -> Reply:
        if is_subagent(request) and steps_before(request) < 3:  # failing, again and again
            return openai_reply(tool_calls=[python_call(f"f{steps_before(request)}", "1/0")])
        return openai_reply("done")

    model_server.responder = respond
    session.run_subagents(["flaky"])
    assert asked(model_server, "flaky") == ["sub-m"] * 4  # no lead is pulled in


def test_a_task_naming_a_lead_brings_lead_worker_inside_it(model_server, make_session,
                                                           tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = make_session(model_server, GOOSE_MODEL="worker-m")  # lead/worker off
    session.namespace = {}

    def respond(request: ReceivedRequest) -> Reply:
        if is_subagent(request) and task_of(request) == "flaky" and steps_before(request) < 2:
            return openai_reply(tool_calls=[python_call(f"f{steps_before(request)}", "1/0")])
        return openai_reply("done")

    model_server.responder = respond
    summary = session.run_subagents(
        [{"prompt": "flaky", "model": "small-m", "lead_model": "big-m"}])
    # the session's failure threshold (2): two failed worker steps pull the task's lead in
    assert asked(model_server, "flaky") == ["small-m", "small-m", "big-m"]
    assert [m.model for m in summary.task_results[0].detail.models] == ["small-m", "big-m"]


def test_the_model_may_choose_only_an_allowed_model(model_server, make_session):
    session = make_session(model_server, GOOSE_MODEL="worker-m",
                           GOOSE_SUBAGENT_MODELS="fast-m, anthropic/claude-fast")
    tasks = [{"instructions": "expensive", "model": "gpt-huge"},
             {"instructions": "cheap", "model": "fast-m"}]
    replies = iter([
        openai_reply(tool_calls=[("c1", CREATE_TOOL, json.dumps({"task_parameters": tasks}))]),
        openai_reply(tool_calls=[("c2", CREATE_TOOL,
                                  json.dumps({"task_parameters": tasks[1:]}))]),
        openai_reply(tool_calls=[("c3", EXECUTE_TOOL, json.dumps({"task_ids": ["task_2"]}))]),
    ])
    model_server.responder = lambda request: (openai_reply("done") if is_subagent(request)
                                              else next(replies, openai_reply("reported")))
    summary = session.delegate("do it", subagent_limits(session.settings, "sequential"))
    refused = tool_contents(model_server.requests[1])[0]
    assert refused == ("task 1: model 'gpt-huge' is not one the user allows for subagents "
                       "(allowed: fast-m, anthropic/claude-fast); leave `model` out to use "
                       "the default")
    assert asked(model_server, "cheap") == ["fast-m"]
    assert summary.task_results[0].status == "success"
    create = next(t for t in model_server.requests[0].json["tools"]
                  if t["function"]["name"] == CREATE_TOOL)
    assert "one of: fast-m, anthropic/claude-fast" in create["function"]["description"]


def test_without_an_allowed_list_the_model_cannot_choose(model_server, make_session):
    session = make_session(model_server, GOOSE_MODEL="worker-m")
    tasks = [{"instructions": "x", "model": "worker-m"}]
    replies = iter([openai_reply(tool_calls=[
        ("c1", CREATE_TOOL, json.dumps({"task_parameters": tasks}))])])
    model_server.responder = lambda request: next(replies, openai_reply("gave up"))
    with pytest.raises(GooseError, match="answered without starting any subagents"):
        session.delegate("do it", subagent_limits(session.settings, "sequential"))
    assert "none: the user has not set GOOSE_SUBAGENT_MODELS" in \
        tool_contents(model_server.requests[1])[0]


def test_the_users_model_for_a_run_and_the_magic_flag(model_server, make_session):
    model_server.responder = answer_all
    session = make_session(model_server, GOOSE_MODEL="worker-m")
    session.namespace = {}
    session.run_subagents(["a", {"prompt": "b", "model": "own-m"}], model="run-m")
    assert asked(model_server, "a") == ["run-m"] and asked(model_server, "b") == ["own-m"]


def test_usage_shows_each_subagent_model_under_the_subagent_role(model_server, make_session):
    model_server.responder = lambda request: openai_reply("done", usage=(1000, 100))
    session = make_session(model_server, GOOSE_MODEL="gpt-4o", GOOSE_SUBAGENT_MODEL="gpt-4o-mini")
    session.namespace = {}
    session.ask("hello")
    session.run_subagents(["one", {"prompt": "two", "model": "gpt-4.1-nano"}])
    rows = session.usage.by_model_role()
    assert set(rows) == {(ModelRef(provider="openai", model="gpt-4o"), None),
                         (ModelRef(provider="openai", model="gpt-4o-mini"), "subagent"),
                         (ModelRef(provider="openai", model="gpt-4.1-nano"), "subagent")}
    shown = usage_view(session.usage, True, None, session.price_book()).plain
    for model in ("openai/gpt-4o-mini", "openai/gpt-4.1-nano"):
        line = next(row for row in shown.splitlines() if row.startswith(model))
        assert "subagent" in line and "$" in line, line


def test_bad_model_settings_are_one_line_errors(model_server, make_session):
    session = make_session(model_server, GOOSE_SUBAGENT_PROVIDER="anthropic")
    session.namespace = {}
    [result] = session.run_subagents(["x"]).task_results
    assert result.status == "failed" and result.error == (
        "GOOSE_SUBAGENT_PROVIDER is set but GOOSE_SUBAGENT_MODEL is not: set "
        "GOOSE_SUBAGENT_MODEL too")
    session = make_session(model_server)
    session.namespace = {}
    results = session.run_subagents([{"prompt": "x", "provider": "anthropic"},
                                     {"prompt": "y", "model": "m", "provider": "mistral"}]
                                    ).task_results
    assert [r.error for r in results] == [
        "the task names provider 'anthropic' but no model: add `model:`",
        "provider 'mistral' is not supported (use one of openai, anthropic, ollama, replay)"]


@pytest.mark.parametrize(("text", "split"), [
    ("gpt-4o-mini", (None, "gpt-4o-mini")),
    ("anthropic/claude-haiku", ("anthropic", "claude-haiku")),
    ("meta-llama/Llama-3.1-8B", (None, "meta-llama/Llama-3.1-8B")),
    ("Ollama/qwen3:4b", ("ollama", "qwen3:4b")),
])
def test_split_model(text, split):
    assert split_model(text) == split
