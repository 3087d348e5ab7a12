"""External subagents: another agent run as an MCP server, delegated to like a subagent.

Configured exactly as Goose's subagent guide configures Codex (an extension named
``subagent`` running ``codex mcp``), with ``tests/mcp_agent_stub.py`` standing in for the
Codex CLI: the same tools (``codex``, ``codex-reply``) and arguments, doing real work on the
kernel's folder. The model, where one is needed, is the local server, scripted.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from conftest import OPENAI_KEY, register_goose, run_cell
from model_server import openai_reply
from test_extensions import calls, config, stdio_entry
from test_subagents import tool_contents

from goose_nb.display.subagents import summary_forms
from goose_nb.errors import GooseError
from goose_nb.subagents.spec import parse_task_list

AGENT = Path(__file__).with_name("mcp_agent_stub.py")
#: the guide's entry, with the stand-in's command in place of ``codex``
GUIDE_ENTRY = stdio_entry("subagent", sys.executable, [str(AGENT)],
                          description="OpenAI Codex CLI Sub-agent", env_keys=["OPENAI_API_KEY"])


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """The notebook's folder, where the external agent works."""
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "model.py").write_text("x = 1\n" * 50, encoding="utf-8")
    (folder / "src" / "util.py").write_text("y = 2\n", encoding="utf-8")
    (folder / "README.md").write_text("# project\n", encoding="utf-8")
    monkeypatch.chdir(folder)
    return folder


def test_a_task_list_item_runs_on_the_external_agent_without_the_model(model_server,
                                                                       make_session, project):
    session = make_session(model_server, config=config(GUIDE_ENTRY))
    tasks = parse_task_list("- extension: codex\n  prompt: analyze my codebase structure\n")
    summary = session.run_subagents(tasks)
    [result] = summary.task_results
    assert result.status == "success", result.error
    assert result.result is not None and result.result.startswith(
        "Codebase of project: 3 files (1 .md, 2 .py); largest: src/model.py")
    assert result.detail.external_tool == "subagent__codex"
    assert result.detail.prompt == "codex: analyze my codebase structure"
    assert result.detail.seconds > 0
    assert model_server.requests == []  # the external agent did it all
    static, page = summary_forms(summary)
    assert "subagent__codex (external)" in static.plain and "subagent__codex" in page
    # its tokens and bill are the external agent's own: unknown, never a made-up zero
    row = next(line for line in static.plain.splitlines() if line.startswith("task_1 "))
    assert row.split()[5:8] == ["1", "—", "—"], row
    assert "Codebase of project: 3 files" in static.plain


def test_in_words_the_model_gives_the_task_to_the_named_subagent(model_server, make_session,
                                                                 project):
    """The guide's example, "Use the codex subagent to analyze my codebase structure": the
    model creates the task for the extension, runs it, and reports."""
    session = make_session(model_server, config=config(GUIDE_ENTRY))
    model_server.responder = calls(
        ("dynamic_task__create_task", {"task_parameters": [
            {"instructions": "analyze my codebase structure", "extension": "codex"}]}),
        ("subagent__execute_task", {"task_ids": ["task_1"]}),
        answer="Codex found 3 files.")
    summary = session.delegate("Use the codex subagent to analyze my codebase structure",
                               session_limits(session))
    assert summary.model_dump()["task_results"][0]["status"] == "success"
    first = model_server.requests[0].json
    created = next(t for t in first["tools"]
                   if t["function"]["name"] == "dynamic_task__create_task")
    task_schema = json.dumps(created["function"]["parameters"])
    assert "external agent" in task_schema
    assert "subagent__codex" in {t["function"]["name"] for t in first["tools"]}
    created_ids, executed = tool_contents(model_server.requests[-1])
    assert json.loads(created_ids) == {"task_ids": ["task_1"]}
    reported = json.loads(executed)["task_results"][0]
    assert reported["result"].startswith("Codebase of project: 3 files")
    assert session.turns[-1].answer == "Codex found 3 files."


def session_limits(session):
    from goose_nb.subagents.run import subagent_limits

    return subagent_limits(session.settings, "sequential")


def test_the_agents_failure_is_the_tasks_error_and_the_others_go_on(model_server,
                                                                    make_session, project):
    session = make_session(model_server, config=config(GUIDE_ENTRY))
    summary = session.run_subagents(parse_task_list(
        "- extension: subagent\n  prompt: refuse this\n"
        "- extension: subagent__codex\n  prompt: analyze it\n"
        "- extension: claude\n  prompt: analyze it\n"))
    refused, analyzed, unknown = summary.task_results
    assert refused.status == "failed"
    assert "the agent refuses this task" in (refused.error or "")
    assert analyzed.status == "success"
    assert unknown.status == "failed" and unknown.error == (
        "no running extension, or extension tool, named 'claude'; configure the external "
        "agent as an extension (`%goose extensions` lists them)")


def test_a_tool_without_a_prompt_argument_is_not_an_agent(model_server, make_session,
                                                         project):
    stub = Path(__file__).with_name("mcp_stub.py")
    session = make_session(model_server, config=config(
        stdio_entry("stub", sys.executable, [str(stub)])))
    [result] = session.run_subagents(parse_task_list(
        "- extension: stub\n  prompt: count\n")).task_results
    assert result.status == "failed"
    assert (result.error or "").startswith("'stub' has no tool that takes a prompt (one of "
                                           "prompt, task, instructions, message, query, input)")


def test_parallel_external_agents_overlap(model_server, make_session, project):
    """Two one-second tasks: in parallel the run takes about as long as one of them."""
    session = make_session(model_server, config=config(GUIDE_ENTRY))
    tasks = "- extension: codex\n  prompt: sleep 1 then say hi\n" * 2
    session.run_subagents(parse_task_list("- extension: codex\n  prompt: warm up\n"))
    began = time.perf_counter()
    sequential = session.run_subagents(parse_task_list(tasks))
    sequential_seconds = time.perf_counter() - began
    began = time.perf_counter()
    parallel = session.run_subagents(parse_task_list(tasks), parallel=True)
    parallel_seconds = time.perf_counter() - began
    assert [r.status for r in sequential.task_results + parallel.task_results] == \
        ["success"] * 4
    assert parallel_seconds < 0.8 * sequential_seconds


def test_an_external_task_needs_a_prompt_and_no_recipe():
    with pytest.raises(GooseError, match="task 1 of the list is not valid: a task for an "
                                         "external agent"):
        parse_task_list("- extension: codex\n  recipe: data-profiler\n")


def test_the_magic_runs_an_external_task_and_shows_it_in_the_summary(shell, model_server,
                                                                     tmp_path, monkeypatch,
                                                                     project):
    config_path = tmp_path / "config.yaml"
    config_path.write_text(config(GUIDE_ENTRY), encoding="utf-8")
    magics = register_goose(shell, model_server, tmp_path, monkeypatch, OPENAI_KEY,
                            GOOSE_PROVIDER="openai", GOOSE_CONFIG_PATH=str(config_path))
    model_server.responder = lambda request: openai_reply("unused")
    try:
        result, shown = run_cell(shell, "%%goose_subagents\n- extension: codex\n"
                                        "  prompt: analyze my codebase structure\n")
        assert result.error_in_exec is None, shown
        assert "subagent__codex (external)" in shown
        assert "Codebase of project: 3 files" in shown
    finally:
        magics.session.close()
