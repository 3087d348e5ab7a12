"""What real OpenAI-compatible servers and small local models do, scripted on the local server.

Each case was seen against llama-cpp-python 0.3.36's server: no output
limit sent, no usage reported, a 500 for a request the server's own validation refused,
empty answers, answers cut at the limit, tool-call arguments with raw newlines. Then
stream shapes of other servers: ``content`` as a list of typed parts, usage counts of 0
that correct an earlier event.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from conftest import OPENAI_KEY, register_goose, run_cell, settings_for, simple_request
from model_server import (
    ModelServer,
    Reply,
    error_reply,
    ollama_reply,
    openai_reply,
    python_call,
)

from goose_nb.display.usage import usage_view
from goose_nb.errors import BadRequestError
from goose_nb.events import Notice, StepFailed
from goose_nb.messages import ReasoningDelta
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



# stream shapes of other servers ---------------------------------------------------------------


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()


def anthropic_usage_stream(start_usage: dict[str, Any], delta_usage: dict[str, Any]) -> Reply:
    """A one-word Anthropic answer whose ``message_start`` and ``message_delta`` report the
    given usage objects."""
    events = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [], "usage": start_usage}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "ok"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": delta_usage}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return Reply(chunks=[sse(data, event) for event, data in events])


START_USAGE = {"input_tokens": 10, "cache_read_input_tokens": 1000,
               "cache_creation_input_tokens": 200, "output_tokens": 1}


@pytest.mark.parametrize(("delta_usage", "merged"), [
    # (input with the cache counts, output, cache reads, cache writes)
    ({"output_tokens": 7, "cache_read_input_tokens": 0}, (210, 7, 0, 200)),
    ({"output_tokens": 7, "input_tokens": 0}, (1200, 7, 1000, 200)),
    ({"output_tokens": 0}, (1210, 0, 1000, 200)),
    ({"input_tokens": 10, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0,
      "output_tokens": 7}, (10, 7, 0, 0)),
    # absent or null: the count message_start gave stands
    ({"output_tokens": 7, "cache_read_input_tokens": None}, (1210, 7, 1000, 200)),
], ids=["cache-read-0", "input-0", "output-0", "all-cache-0", "null-falls-back"])
def test_an_anthropic_count_of_0_in_message_delta_replaces_the_earlier_count(
    model_server, run_provider, delta_usage, merged
):
    model_server.queue(anthropic_usage_stream(START_USAGE, delta_usage))
    usage = run_provider("anthropic", settings_for(model_server), simple_request()).response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens,
            usage.cache_write_tokens) == merged


REASONING = "SECRET-REASONING"


def openai_parts_stream(*contents: list[dict[str, Any]]) -> Reply:
    """An OpenAI-compatible stream whose deltas carry ``content`` as lists of parts."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "parts-model"}
    chunks = [sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]})]
    chunks += [sse({**base, "choices": [{"index": 0, "delta": {"content": content}}]})
               for content in contents]
    chunks.append(sse({**base, "choices": [{"index": 0, "delta": {},
                                            "finish_reason": "stop"}]}))
    chunks.append(sse("[DONE]"))
    return Reply(chunks=chunks)


def test_openai_content_as_typed_parts_keeps_the_reasoning_apart(model_server, run_provider,
                                                                 caplog):
    model_server.queue(openai_parts_stream(
        [{"type": "reasoning", "text": f"{REASONING} one"}],
        [{"type": "text", "text": "Hel"}, {"type": "thinking", "text": f"{REASONING} two"}],
        [{"type": "output_text", "text": "lo"}, {"type": "reasoning_text", "text": REASONING}],
        [{"text": " world"}, {"type": "reasoning", "text": f"{REASONING} three"}],
        [{"type": "image_url", "image_url": {"url": "data:,"}}],
    ))
    with caplog.at_level(logging.DEBUG, logger="goose_nb.providers"):
        run = run_provider("openai", settings_for(model_server), simple_request())
    assert run.response.text == "Hello world"
    assert "".join(run.deltas) == "Hello world"  # what was shown as it streamed
    thought = f"{REASONING} one{REASONING} two{REASONING}{REASONING} three"
    assert [r.text for r in run.response.reasoning] == [thought]
    assert "".join(e.text for e in run.events if isinstance(e, ReasoningDelta)) == thought
    logged = [r.getMessage() for r in caplog.records if "content part" in r.getMessage()]
    assert logged == ["openai: content parts of unknown type 'image_url' (or without text): "
                      "ignored"]  # once, not once per chunk


def test_an_openai_whole_answer_with_content_as_parts_keeps_only_the_text(
    model_server, run_provider
):
    body = {"id": "chatcmpl-1", "object": "chat.completion", "model": "parts-model",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant",
                "content": [{"type": "reasoning", "text": REASONING},
                            {"type": "text", "text": "All done."}]}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
    model_server.queue(Reply(chunks=[json.dumps(body).encode()],
                             content_type="application/json"))
    run = run_provider("openai", settings_for(model_server), simple_request())
    assert run.response.text == "All done."
    assert run.deltas == ["All done."]
