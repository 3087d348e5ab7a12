"""Planning mode through the local model server and the in-process IPython shell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import register_goose
from conftest import run_cell as run
from IPython.core.error import UsageError
from model_server import ModelServer, openai_reply

from goose_nb.magics.goose import GooseMagics
from goose_nb.planning.plan import parse_planner_answer, plan_from_text

PLAN = {"type": "plan", "title": "Revenue chart",
        "steps": [{"do": "Load sales.csv into df", "check": "df has rows"},
                  {"do": "Plot revenue by month", "check": "a chart is shown"}]}
QUESTIONS = {"type": "questions", "questions": ["Which file holds the sales?",
                                                "Monthly or weekly?"]}


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.fixture
def goose(shell, server, tmp_path: Path, monkeypatch) -> Iterator[GooseMagics]:
    magics = register_goose(shell, server, tmp_path, monkeypatch,
                            "sk-test-PLANNINGKEY1234567890", GOOSE_PROVIDER="openai",
                            GOOSE_MODEL="worker-m", GOOSE_LEAD_MODEL="lead-m",
                            GOOSE_PLANNER_MODEL="planner-m")
    magics.session.namespace = {}
    yield magics
    magics.session.close()


def test_the_plan_request_goes_to_the_planner_without_tools(goose, shell, server):
    server.queue(openai_reply(json.dumps(PLAN)))
    result, text = run(shell, "%%goose_plan\nChart revenue by month.")
    assert result.error_in_exec is None
    body = server.requests[0].json
    assert body["model"] == "planner-m"
    assert "tools" not in body
    system = body["messages"][0]["content"]
    assert "You are the planner" in system
    assert "- python:" in system and "- shell:" in system  # the executor's tools
    assert "1. [ ] Load sales.csv into df — *check:* df has rows" in text
    assert "%goose_plan run" in text
    assert [s.do for s in goose.session.current_plan.steps] == ["Load sales.csv into df",
                                                        "Plot revenue by month"]


def test_questions_then_answers_then_a_plan(goose, shell, server):
    server.queue(openai_reply(json.dumps(QUESTIONS)), openai_reply(json.dumps(PLAN)))
    _, text = run(shell, "%%goose_plan\nChart the sales.")
    assert "1. Which file holds the sales?" in text and "2. Monthly or weekly?" in text
    assert goose.session.current_plan is None
    run(shell, "%%goose_plan\n1. sales.csv\n2. monthly")
    follow_up = server.requests[1].json["messages"]
    assert [m["role"] for m in follow_up[1:]] == ["user", "assistant", "user"]
    assert "Which file" in follow_up[2]["content"]
    assert goose.session.current_plan is not None and goose.session.plan_questions == []


def test_running_the_plan_goes_to_the_lead_after_the_planner(goose, shell, server):
    server.queue(openai_reply(json.dumps(PLAN)),
                 openai_reply("Loaded. ✓ Step 1\nPlotted. ✓ Step 2\nAll done."))
    run(shell, "%%goose_plan\nChart revenue by month.")
    result, text = run(shell, "%goose_plan run")
    assert result.error_in_exec is None
    assert server.models_asked() == ["planner-m", "lead-m"]
    run_prompt = server.requests[1].json["messages"][-1]["content"]
    assert "1. Load sales.csv into df — check: df has rows" in run_prompt
    assert all(step.done for step in goose.session.current_plan.steps)
    assert "1. [x] Load sales.csv" in text


def test_steps_reported_in_any_step_of_the_run_are_ticked(goose, shell, server):
    call = ("call_1", "python", json.dumps({"code": "loaded = True"}))
    server.queue(openai_reply(json.dumps(PLAN)),
                 openai_reply("Loading first. ✓ Step 1", [call]),
                 openai_reply("✓ Step 2\nThe chart is done."))
    run(shell, "%%goose_plan\nChart revenue by month.")
    run(shell, "%goose_plan run")
    assert [step.done for step in goose.session.current_plan.steps] == [True, True]


def test_a_plan_run_again_is_ticked_afresh(goose, shell, server):
    call = ("call_1", "python", json.dumps({"code": "loaded = True"}))
    server.queue(openai_reply(json.dumps(PLAN)),
                 openai_reply("On it.", [call]), openai_reply("✓ Step 1 ✓ Step 2"),
                 openai_reply("✓ Step 1, and step 2 could not be done this time."))
    run(shell, "%%goose_plan\nChart revenue by month.")
    run(shell, "%goose_plan run")
    steps = goose.session.current_plan.steps
    assert [step.done for step in steps] == [True, True] and steps[0].agent_steps
    _, text = run(shell, "%goose_plan run")
    assert [step.done for step in steps] == [True, False]
    assert [step.agent_steps for step in steps] == [[], []]  # no tool call this time
    assert "2. [ ] Plot revenue by month" in text and "plan_step_1" not in text


def test_the_edited_plan_is_what_runs(goose, shell, server):
    server.queue(openai_reply(json.dumps(PLAN)), openai_reply("Done."))
    run(shell, "%%goose_plan\nChart revenue by month.")
    run(shell, "%%goose_plan set\nWeekly chart\n1. Load weekly.csv\n2. Plot it weekly")
    run(shell, "%goose_plan run")
    run_prompt = server.requests[1].json["messages"][-1]["content"]
    assert "Weekly chart" in run_prompt and "1. Load weekly.csv" in run_prompt
    assert "sales.csv" not in run_prompt


def test_edit_puts_the_plan_in_the_next_cell(goose, shell, server):
    server.queue(openai_reply(json.dumps(PLAN)))
    run(shell, "%%goose_plan\nChart revenue by month.")
    run(shell, "%goose_plan edit")
    assert shell.rl_next_input.startswith("%%goose_plan set\nRevenue chart\n1. Load sales.csv")


def test_malformed_planner_output_is_shown_and_nothing_runs(goose, shell, server):
    server.queue(openai_reply("I think you should just do it."))
    result, text = run(shell, "%%goose_plan\nChart revenue by month.")
    assert result.error_in_exec is None
    assert "neither questions nor a plan" in text
    assert "I think you should just do it." in text
    result, _ = run(shell, "%goose_plan run")
    assert isinstance(result.error_in_exec, UsageError)
    assert "no plan to run" in str(result.error_in_exec)
    assert len(server.requests) == 1


def test_discard_and_show(goose, shell, server):
    server.queue(openai_reply(json.dumps(PLAN)))
    run(shell, "%%goose_plan\nChart revenue by month.")
    _, text = run(shell, "%goose_plan show")
    assert "Plan: Revenue chart" in text
    _, status = run(shell, "%goose status")
    assert "| plan | Revenue chart (0 of 2 steps done) |" in status
    run(shell, "%goose_plan discard")
    result, _ = run(shell, "%goose_plan show")
    assert isinstance(result.error_in_exec, UsageError)


def test_planner_defaults_to_the_lead_with_a_notice(goose, shell, server, monkeypatch):
    monkeypatch.delenv("GOOSE_PLANNER_MODEL")
    run(shell, "%goose reload")
    server.queue(openai_reply(json.dumps(PLAN)))
    _, text = run(shell, "%%goose_plan\nChart it.")
    assert server.models_asked() == ["lead-m"]
    assert "planning with the lead model openai/lead-m" in text


def test_planner_defaults_to_the_worker_without_a_lead(goose, shell, server, monkeypatch):
    monkeypatch.delenv("GOOSE_PLANNER_MODEL")
    monkeypatch.delenv("GOOSE_LEAD_MODEL")
    run(shell, "%goose reload")
    server.queue(openai_reply(json.dumps(PLAN)))
    _, text = run(shell, "%%goose_plan\nChart it.")
    assert server.models_asked() == ["worker-m"]
    assert "planning with the worker model openai/worker-m" in text


def test_a_misconfigured_planner_names_the_variable(goose, shell, server, monkeypatch):
    monkeypatch.delenv("GOOSE_PLANNER_MODEL")
    monkeypatch.setenv("GOOSE_PLANNER_PROVIDER", "anthropic")
    run(shell, "%goose reload")
    result, _ = run(shell, "%%goose_plan\nChart it.")
    assert "GOOSE_PLANNER_MODEL" in str(result.error_in_exec)
    monkeypatch.setenv("GOOSE_PLANNER_PROVIDER", "gemini")
    run(shell, "%goose reload")
    result, _ = run(shell, "%%goose_plan\nChart it.")
    assert "GOOSE_PLANNER_PROVIDER=gemini" in str(result.error_in_exec)
    assert server.requests == []


@pytest.mark.parametrize(
    ("text", "kind", "count"),
    [
        (json.dumps(PLAN), "plan", 2),
        ("```json\n" + json.dumps(QUESTIONS) + "\n```", "questions", 2),
        ("Plan: Tidy up\n1. Drop empty rows — check: no NaN left\n2. Save it", "plan", 2),
        ("1. Which column is the date?\n2. Which currency?", "questions", 2),
        ("Sure, happy to help!", "text", 0),
        ('{"type": "plan", "steps": []}', "text", 0),
    ],
)
def test_planner_answers_are_read_in_json_or_markdown(text, kind, count):
    answer = parse_planner_answer(text)
    assert answer.kind == kind
    assert len(answer.questions or (answer.plan.steps if answer.plan else [])) == count


def test_plan_text_round_trips_and_ticks():
    plan = plan_from_text("Tidy\n1. Drop empty rows — check: no NaN left\n2. Save it")
    assert plan.title == "Tidy" and plan.steps[0].check == "no NaN left"
    assert plan_from_text(plan.text()).steps == plan.steps
    assert plan.tick("Dropped them. ✓ Step 1") == 1
    assert plan.tick("Step 2 is done.") == 2
    assert plan.tick("✓ Step 9") == 2
