"""The agent loop against the local model server: tools run, results go back, steps are
classified, bad tool calls never crash a turn, and the approval modes hold."""

from __future__ import annotations

import json

import pytest
from model_server import anthropic_reply, ollama_reply, openai_reply, python_call

from goose_nb.events import Notice, StepClassified, StepFailed, ToolCallFinished
from goose_nb.session import Session
from goose_nb.tools.runner import Approval


def tool_messages(request_json: dict) -> list[dict]:
    return [m for m in request_json["messages"] if m["role"] == "tool"]


@pytest.fixture
def namespace() -> dict:
    return {}


@pytest.fixture
def session(model_server, make_session, namespace, tmp_path, monkeypatch) -> Session:
    monkeypatch.chdir(tmp_path)
    built = make_session(model_server, "openai", GOOSE_MODEL="gpt-test")
    built.namespace = namespace
    return built


def events_of(session: Session, kind: type) -> list:
    return [event for event in session.events if isinstance(event, kind)]


def test_python_tool_call_changes_the_users_namespace(session, model_server, namespace):
    model_server.queue(
        openai_reply("", [python_call("call_1", "x = 6 * 7")]),
        openai_reply("x is now 42."),
    )
    record = session.ask("Set x to six times seven.")
    assert namespace["x"] == 42
    assert record.answer == "x is now 42."
    assert len(record.steps) == 2
    [outcome_1, outcome_2] = [e.outcome for e in events_of(session, StepClassified)]
    assert outcome_1.kind == "clean" and outcome_2.kind == "text_only"
    second = model_server.requests[1].json
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "python"
    assert tool_messages(second) == [
        {"role": "tool", "tool_call_id": "call_1", "content": "(ran with no output)"}]
    assert [m.role for m in session.history] == ["user", "assistant", "tool", "assistant"]


def test_python_error_goes_back_to_the_model_and_is_classified(session, model_server):
    model_server.queue(
        openai_reply("", [python_call("call_1", "1/0")]),
        openai_reply("Dividing by zero is not defined."),
    )
    session.ask("Divide one by zero.")
    [result] = tool_messages(model_server.requests[1].json)
    assert "ZeroDivisionError" in result["content"]
    [failed] = events_of(session, StepFailed)
    assert (failed.kind, failed.detail) == ("python_error", "ZeroDivisionError")
    assert session.turns[-1].steps[0].outcome.failed


@pytest.mark.parametrize(
    ("call", "kind", "fragment"),
    [
        (("call_1", "teleport", "{}"), "unknown_tool", "unknown tool 'teleport'"),
        (("call_1", "python", '{"code": "1 +'), "bad_arguments", "not a JSON object"),
        (("call_1", "python", '{"source": "1"}'), "bad_arguments", "code: Field required"),
        (("call_1", "python", '["x = 1"]'), "bad_arguments", "not a JSON object"),
    ],
)
def test_bad_tool_calls_get_an_error_result_not_a_crash(session, model_server, call, kind,
                                                         fragment):
    model_server.queue(openai_reply("", [call]), openai_reply("Sorry, retrying differently."))
    record = session.ask("Do something.")
    assert record.status == "ok"
    [result] = tool_messages(model_server.requests[1].json)
    assert fragment in result["content"]
    [failed] = events_of(session, StepFailed)
    assert failed.kind == kind


def test_several_tool_calls_in_one_step_run_in_order(session, model_server, namespace):
    model_server.queue(
        openai_reply("", [python_call("a", "log = ['first']"),
                          python_call("b", "log.append('second')")]),
        openai_reply("done"),
    )
    session.ask("Two things.")
    assert namespace["log"] == ["first", "second"]
    assert [m["tool_call_id"] for m in tool_messages(model_server.requests[1].json)] == ["a", "b"]


def test_one_failing_call_makes_the_step_failed(session, model_server):
    model_server.queue(
        openai_reply("", [python_call("a", "ok = 1"), python_call("b", "undefined_name")]),
        openai_reply("done"),
    )
    session.ask("Two things.")
    outcome = session.turns[-1].steps[0].outcome
    assert outcome.failed
    assert [f.detail for f in outcome.failures] == ["NameError"]


def test_chat_mode_offers_no_tools(model_server, make_session):
    model_server.queue(openai_reply("Just text."))
    session = make_session(model_server, "openai", GOOSE_MODE="chat")
    session.ask("hello")
    body = model_server.requests[0].json
    assert "tools" not in body
    assert "No tools are available" in body["messages"][0]["content"]


def test_other_modes_offer_the_builtin_tools(session, model_server):
    model_server.queue(openai_reply("Hi."))
    session.ask("hello")
    names = [t["function"]["name"] for t in model_server.requests[0].json["tools"]]
    assert names == ["python", "list_variables", "read_file", "write_file", "edit_file",
                     "shell"]


def test_approve_mode_declined_call_does_not_run(model_server, make_session, namespace):
    asked = []

    async def decline(tool, call):
        asked.append(call.name)
        return Approval(False)

    model_server.queue(
        openai_reply("", [python_call("call_1", "side_effect = True")]),
        openai_reply("Understood, I did not run it."),
    )
    session = make_session(model_server, "openai", GOOSE_MODE="approve")
    session.namespace, session.approver = namespace, decline
    session.ask("Set a flag.")
    assert asked == ["python"]
    assert "side_effect" not in namespace
    [result] = tool_messages(model_server.requests[1].json)
    assert "declined" in result["content"]
    assert session.turns[-1].steps[0].outcome.kind == "clean"


def test_smart_approve_asks_only_for_tools_that_change_things(model_server, make_session,
                                                             namespace):
    asked = []

    async def allow(tool, call):
        asked.append(call.name)
        return Approval(True)

    model_server.queue(
        openai_reply("", [("a", "list_variables", "{}"), python_call("b", "y = 1")]),
        openai_reply("done"),
    )
    session = make_session(model_server, "openai", GOOSE_MODE="smart_approve")
    session.namespace, session.approver = namespace, allow
    session.ask("Look, then act.")
    assert asked == ["python"]
    assert namespace["y"] == 1


def test_the_step_limit_stops_the_turn_with_a_notice(model_server, make_session):
    model_server.queue(*[openai_reply("", [python_call(f"c{i}", "pass")]) for i in range(3)])
    session = make_session(model_server, "openai", GOOSE_MAX_STEPS="3")
    record = session.ask("Loop forever.")
    assert record.status == "ok" and record.hit_step_limit
    assert len(model_server.requests) == 3
    [notice] = events_of(session, Notice)
    assert "GOOSE_MAX_STEPS" in notice.text
    # the history stays valid for the next request: every tool call has its result
    assert session.history[-1].role == "tool"
    model_server.queue(openai_reply("Continuing."))
    assert session.ask("go on").answer == "Continuing."


def test_shell_and_file_tools_work_in_the_kernel_folder(session, model_server, tmp_path):
    model_server.queue(
        openai_reply("", [("a", "write_file", json.dumps({"path": "notes/a.txt",
                                                         "content": "alpha\nbeta\n"}))]),
        openai_reply("", [("b", "edit_file", json.dumps({"path": "notes/a.txt",
                                                        "old": "beta", "new": "gamma"}))]),
        openai_reply("", [("c", "shell", json.dumps({"command": "cat notes/a.txt"}))]),
        openai_reply("", [("d", "shell", json.dumps({"command": "exit 3"}))]),
        openai_reply("The file says alpha and gamma."),
    )
    session.ask("Make a note.")
    assert (tmp_path / "notes" / "a.txt").read_text() == "alpha\ngamma\n"
    results = [e for e in events_of(session, ToolCallFinished)]
    assert "alpha\ngamma" in results[2].result.content
    assert results[3].failure.kind == "shell_error" and "3" in results[3].failure.detail


def test_tool_results_use_each_providers_wire_format(model_server, make_session, namespace):
    """The same python call round-trips through Anthropic and Ollama too."""
    model_server.queue(
        anthropic_reply("Computing.", [("toolu_1", "python", '{"code": "z = 2 ** 10"}')]),
        anthropic_reply("z is 1024."),
    )
    session = make_session(model_server, "anthropic")
    session.namespace = namespace
    assert session.ask("Compute z.").answer == "z is 1024."
    assert namespace["z"] == 1024
    follow_up = model_server.requests[1].json["messages"]
    assert follow_up[-1]["role"] == "user"
    assert follow_up[-1]["content"][0]["type"] == "tool_result"
    assert follow_up[-1]["content"][0]["tool_use_id"] == "toolu_1"

    model_server.queue(ollama_reply("", [("python", {"code": "w = 'ollama'"})]),
                       ollama_reply("w is set."))
    session = make_session(model_server, "ollama")
    session.namespace = namespace
    assert session.ask("Set w.").answer.strip() == "w is set."
    assert namespace["w"] == "ollama"
    assert model_server.requests[-1].json["messages"][-1]["role"] == "tool"


def test_goosehints_reach_the_system_prompt(session, model_server, tmp_path, monkeypatch):
    (tmp_path / ".goosehints").write_text("Always use metric units.")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    model_server.queue(openai_reply("OK."))
    session.ask("hello")
    assert "Always use metric units." in model_server.requests[0].json["messages"][0]["content"]


def test_a_long_history_is_trimmed_before_the_request_with_a_notice(model_server,
                                                                   make_session):
    session = make_session(model_server, "openai", GOOSE_CONTEXT_LIMIT="2000")
    for index in range(4):
        model_server.queue(openai_reply(f"answer {index} " + "word " * 300))
        session.ask(f"question {index}")
    notices = events_of(session, Notice)
    assert notices and "oldest turn" in notices[0].text
    last = model_server.requests[-1].json
    sent = " ".join(str(m["content"]) for m in last["messages"])
    assert "question 0" not in [m["content"] for m in last["messages"] if m["role"] == "user"]
    assert "question 3" in sent
    assert "Earlier turns of this session" in last["messages"][0]["content"]
    assert len(json.dumps(last)) / 3.5 < 2000 * 0.8 + 300  # under budget (tool schemas too)
