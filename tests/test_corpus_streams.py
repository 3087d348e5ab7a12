"""Every recorded provider stream of the shared corpus parses to exactly what was recorded.

The 25 response bodies are served byte for byte by the local model server (whole, and
re-chunked at 7 bytes so that lines, JSON objects and multi-byte UTF-8 characters are split
across reads) and parsed by the matching provider; a few also go through ``Session.ask``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import ProviderRun, settings_for, simple_request
from corpus import require_corpus
from model_server import (
    Reply,
    anthropic_reply,
    corpus_reply,
    ollama_reply,
    openai_reply,
)

from goose_nb.messages import ModelResponse

CORPUS = require_corpus("provider-streams")
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())
NAMES = sorted(EXPECTED)


def provider_for(expected: dict[str, Any]) -> str:
    """openai / openai-azure / openai-compatible (…) → openai; anthropic; ollama."""
    label = expected["provider"]
    if label.startswith("openai"):
        return "openai"
    if label in ("anthropic", "ollama"):
        return label
    raise AssertionError(f"corpus provider {label!r} has no goose_nb provider")


def expected_usage(expected: dict[str, Any]) -> tuple[int, int]:
    usage = expected.get("usage") or {}
    for inp, out in (("prompt_tokens", "completion_tokens"),
                     ("input_tokens", "output_tokens"),
                     ("prompt_eval_count", "eval_count")):
        if inp in usage or out in usage:
            return usage.get(inp) or 0, usage.get(out) or 0
    return 0, 0


def assert_matches(response: ModelResponse, expected: dict[str, Any]) -> None:
    assert response.text == (expected["text"] or "")
    calls = [{"id": c.id, "name": c.name, "arguments": c.arguments}
             for c in response.tool_calls]
    assert calls == expected["tool_calls"]
    usage = (response.usage.input_tokens, response.usage.output_tokens)
    assert usage == expected_usage(expected)
    assert response.stop_reason == expected["finish_reason"]
    # the reasoning, apart from the answer: the real thinking stream's text, signed
    assert "".join(r.text for r in response.reasoning) == (expected.get("thinking") or "")
    assert all(r.signature for r in response.reasoning if expected["provider"] == "anthropic")


def chunked(name: str, size: int, *, crlf: bool = False) -> Reply:
    body = (CORPUS / f"{name}.response.txt").read_bytes()
    if crlf:
        body = body.replace(b"\n", b"\r\n")
    return Reply(chunks=[body[i:i + size] for i in range(0, len(body), size)],
                 content_type=EXPECTED[name]["content_type"])


def run_pair(model_server, run_provider, name: str, reply: Reply) -> ProviderRun:
    expected = EXPECTED[name]
    model_server.queue(reply)
    result = run_provider(provider_for(expected), settings_for(model_server), simple_request())
    assert len(model_server.requests) == 1
    assert_matches(result.response, expected)
    # What was streamed is the answer, with nothing lost or repeated.
    assert "".join(result.deltas) == result.response.text
    return result


def test_corpus_is_complete():
    assert len(NAMES) == 25
    for name in NAMES:
        assert (CORPUS / f"{name}.response.txt").is_file()
        assert (CORPUS / f"{name}.request.json").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_pair_parses_byte_for_byte(model_server, run_provider, name):
    run_pair(model_server, run_provider, name, corpus_reply(name, chunk_size=1 << 20))


@pytest.mark.parametrize("name", NAMES)
def test_pair_parses_in_7_byte_chunks(model_server, run_provider, name):
    run_pair(model_server, run_provider, name, corpus_reply(name, chunk_size=7))


@pytest.mark.parametrize("name", NAMES)
def test_pair_parses_with_crlf_line_endings(model_server, run_provider, name):
    """SSE and NDJSON allow CRLF; JSON strings cannot contain a raw newline, so this is
    the same data with other line endings."""
    run_pair(model_server, run_provider, name, chunked(name, 13, crlf=True))


def test_seven_byte_chunks_split_a_multibyte_character():
    """The 7-byte re-chunking really does cut UTF-8 characters in half (web-search has
    "°", "·", "–"), so the tests above cover decoding across reads."""
    reply = corpus_reply("anthropic-stream-web-search", chunk_size=7)
    broken = 0
    for chunk in reply.chunks:
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            broken += 1
    assert broken > 0


NON_ASCII = "Grüße — 温度 20°C · 👨\u200d💻 ✅ naïve"


@pytest.mark.parametrize(("provider", "builder"), [
    ("openai", lambda: openai_reply(NON_ASCII, pieces=4)),
    ("anthropic", lambda: anthropic_reply(NON_ASCII)),
    ("ollama", lambda: ollama_reply(NON_ASCII)),
])
def test_multibyte_text_in_one_byte_chunks(model_server, run_provider, provider, builder):
    """Every UTF-8 character split over reads, in every provider's wire format."""
    reply = builder()
    body = b"".join(reply.chunks)
    reply.chunks = [body[i:i + 1] for i in range(len(body))]
    model_server.queue(reply)
    result = run_provider(provider, settings_for(model_server), simple_request())
    assert result.response.text.strip() == NON_ASCII
    assert "".join(result.deltas) == result.response.text


def test_anthropic_server_tools_and_thinking_are_not_our_tool_calls(model_server, run_provider):
    """server_tool_use (web search, run by Anthropic) and thinking text are not tool calls
    for us to run, nor part of the answer."""
    for name in ("anthropic-stream-web-search", "anthropic-stream-thinking"):
        result = run_pair(model_server, run_provider, name, corpus_reply(name))
        assert result.response.tool_calls == []
        thinking = EXPECTED[name].get("thinking")
        if thinking:
            assert thinking[:40] not in result.response.text
        model_server.requests.clear()


def test_empty_partial_json_means_no_arguments(model_server, run_provider):
    name = "anthropic-stream-tools-0"
    result = run_pair(model_server, run_provider, name, corpus_reply(name))
    assert [c.arguments for c in result.response.tool_calls] == [{}, {}]
    assert all(c.raw_arguments == "" for c in result.response.tool_calls)


def test_repeated_tool_call_name_is_not_doubled(model_server, run_provider):
    name = "openrouter-compat-stream-tools-variant-a"
    result = run_pair(model_server, run_provider, name, corpus_reply(name, chunk_size=5))
    assert [c.name for c in result.response.tool_calls] == ["llm_version"]


# Through Session.ask: the whole path a notebook cell takes ------------------------------

SESSION_PAIRS = [
    "openai-stream-text-obfuscation",
    "openai-stream-tools-parallel",
    "openai-nonstream-tools",
    "azure-openai-stream-text-content-filter",
    "anthropic-stream-thinking",
    "anthropic-stream-tools-text-then-tool",
    "anthropic-nonstream-text",
    "ollama-chat-stream-async",
    "ollama-chat-nonstream-text",
]


@pytest.mark.parametrize("name", SESSION_PAIRS)
def test_pair_through_session_ask(model_server, make_session, name):
    expected = EXPECTED[name]
    provider = provider_for(expected)
    model_server.queue(corpus_reply(name, chunk_size=7))
    # the recorded tools are not ours: the agent answers each call with an error result
    # and asks again, so a tool-calling pair needs a closing text answer
    follow_up = {"openai": openai_reply, "anthropic": anthropic_reply,
                 "ollama": ollama_reply}[provider]("Done.", usage=(1, 1))
    if expected["tool_calls"]:
        model_server.queue(follow_up)
    session = make_session(model_server, provider)
    record = session.ask("tell me something")

    assert record.status == "ok"
    steps = 2 if expected["tool_calls"] else 1
    assert len(model_server.requests) == steps
    assert model_server.requests[0].path == {
        "openai": "/v1/chat/completions", "anthropic": "/v1/messages", "ollama": "/api/chat",
    }[provider]
    answer = session.history[1]
    assert answer.text == (expected["text"] or "")
    calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in answer.tool_calls]
    assert calls == expected["tool_calls"]
    first_step = record.steps[0].usage
    assert (first_step.input_tokens, first_step.output_tokens) == expected_usage(expected)
    if expected["tool_calls"]:
        assert [m.role for m in session.history] == ["user", "assistant", "tool", "assistant"]
        results = session.history[2].tool_results
        assert [r.tool_call_id for r in results] == [c["id"] for c in expected["tool_calls"]]
        assert all(r.is_error and "unknown tool" in r.content for r in results)
        assert record.answer == "Done."
    else:
        assert [m.role for m in session.history] == ["user", "assistant"]
        assert record.answer == (expected["text"] or "")
        total = session.usage.total()
        assert (total.input_tokens, total.output_tokens) == expected_usage(expected)
