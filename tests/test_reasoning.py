"""Reasoning, kept apart from the answer, through a real session and the local model server:
each provider's reasoning fields, Anthropic's signed blocks sent back with the tool results,
the folded thinking block of the cell, the effort settings in each provider's terms, and
cassettes that record and replay the reasoning."""

from __future__ import annotations

import json
from typing import Any

import pytest
from model_server import Reply, _sse, anthropic_reply, ollama_reply, openai_reply

from goose_nb.display.turn import TurnView
from goose_nb.errors import ConfigError
from goose_nb.events import AnswerDelta, ThinkingDelta
from goose_nb.messages import Reasoning

SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"


def anthropic_thinking_reply(thinking: list[str], text: str = "",
                             tool: tuple[str, str, dict[str, Any]] | None = None) -> Reply:
    """A messages stream as Claude sends it with extended thinking: a thinking block in
    deltas, then its signature in a ``signature_delta``, a redacted block, then the
    answer or a tool call."""
    start = {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
        "content": [], "usage": {"input_tokens": 20, "output_tokens": 1}}}
    chunks = [_sse(start, "message_start"),
              _sse({"type": "content_block_start", "index": 0, "content_block": {
                  "type": "thinking", "thinking": "", "signature": ""}}, "content_block_start")]
    chunks += [_sse({"type": "content_block_delta", "index": 0, "delta": {
        "type": "thinking_delta", "thinking": piece}}, "content_block_delta") for piece in thinking]
    chunks += [_sse({"type": "content_block_delta", "index": 0, "delta": {
        "type": "signature_delta", "signature": SIGNATURE}}, "content_block_delta"),
               _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
               _sse({"type": "content_block_start", "index": 1, "content_block": {
                   "type": "redacted_thinking", "data": REDACTED}}, "content_block_start"),
               _sse({"type": "content_block_stop", "index": 1}, "content_block_stop")]
    if text:
        chunks += [_sse({"type": "content_block_start", "index": 2, "content_block": {
            "type": "text", "text": ""}}, "content_block_start"),
                   _sse({"type": "content_block_delta", "index": 2, "delta": {
                       "type": "text_delta", "text": text}}, "content_block_delta"),
                   _sse({"type": "content_block_stop", "index": 2}, "content_block_stop")]
    if tool:
        call_id, name, arguments = tool
        chunks += [_sse({"type": "content_block_start", "index": 2, "content_block": {
            "type": "tool_use", "id": call_id, "name": name, "input": {}}},
            "content_block_start"),
                   _sse({"type": "content_block_delta", "index": 2, "delta": {
                       "type": "input_json_delta", "partial_json": json.dumps(arguments)}},
                       "content_block_delta"),
                   _sse({"type": "content_block_stop", "index": 2}, "content_block_stop")]
    stop = "tool_use" if tool else "end_turn"
    chunks += [_sse({"type": "message_delta", "delta": {"stop_reason": stop},
                     "usage": {"output_tokens": 40}}, "message_delta"),
               _sse({"type": "message_stop"}, "message_stop")]
    return Reply(chunks=chunks)


def openai_reasoning_reply(thinking: list[str], text: str, field: str = "reasoning_content",
                           reasoning_tokens: int = 30) -> Reply:
    """A chat-completions stream of a reasoning model on a compatible server (DeepSeek,
    vLLM: ``reasoning_content``; OpenRouter, Groq: ``reasoning``)."""
    base = {"id": "c1", "object": "chat.completion.chunk", "model": "deepseek-reasoner"}
    chunks = [_sse({**base, "choices": [{"index": 0, "delta": {field: piece, "content": None}}]})
              for piece in thinking]
    chunks.append(_sse({**base, "choices": [{"index": 0, "delta": {"content": text}}]}))
    chunks.append(_sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}))
    chunks.append(_sse({**base, "choices": [], "usage": {
        "prompt_tokens": 12, "completion_tokens": 50, "total_tokens": 62,
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens}}}))
    chunks.append(_sse("[DONE]"))
    return Reply(chunks=chunks)


def thinking_of(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, ThinkingDelta))


def test_anthropic_thinking_is_apart_and_goes_back_signed_with_the_tool_result(
        model_server, make_session):
    model_server.queue(
        anthropic_thinking_reply(["The user wants z. ", "I will compute it."],
                                 tool=("toolu_1", "python", {"code": "z = 2 ** 10"})),
        anthropic_reply("z is 1024."))
    session = make_session(model_server, "anthropic")
    session.namespace = {}
    heard: list[Any] = []
    with session.listening(heard.append):
        record = session.ask("Compute z.")
    assert record.answer == "z is 1024."
    assert thinking_of(heard) == "The user wants z. I will compute it."
    # the next step sends the assistant turn back exactly as received, thinking first
    assistant = model_server.requests[1].json["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"] == [
        {"type": "thinking", "thinking": "The user wants z. I will compute it.",
         "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": REDACTED},
        {"type": "tool_use", "id": "toolu_1", "name": "python", "input": {"code": "z = 2 ** 10"}},
    ]
    assert session.history[1].reasoning == (
        Reasoning(text="The user wants z. I will compute it.", signature=SIGNATURE),
        Reasoning(redacted=True, data=REDACTED))


def test_the_cell_shows_the_thinking_folded_above_the_answer(model_server, make_session):
    model_server.queue(anthropic_thinking_reply(["Pelicans ", "scoop fish."], text="Scoop."))
    session = make_session(model_server, "anthropic")
    shown: list[str] = []
    view = TurnView(live=False, show=False)

    def listen(event: Any) -> None:
        view(event)
        if isinstance(event, ThinkingDelta | AnswerDelta):
            shown.append(view.output._repr_markdown_())

    with session.listening(listen):
        session.ask("Name a pelican.")
    while_thinking = next(m for m in shown if "💭 thinking" in m and "Scoop." not in m)
    assert "<details open><summary>💭 thinking" in while_thinking  # open while it streams
    final = view.output._repr_markdown_()
    assert "<details><summary>💭 thinking · 3 words</summary>" in final  # folded after
    assert final.index("💭 thinking") < final.index("Scoop.")
    assert "Pelicans scoop fish." in final and "Pelicans" not in session.turns[-1].answer
    assert "(thinking · 3 words: Pelicans scoop fish.)" in repr(view.output)


def test_thinking_cannot_break_out_of_its_block(model_server, make_session):
    model_server.queue(anthropic_thinking_reply(["</pre></details><b>x</b>"], text="ok"))
    session = make_session(model_server, "anthropic")
    view = TurnView(live=False, show=False)
    with session.listening(view):
        session.ask("hi")
    assert "&lt;/pre&gt;&lt;/details&gt;&lt;b&gt;x&lt;/b&gt;" in view.output._repr_markdown_()


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_openai_compatible_reasoning_fields(model_server, make_session, field):
    model_server.queue(openai_reasoning_reply(["Think ", "hard."], "Done.", field))
    model_server.queue(openai_reply("Again."))
    session = make_session(model_server, "openai")
    heard: list[Any] = []
    with session.listening(heard.append):
        record = session.ask("Go.")
        session.ask("Once more.")
    assert record.answer == "Done." and thinking_of(heard) == "Think hard."
    assert record.usage.reasoning_tokens == 30 and record.usage.output_tokens == 50
    from goose_nb.display.usage import format_tokens

    assert format_tokens(record.usage) == "12 in / 50 out (30 reasoning) tokens"
    # reasoning is not sent back to OpenAI-compatible servers (DeepSeek refuses it)
    sent = model_server.requests[1].json["messages"]
    assert all(set(m) <= {"role", "content", "tool_calls", "tool_call_id"} for m in sent)


def test_ollama_thinking(model_server, make_session):
    lines = [{"model": "qwen3", "message": {"role": "assistant", "content": "",
                                            "thinking": "Counting. "}, "done": False},
             {"model": "qwen3", "message": {"role": "assistant", "content": "",
                                            "thinking": "Three."}, "done": False},
             {"model": "qwen3", "message": {"role": "assistant", "content": "3"}, "done": False},
             {"model": "qwen3", "message": {"role": "assistant", "content": ""}, "done": True,
              "done_reason": "stop", "prompt_eval_count": 9, "eval_count": 7}]
    model_server.queue(Reply(chunks=[(json.dumps(line) + "\n").encode() for line in lines],
                             content_type="application/x-ndjson"))
    session = make_session(model_server, "ollama", GOOSE_REASONING_EFFORT="high")
    heard: list[Any] = []
    with session.listening(heard.append):
        record = session.ask("How many?")
    assert record.answer == "3" and thinking_of(heard) == "Counting. Three."
    assert model_server.requests[0].json["think"] is True


@pytest.mark.parametrize(("model", "think"), [("gpt-oss:20b", "low"), ("gpt-oss", "low"),
                                              ("library/gpt-oss:120b", "low"),
                                              ("qwen3:8b", True), ("deepseek-r1", True)])
def test_ollama_gets_a_level_only_for_gpt_oss(model_server, make_session, model, think):
    model_server.queue(ollama_reply("ok", model=model))
    make_session(model_server, "ollama", GOOSE_MODEL=model,
                 GOOSE_REASONING_EFFORT="low").ask("x")
    assert model_server.requests[0].json["think"] == think


def test_each_provider_asks_for_reasoning_in_its_own_terms(model_server, make_session):
    model_server.queue(openai_reply("a"), anthropic_reply("b"), ollama_reply("c"))
    make_session(model_server, "openai", GOOSE_REASONING_EFFORT="medium").ask("x")
    make_session(model_server, "anthropic", GOOSE_REASONING_EFFORT="high",
                 GOOSE_MAX_TOKENS="4096").ask("x")
    make_session(model_server, "ollama").ask("x")
    openai, anthropic, ollama = (r.json for r in model_server.requests)
    assert openai["reasoning_effort"] == "medium"
    assert anthropic["thinking"] == {"type": "enabled", "budget_tokens": 16_384}
    assert anthropic["max_tokens"] > 16_384 and "temperature" not in anthropic
    assert "think" not in ollama  # no effort set for this session: no thinking asked for


def test_the_lead_has_its_own_effort(model_server, make_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model_server.responder = lambda request: openai_reply("ok")
    session = make_session(model_server, "openai", GOOSE_MODEL="w", GOOSE_LEAD_MODEL="l",
                           GOOSE_LEAD_TURNS="1", GOOSE_REASONING_EFFORT="low",
                           GOOSE_LEAD_REASONING_EFFORT="high")
    session.ask("first")
    session.ask("second")
    assert [(r.json["model"], r.json["reasoning_effort"]) for r in model_server.requests] == [
        ("l", "high"), ("w", "low")]


def test_a_bad_effort_is_one_line(model_server, make_session):
    session = make_session(model_server, GOOSE_REASONING_EFFORT="extreme")
    with pytest.raises(ConfigError, match=r"^GOOSE_REASONING_EFFORT=extreme \(from "
                                          r"environment\) is not valid: choose one of low, "
                                          r"medium, high"):
        session.ask("x")


def test_reasoning_is_recorded_and_replayed(model_server, make_session, tmp_path):
    cassette = tmp_path / "thinking.yaml"
    model_server.queue(anthropic_thinking_reply(["Recorded ", "thought."], text="Answer."))
    make_session(model_server, "anthropic", GOOSE_NB_RECORD=str(cassette)).ask("Think.")
    assert "Recorded thought." in cassette.read_text()
    replay = make_session(None, "replay", GOOSE_NB_CASSETTE=str(cassette))
    heard: list[Any] = []
    with replay.listening(heard.append):
        record = replay.ask("Think.")
    assert record.answer == "Answer." and thinking_of(heard) == "Recorded thought."
    assert replay.history[-1].reasoning[0].signature == SIGNATURE


def test_a_json_answer_is_parsed_from_the_answer_not_the_thinking(model_server,
                                                                  make_session):
    model_server.queue(openai_reasoning_reply(['{"not": "this"} ', "hmm"], '{"name": "Pip"}'))
    session = make_session(model_server, "openai")
    from goose_nb.agent.turns import TurnOptions

    schema = {"type": "object", "properties": {"name": {"type": "string"}},
              "required": ["name"]}
    record = session.ask("Name it.", TurnOptions(response_schema=schema))
    assert record.structured == {"name": "Pip"}


#: the Messages API's own answer to a request that switches thinking on inside a tool loop
#: whose assistant message began without it (its documented rule, its wording)
THINKING_MID_TURN = (
    "messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found "
    "`{found}`. When `thinking` is enabled, a final `assistant` message must start with a "
    "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). "
    "We recommend you include thinking blocks from previous turns. To avoid this "
    "requirement, disable `thinking`.")


def anthropic_refusal(body: dict[str, Any]) -> str | None:
    """What the Messages API refuses in ``body``, by its documented thinking rules: a
    thinking block it did not sign, and thinking switched on in the middle of a tool loop."""
    messages = body["messages"]
    for index, message in enumerate(messages):
        for number, block in enumerate(message["content"] if isinstance(
                message["content"], list) else []):
            if block.get("type") == "thinking" and block.get("signature") != SIGNATURE:
                return f"messages.{index}.content.{number}: Invalid `signature` in `thinking` block"
    last = messages[-1]["content"]
    in_tool_loop = isinstance(last, list) and any(b.get("type") == "tool_result" for b in last)
    if "thinking" in body and in_tool_loop:
        index = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        first = messages[index]["content"][0]
        if first.get("type") not in ("thinking", "redacted_thinking"):
            return THINKING_MID_TURN.format(index=index, found=first.get("type"))
    return None


def with_reasoning(reply: Reply, thinking: str) -> Reply:
    """An OpenAI-compatible stream with a ``reasoning_content`` delta first (DeepSeek)."""
    chunk = _sse({"id": "c1", "object": "chat.completion.chunk", "model": "deepseek-reasoner",
                  "choices": [{"index": 0, "delta": {"reasoning_content": thinking}}]})
    return Reply(chunks=[chunk, *reply.chunks])


@pytest.mark.parametrize("worker", ["anthropic", "openai"])
def test_an_escalation_to_a_thinking_lead_is_a_request_the_api_takes(
        model_server, make_session, worker):
    """The worker (Claude without thinking, or a reasoning model on an OpenAI-compatible
    server) fails twice; the lead, Claude with thinking, takes the rest of the turn. Its
    step continues a tool loop that began without thinking, so it goes without (the API
    refuses to switch it on mid-loop), and no unsigned thinking is sent; the next turn,
    the lead thinks again."""
    from model_server import python_call

    failing = [python_call("c1", "1/0"), python_call("c2", "undefined_name")]
    if worker == "anthropic":
        worker_replies = [anthropic_reply("", [call], model="claude-worker") for call in failing]
    else:
        worker_replies = [with_reasoning(openai_reply(tool_calls=[call]), f"Try {call[0]}.")
                          for call in failing]
    lead_replies = [anthropic_reply("Division by zero: fixed by hand."),
                    anthropic_thinking_reply(["Second turn."], text="Still here.")]
    refused: list[str] = []

    def respond(request: Any) -> Reply:
        if request.path.endswith("/messages") and request.json["model"] == "claude-lead":
            refusal = anthropic_refusal(request.json)
            if refusal:
                refused.append(refusal)
                return Reply(400, [json.dumps({"type": "error", "error": {
                    "type": "invalid_request_error", "message": refusal}}).encode()],
                    content_type="application/json")
            return lead_replies.pop(0)
        return worker_replies.pop(0)

    model_server.responder = respond
    session = make_session(model_server, worker, GOOSE_MODEL="claude-worker"
                           if worker == "anthropic" else "deepseek-reasoner",
                           GOOSE_LEAD_PROVIDER="anthropic", GOOSE_LEAD_MODEL="claude-lead",
                           GOOSE_LEAD_TURNS="0", GOOSE_LEAD_REASONING_EFFORT="low")
    session.namespace = {}
    first = session.ask("Compute it.")
    second = session.ask("And now?")
    assert refused == []
    assert (first.answer, second.answer) == ("Division by zero: fixed by hand.", "Still here.")
    escalated, next_turn = (r.json for r in model_server.requests
                            if r.json["model"] == "claude-lead")
    assert "thinking" not in escalated and escalated["max_tokens"] == 4096
    assert not any(b.get("type") == "thinking" for m in escalated["messages"]
                   if isinstance(m["content"], list) for b in m["content"])
    assert next_turn["thinking"] == {"type": "enabled", "budget_tokens": 1024}
