"""What real OpenAI-compatible servers and small local models do, scripted on the local server.

Each case was seen against llama-cpp-python 0.3.36's server: no output
limit sent, no usage reported, a 500 for a request the server's own validation refused,
empty answers, answers cut at the limit, tool-call arguments with raw newlines.
"""

from __future__ import annotations

import json

import pytest
from conftest import OPENAI_KEY, register_goose, run_cell
from model_server import ModelServer, error_reply, ollama_reply, openai_reply, python_call

from goose_nb.display.usage import usage_view
from goose_nb.errors import BadRequestError
from goose_nb.events import Notice, StepFailed
from goose_nb.session import Session


@pytest.fixture
def session(model_server: ModelServer, make_session, tmp_path, monkeypatch) -> Session:
    monkeypatch.chdir(tmp_path)
    built = make_session(model_server, "openai", GOOSE_MODEL="gpt-4o-mini")
    built.namespace = {}
    return built


@pytest.fixture
def cell(shell, model_server, tmp_path, monkeypatch):
    """Run a cell through the magics, on a session for the local server."""
    magics = register_goose(shell, model_server, tmp_path, monkeypatch, OPENAI_KEY,
                            GOOSE_MODEL="gpt-4o-mini")
    yield lambda source: run_cell(shell, source)
    magics.session.close()


def notices(session: Session) -> list[str]:
    return [e.text for e in session.events if isinstance(e, Notice)]


# output limits ------------------------------------------------------------------------------


def test_every_call_carries_the_output_limit(model_server, make_session):
    model_server.queue(openai_reply("one"), openai_reply("two"))
    session = make_session(model_server, "openai", GOOSE_MAX_TOKENS="77")
    session.ask("first")
    session.ask("second")
    assert [r.json["max_tokens"] for r in model_server.requests] == [77, 77]


def test_lead_and_worker_have_their_own_limits(model_server, make_session):
    model_server.queue(openai_reply("lead answer"), openai_reply("worker answer"))
    session = make_session(model_server, "openai", GOOSE_LEAD_MODEL="lead-m",
                           GOOSE_MODEL="worker-m", GOOSE_LEAD_TURNS="1",
                           GOOSE_LEAD_MAX_TOKENS="900", GOOSE_MAX_TOKENS="300")
    session.ask("plan it")
    session.ask("do it")
    sent = [(r.json["model"], r.json["max_tokens"]) for r in model_server.requests]
    assert sent == [("lead-m", 900), ("worker-m", 300)]


def test_ollama_gets_the_limit_as_num_predict(model_server, make_session):
    model_server.queue(ollama_reply("hi"))
    session = make_session(model_server, "ollama", GOOSE_MAX_TOKENS="55")
    session.ask("hello")
    assert model_server.requests[0].json["options"]["num_predict"] == 55


def test_an_answer_cut_at_the_limit_says_so_and_is_no_failure(model_server, make_session):
    cut = openai_reply("", [python_call("c1", "x = 1")], finish="length")
    model_server.queue(openai_reply("fine"), cut)
    session = make_session(model_server, "openai", GOOSE_LEAD_MODEL="lead-m",
                           GOOSE_MODEL="worker-m", GOOSE_LEAD_TURNS="1",
                           GOOSE_WORKER_MAX_TOKENS="64")
    session.namespace = {}
    session.ask("first")
    record = session.ask("second")
    assert record.status == "ok" and len(record.steps) == 1  # the cut tool call did not run
    assert "x" not in session.namespace
    assert any("output limit of 64 tokens" in n and "GOOSE_WORKER_MAX_TOKENS=N" in n
               and "1 unfinished tool call(s) were not run" in n for n in notices(session))
    assert not [e for e in session.events if isinstance(e, StepFailed)]
    assert session.policy is not None and "0 failures" in session.policy.describe()


# usage the server did not report -------------------------------------------------------------


def test_unreported_usage_is_unknown_not_zero_and_never_priced(session, model_server):
    model_server.queue(openai_reply("no counts here", usage=None))
    record = session.ask("hello")
    step = record.steps[0]
    assert step.usage.unreported == 1 and step.usage.total_tokens == 0
    assert session.turn_cost(record) is None
    view = usage_view(session.usage, True, None, session.price_book())
    assert "| openai/gpt-4o-mini | — | — | — |" in view.markdown
    assert "Token counts not reported by openai/gpt-4o-mini" in view.plain
    assert "0 in" not in view.plain


def test_the_footer_says_not_reported(model_server, cell):
    model_server.queue(openai_reply("no counts here", usage=None))
    _, text = cell("%%goose\nhello")
    assert "tokens not reported" in text
    assert "0 in / 0 out" not in text and "$" not in text.split("tokens not reported")[1][:40]
    _, status = cell("%goose status")
    assert "| tokens | not reported |" in status


# requests a server refused ------------------------------------------------------------------


def test_a_500_that_is_the_servers_validation_of_the_request_is_not_retried(session,
                                                                            model_server):
    message = ("3 validation errors:\n  {'type': 'string_type', 'loc': ('body', 'messages', 1,"
               " 'ChatCompletionRequestAssistantMessage', 'content')}")
    model_server.queue(error_reply(500, message))
    with pytest.raises(BadRequestError) as caught:
        session.ask("hello")
    assert len(model_server.requests) == 1  # not four
    text = str(caught.value)
    assert text.startswith("openai rejected the request (500): 3 validation errors:")
    assert "\n" not in text


def test_a_plain_500_is_still_retried(session, model_server):
    model_server.queue(error_reply(500, "internal error"), openai_reply("recovered"))
    assert session.ask("hello").answer == "recovered"
    assert len(model_server.requests) == 2


# what small models do -------------------------------------------------------------------------


def test_an_empty_answer_says_so(session, model_server):
    model_server.queue(openai_reply(""))
    record = session.ask("hello")
    assert record.answer == ""
    assert any("answered with no text at all" in n for n in notices(session))


def test_arguments_with_a_raw_newline_are_read_and_said_to_be_repaired(session, model_server):
    raw = '{"code": "a = 1\nb = a + 1"}'  # a raw newline inside a JSON string
    with pytest.raises(ValueError):
        json.loads(raw)
    model_server.queue(openai_reply("", [("c1", "python", raw)]), openai_reply("b is 2"))
    record = session.ask("compute b")
    assert record.answer == "b is 2" and session.namespace["b"] == 2
    assert any("raw control characters" in n for n in notices(session))


def test_arguments_that_are_not_json_still_get_an_error_result(session, model_server):
    model_server.queue(openai_reply("", [("c1", "python", "{code: nope")]),
                       openai_reply("sorry"))
    session.ask("compute")
    tool_message = model_server.requests[1].json["messages"][-1]
    assert tool_message["role"] == "tool" and "not a JSON object" in tool_message["content"]

