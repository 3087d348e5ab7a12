"""What each provider sends: URL path, headers, and the JSON body (history, tools, system)."""

from __future__ import annotations

import json

import pytest
from conftest import ANTHROPIC_KEY, OPENAI_KEY, settings_for
from model_server import anthropic_reply, ollama_reply, openai_reply

from goose_nb.context import SYSTEM_PROMPT
from goose_nb.messages import ChatRequest, Message, ToolCall, ToolResult, ToolSpec
from goose_nb.providers.registry import provider_class

REPLIES = {"openai": openai_reply, "anthropic": anthropic_reply, "ollama": ollama_reply}

WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}},
                "required": ["city"]},
)
CLOCK = ToolSpec(name="get_time", description="The time in a timezone.",
                 parameters={"type": "object", "properties": {}})

CALL_PARIS = ToolCall(id="call_paris", name="get_weather", arguments={"city": "Paris"},
                      raw_arguments='{"city": "Paris"}')
CALL_TIME = ToolCall(id="call_time", name="get_time", arguments={}, raw_arguments="")


def tool_history() -> list[Message]:
    """user → assistant (text + two tool calls) → tool results (one failed) → user."""
    return [
        Message.user("Weather and time in Paris?"),
        Message(role="assistant", text="Let me look.", tool_calls=(CALL_PARIS, CALL_TIME)),
        Message(role="tool", tool_results=(
            ToolResult(tool_call_id="call_paris", name="get_weather", content="18°C, cloudy"),
            ToolResult(tool_call_id="call_time", name="get_time", content="no such timezone",
                       is_error=True),
        )),
        Message.user("Thanks. And tomorrow?"),
    ]


def send(model_server, run_provider, provider: str, request: ChatRequest, **settings):
    """Run one call and return what the server received."""
    model_server.queue(REPLIES[provider]("ok"))
    run_provider(provider, settings_for(model_server, **settings), request)
    assert len(model_server.requests) == 1
    return model_server.requests[0]


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


# OpenAI ----------------------------------------------------------------------------------


def test_openai_path_headers_and_stream_options(model_server, run_provider):
    request = ChatRequest(model="gpt-4o-mini", system="Be brief.",
                          messages=[Message.user("hi")])
    sent = send(model_server, run_provider, "openai", request)
    assert sent.method == "POST"
    assert sent.path == "/v1/chat/completions"
    headers = lower(sent.headers)
    assert headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "x-api-key" not in headers
    assert headers["content-type"] == "application/json"
    body = sent.json
    assert body["model"] == "gpt-4o-mini"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert "tools" not in body
    assert "temperature" not in body


def test_openai_custom_base_path_and_no_key(model_server, run_provider):
    """An OpenAI-compatible server: OPENAI_BASE_PATH is honoured; no key, no auth header."""
    request = ChatRequest(model="local", messages=[Message.user("hi")])
    sent = send(model_server, run_provider, "openai", request,
                openai_base_path="/api/v2/chat/completions/", openai_api_key=None)
    assert sent.path == "/api/v2/chat/completions"
    assert "authorization" not in lower(sent.headers)


def test_openai_tools_and_temperature(model_server, run_provider):
    request = ChatRequest(model="gpt-4o", messages=[Message.user("hi")],
                          tools=[WEATHER, CLOCK], temperature=0.2)
    body = send(model_server, run_provider, "openai", request).json
    assert body["tools"] == [
        {"type": "function", "function": {"name": "get_weather",
                                          "description": "Current weather for a city.",
                                          "parameters": WEATHER.parameters}},
        {"type": "function", "function": {"name": "get_time",
                                          "description": "The time in a timezone.",
                                          "parameters": CLOCK.parameters}},
    ]
    assert body["temperature"] == 0.2


def test_openai_history_with_tool_calls_and_results(model_server, run_provider):
    request = ChatRequest(model="gpt-4o", system="sys", messages=tool_history(),
                          tools=[WEATHER, CLOCK])
    messages = send(model_server, run_provider, "openai", request).json["messages"]
    assert messages[0] == {"role": "system", "content": "sys"}
    assert messages[1] == {"role": "user", "content": "Weather and time in Paris?"}
    assistant = messages[2]
    assert assistant["role"] == "assistant"
    assert assistant["content"] == "Let me look."
    assert [(c["id"], c["type"], c["function"]["name"]) for c in assistant["tool_calls"]] == [
        ("call_paris", "function", "get_weather"), ("call_time", "function", "get_time")]
    # arguments are a JSON *string*; an empty argument object is "{}", never ""
    args = [c["function"]["arguments"] for c in assistant["tool_calls"]]
    assert all(isinstance(a, str) for a in args)
    assert [json.loads(a) for a in args] == [{"city": "Paris"}, {}]
    # one "tool" message per result, in order, keyed by tool_call_id
    assert messages[3:5] == [
        {"role": "tool", "tool_call_id": "call_paris", "content": "18°C, cloudy"},
        {"role": "tool", "tool_call_id": "call_time", "content": "no such timezone"},
    ]
    assert messages[5] == {"role": "user", "content": "Thanks. And tomorrow?"}
    assert len(messages) == 6


def test_openai_assistant_tool_call_without_text_has_empty_content(model_server, run_provider):
    """"" and not null: llama-cpp-python's server answers null with HTTP 500, and OpenAI,
    vLLM and Ollama take "" (seen against llama-cpp-python 0.3.36's server)."""
    history = [Message.user("time?"), Message(role="assistant", tool_calls=(CALL_TIME,)),
               Message(role="tool", tool_results=(ToolResult(tool_call_id="call_time",
                                                             content="noon"),))]
    messages = send(model_server, run_provider, "openai",
                    ChatRequest(model="m", messages=history)).json["messages"]
    assert messages[1]["content"] == ""
    assert messages[1]["tool_calls"][0]["id"] == "call_time"


@pytest.mark.parametrize(("model", "field"), [
    ("gpt-4o-mini", "max_tokens"), ("smollm2", "max_tokens"), ("o3-mini", "max_completion_tokens"),
    ("o1", "max_completion_tokens"), ("gpt-5", "max_completion_tokens"),
    ("openai/o4-mini", "max_completion_tokens"), ("omni-local", "max_tokens"),
])
def test_openai_sends_the_output_limit_in_the_field_the_model_takes(model_server, run_provider,
                                                                    model, field):
    request = ChatRequest(model=model, messages=[Message.user("hi")], max_tokens=123)
    body = send(model_server, run_provider, "openai", request).json
    assert body[field] == 123
    other = {"max_tokens", "max_completion_tokens"} - {field}
    assert not other & set(body)


def test_openai_history_matches_a_real_recorded_request(model_server, run_provider,
                                                        provider_streams):
    """The corpus request that replays a tool call and its result, rebuilt from our types."""
    recorded = json.loads(
        (provider_streams / "openai-stream-text-after-tool-usage.request.json").read_text())
    raw = '{"a": 1231, "b": 2331}'
    call = ToolCall(id="call_1EYWDzueHEp8OsB8jJSEp7WB", name="multiply",
                    arguments=json.loads(raw), raw_arguments=raw)
    tool = recorded["tools"][0]["function"]
    request = ChatRequest(
        model=recorded["model"],
        messages=[
            Message.user("What is 1231 * 2331?"),
            Message(role="assistant", tool_calls=(call,)),
            Message(role="tool", tool_results=(ToolResult(
                tool_call_id=call.id, name="multiply", content="2869461"),)),
        ],
        tools=[ToolSpec(**tool)],
    )
    body = send(model_server, run_provider, "openai", request).json
    assert body["tools"] == recorded["tools"]
    assert body["stream_options"] == recorded["stream_options"]
    ours = [m for m in body["messages"] if m.get("tool_calls") or m["role"] == "tool"]
    theirs = [m for m in recorded["messages"] if m.get("tool_calls") or m["role"] == "tool"]
    assert ours[0]["tool_calls"] == theirs[0]["tool_calls"]
    assert ours[1] == theirs[1]


# Anthropic -------------------------------------------------------------------------------


def test_anthropic_path_headers_and_system(model_server, run_provider):
    request = ChatRequest(model="claude-x", system="Be brief.",
                          messages=[Message.user("hi")], max_tokens=1000)
    sent = send(model_server, run_provider, "anthropic", request)
    assert sent.path == "/v1/messages"
    headers = lower(sent.headers)
    assert headers["x-api-key"] == ANTHROPIC_KEY
    assert headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers
    body = sent.json
    assert body["model"] == "claude-x"
    assert body["stream"] is True
    assert body["max_tokens"] == 1000
    # the system prompt is top-level, never a message
    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert "stream_options" not in body
    assert "tools" not in body


def test_anthropic_without_system_sends_no_system_key(model_server, run_provider):
    body = send(model_server, run_provider, "anthropic",
                ChatRequest(model="c", messages=[Message.user("hi")])).json
    assert "system" not in body


def test_anthropic_tools_and_temperature(model_server, run_provider):
    request = ChatRequest(model="c", messages=[Message.user("hi")], tools=[WEATHER, CLOCK],
                          temperature=0.5)
    body = send(model_server, run_provider, "anthropic", request).json
    assert body["tools"] == [
        {"name": "get_weather", "description": "Current weather for a city.",
         "input_schema": WEATHER.parameters},
        {"name": "get_time", "description": "The time in a timezone.",
         "input_schema": CLOCK.parameters},
    ]
    assert body["temperature"] == 0.5


def test_anthropic_history_with_tool_calls_and_results(model_server, run_provider):
    request = ChatRequest(model="c", system="sys", messages=tool_history(),
                          tools=[WEATHER, CLOCK])
    messages = send(model_server, run_provider, "anthropic", request).json["messages"]
    assert all(m["role"] in ("user", "assistant") for m in messages)
    assert messages == [
        {"role": "user", "content": "Weather and time in Paris?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "call_paris", "name": "get_weather",
             "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_time", "name": "get_time", "input": {}},
        ]},
        # all results of one assistant message go back in ONE user message, and the next
        # prompt joins it, so that user and assistant still alternate
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_paris", "content": "18°C, cloudy"},
            {"type": "tool_result", "tool_use_id": "call_time", "content": "no such timezone",
             "is_error": True},
            {"type": "text", "text": "Thanks. And tomorrow?"},
        ]},
    ]


def test_anthropic_history_matches_a_real_recorded_request(model_server, run_provider,
                                                           provider_streams):
    recorded = json.loads((provider_streams / "anthropic-stream-tools-1.request.json").read_text())
    ids = ("toolu_011ouQLPrqhKSuFJtuJrpaUX", "toolu_01NtJRxGhJcEQ4axN1FzHayX")
    calls = tuple(ToolCall(id=i, name="pelican_name_generator", arguments={}) for i in ids)
    request = ChatRequest(
        model=recorded["model"],
        messages=[
            Message.user("Two names for a pet pelican"),
            Message(role="assistant", text=recorded["messages"][1]["content"][0]["text"],
                    tool_calls=calls),
            Message(role="tool", tool_results=(
                ToolResult(tool_call_id=ids[0], content="Charles"),
                ToolResult(tool_call_id=ids[1], content="Sammy"),
            )),
        ],
        tools=[ToolSpec(name="pelican_name_generator", description="",
                        parameters={"properties": {}, "type": "object"})],
    )
    body = send(model_server, run_provider, "anthropic", request).json
    assert body["messages"][1:] == recorded["messages"][1:]
    assert body["tools"] == recorded["tools"]


# Ollama ----------------------------------------------------------------------------------


def test_ollama_path_headers_and_body(model_server, run_provider):
    request = ChatRequest(model="qwen3", system="Be brief.", messages=[Message.user("hi")],
                          temperature=0.1)
    sent = send(model_server, run_provider, "ollama", request)
    assert sent.path == "/api/chat"
    headers = lower(sent.headers)
    assert "authorization" not in headers and "x-api-key" not in headers
    body = sent.json
    assert body["model"] == "qwen3"
    assert body["stream"] is True
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert body["options"] == {"num_predict": 4096, "temperature": 0.1}  # the output limit
    assert "tools" not in body


def test_ollama_host_without_scheme(model_server, run_provider):
    """OLLAMA_HOST may be host:port (behaviour.md §1: scheme optional)."""
    host = model_server.url.removeprefix("http://")
    sent = send(model_server, run_provider, "ollama",
                ChatRequest(model="m", messages=[Message.user("hi")]), ollama_host=host)
    assert sent.path == "/api/chat"


def test_ollama_tools_and_history(model_server, run_provider):
    request = ChatRequest(model="m", system="sys", messages=tool_history(),
                          tools=[WEATHER, CLOCK])
    body = send(model_server, run_provider, "ollama", request).json
    assert body["tools"] == [
        {"type": "function", "function": WEATHER.model_dump()},
        {"type": "function", "function": CLOCK.model_dump()},
    ]
    messages = body["messages"]
    assert messages[0] == {"role": "system", "content": "sys"}
    assert messages[1] == {"role": "user", "content": "Weather and time in Paris?"}
    assert messages[2]["role"] == "assistant"
    assert messages[2]["content"] == "Let me look."
    # Ollama takes arguments as objects, not JSON strings
    assert messages[2]["tool_calls"] == [
        {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
        {"function": {"name": "get_time", "arguments": {}}},
    ]
    assert [(m["role"], m["content"], m.get("tool_name")) for m in messages[3:5]] == [
        ("tool", "18°C, cloudy", "get_weather"), ("tool", "no such timezone", "get_time")]
    assert messages[5] == {"role": "user", "content": "Thanks. And tomorrow?"}
    assert len(messages) == 6


def test_ollama_history_matches_a_real_recorded_request(model_server, run_provider,
                                                        provider_streams):
    recorded = json.loads(
        (provider_streams / "ollama-chat-nonstream-after-tool-result.request.json").read_text())
    call = ToolCall(id="call_0", name="get_current_weather",
                    arguments={"location": "San Francisco"})
    content = recorded["messages"][1]["content"]
    request = ChatRequest(model=recorded["model"], messages=[
        Message(role="assistant", tool_calls=(call,)),
        Message(role="tool", tool_results=(ToolResult(tool_call_id="call_0",
                                                      content=content),)),
    ])
    messages = send(model_server, run_provider, "ollama", request).json["messages"]
    assert messages[0] == recorded["messages"][0]
    assert {k: v for k, v in messages[1].items() if k != "tool_name"} == recorded["messages"][1]


# Through a Session -----------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
def test_session_sends_system_prompt_and_history(model_server, make_session, provider):
    reply = REPLIES[provider]
    model_server.queue(reply("First answer."), reply("Second answer."))
    session = make_session(model_server, provider, GOOSE_MODEL="some-model")
    session.ask("first question")
    session.ask("second question")
    assert model_server.models_asked() == ["some-model", "some-model"]
    body = model_server.requests[1].json
    if provider == "anthropic":
        assert body["system"].startswith(SYSTEM_PROMPT)
        messages = body["messages"]
    else:
        assert body["messages"][0]["role"] == "system"
        assert body["messages"][0]["content"].startswith(SYSTEM_PROMPT)
        messages = body["messages"][1:]
    assert [(m["role"], m["content"].strip()) for m in messages] == [
        ("user", "first question"),
        ("assistant", "First answer."),
        ("user", "second question"),
    ]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
def test_session_uses_the_provider_default_model(model_server, make_session, provider):
    """GOOSE_MODEL unset: the provider's own default model is asked for."""
    model_server.queue(REPLIES[provider]("ok"))
    make_session(model_server, provider).ask("hi")
    default = provider_class(provider).default_model
    assert default
    assert model_server.models_asked() == [default]


def test_anthropic_joins_tool_results_and_the_next_prompt():
    """After a turn that stopped at its step limit, tool results and the next prompt are
    both user content: they go as one message, so the roles still alternate."""
    from goose_nb.messages import Message, ToolCall, ToolResult
    from goose_nb.providers.anthropic import to_anthropic_messages

    history = [
        Message.user("loop"),
        Message(role="assistant", tool_calls=(ToolCall(id="t1", name="python",
                                                      arguments={"code": "pass"}),)),
        Message(role="tool", tool_results=(ToolResult(tool_call_id="t1", content="ok"),)),
        Message.user("go on"),
    ]
    wire = to_anthropic_messages(history)
    assert [m["role"] for m in wire] == ["user", "assistant", "user"]
    assert wire[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
        {"type": "text", "text": "go on"},
    ]


def test_anthropic_input_tokens_include_cache_reads_and_writes():
    from goose_nb.providers.anthropic import usage_from_anthropic

    start = usage_from_anthropic({"input_tokens": 10, "cache_read_input_tokens": 1000,
                                  "cache_creation_input_tokens": 200, "output_tokens": 1})
    final = usage_from_anthropic({"output_tokens": 55}, start)
    assert (final.input_tokens, final.cache_read_tokens, final.cache_write_tokens,
            final.output_tokens) == (1210, 1000, 200, 55)
