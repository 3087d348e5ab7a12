"""Anthropic's messages API.

``POST {ANTHROPIC_HOST}/v1/messages`` with ``x-api-key`` and ``anthropic-version``; the answer
is named SSE events: ``message_start`` (input usage), ``content_block_start/delta/stop`` (text,
``tool_use`` with ``input_json_delta`` fragments, thinking and server-side tool blocks, which
are not ours to run), ``message_delta`` (stop reason, final output usage), ``message_stop``,
``ping`` and ``error``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import httpx
from httpx_sse import EventSource

from goose_nb.errors import ProviderError, TransientProviderError
from goose_nb.messages import (
    ChatRequest,
    Message,
    ModelResponse,
    Reasoning,
    ReasoningDelta,
    ResponseComplete,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolResult,
    Usage,
)
from goose_nb.providers.base import HTTPProvider, json_chunk, make_tool_call, names_in
from goose_nb.providers.http import Endpoint, normalize_host, read_to_end

logger = logging.getLogger("goose_nb.providers")

API_VERSION = "2023-06-01"
#: ``thinking.budget_tokens`` per ``GOOSE_REASONING_EFFORT`` (the API's minimum is 1,024)
THINKING_BUDGETS = {"low": 1_024, "medium": 4_096, "high": 16_384}
#: what Anthropic adds to a request with tools, and with thinking, beyond its text
HIDDEN_TOOL_PROMPT_TOKENS = 600
HIDDEN_THINKING_TOKENS = 100
#: room left for the answer when the thinking budget would fill ``max_tokens``
MIN_ANSWER_TOKENS = 1_024
_TRANSIENT_ERRORS = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}


def _merge_same_role(wire: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join consecutive messages of one role (tool results followed by a new prompt, after
    a turn that stopped at its step limit): the API expects the roles to alternate."""
    merged: list[dict[str, Any]] = []
    for message in wire:
        if merged and merged[-1]["role"] == message["role"]:
            blocks = [
                [{"type": "text", "text": m["content"]}] if isinstance(m["content"], str)
                else m["content"]
                for m in (merged[-1], message)
            ]
            merged[-1] = {"role": message["role"], "content": blocks[0] + blocks[1]}
        else:
            merged.append(message)
    return merged


def _result_content(result: ToolResult) -> str | list[dict[str, Any]]:
    """A tool result's text, with its images as image blocks when it has any."""
    if not result.images:
        return result.content
    return [{"type": "text", "text": result.content}, *(
        {"type": "image", "source": {"type": "base64", "media_type": image.mime_type,
                                     "data": image.data}}
        for image in result.images)]


def _thinking_block(reasoning: Reasoning) -> dict[str, Any] | None:
    """The block that sends ``reasoning`` back; None for thinking Claude did not sign (a
    worker's on another provider, after a lead/worker switch): the API checks every
    signature and refuses the request over one it did not make."""
    if reasoning.redacted:
        return {"type": "redacted_thinking", "data": reasoning.data}
    if not reasoning.signature:
        return None
    return {"type": "thinking", "thinking": reasoning.text, "signature": reasoning.signature}


def continues_without_thinking(wire: list[dict[str, Any]]) -> bool:
    """True when these messages continue a tool loop (they end with tool results) whose
    last assistant message does not begin with a thinking block: the API takes no
    thinking switched on inside one assistant turn, so such a step goes without (a lead
    with thinking pulled in mid-turn after a worker without; it thinks from the next
    turn on)."""
    last = wire[-1]["content"] if wire and wire[-1]["role"] == "user" else None
    if not (isinstance(last, list) and any(b.get("type") == "tool_result" for b in last)):
        return False
    assistant: Any = next((m["content"] for m in reversed(wire) if m["role"] == "assistant"), [])
    first = assistant[0] if isinstance(assistant, list) and assistant else {}
    return first.get("type") not in ("thinking", "redacted_thinking")


def to_anthropic_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Our history in Anthropic's shape: tool results are ``user`` messages of blocks."""
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            blocks = [
                {
                    "type": "tool_result",
                    "tool_use_id": result.tool_call_id,
                    "content": _result_content(result),
                    **({"is_error": True} if result.is_error else {}),
                }
                for result in message.tool_results
            ]
            wire.append({"role": "user", "content": blocks})
        elif message.role == "assistant" and (message.tool_calls or message.reasoning):
            # the thinking blocks go back first, signed, exactly as they came: the API
            # refuses a tool result whose turn lost them
            content = [block for block in map(_thinking_block, message.reasoning) if block]
            if message.text:
                content.append({"type": "text", "text": message.text})
            content.extend(
                {"type": "tool_use", "id": call.id, "name": call.name,
                 "input": call.arguments or {}}
                for call in message.tool_calls
            )
            wire.append({"role": "assistant", "content": content})
        else:
            wire.append({"role": message.role, "content": message.text})
    return _merge_same_role(wire)


def _count(data: dict[str, Any], key: str, earlier: int) -> int:
    """``data[key]``, or ``earlier`` when the key is absent or null: a 0 the later event
    sends is its count (``message_delta`` corrects ``message_start``), not a missing one."""
    value = data.get(key)
    return earlier if value is None else int(value)


def usage_from_anthropic(data: dict[str, Any] | None, base: Usage | None = None) -> Usage:
    """Merge a usage object into what we know; later counts replace earlier ones, and only
    a count the later object leaves out is kept from before.

    Anthropic's ``input_tokens`` leaves out cache reads and writes; ours counts all input
    (as OpenAI's ``prompt_tokens`` does), so the cache counts are added back, to the
    earlier uncached count when this object has none.
    """
    base = base or Usage()
    if not data:
        return base
    cache_read = _count(data, "cache_read_input_tokens", base.cache_read_tokens)
    cache_write = _count(data, "cache_creation_input_tokens", base.cache_write_tokens)
    earlier_uncached = base.input_tokens - base.cache_read_tokens - base.cache_write_tokens
    uncached = _count(data, "input_tokens", earlier_uncached)
    return Usage(
        input_tokens=uncached + cache_read + cache_write,
        output_tokens=_count(data, "output_tokens", base.output_tokens),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


def error_from_event(data: dict[str, Any]) -> ProviderError:
    error = data.get("error") or {}
    kind = error.get("type", "error")
    message = f"anthropic stream error ({kind}): {error.get('message', '')}"
    if kind in _TRANSIENT_ERRORS:
        return TransientProviderError(message)
    return ProviderError(message)


class EventAssembler:
    """Folds the named events of one message into a ``ModelResponse``."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.text: list[str] = []
        self.tool_blocks: dict[int, dict[str, Any]] = {}
        self.thinking_blocks: dict[int, dict[str, Any]] = {}
        self.reasoning: list[Reasoning] = []
        self.calls: list[ToolCall] = []
        self.usage = Usage()
        self.stop_reason: str | None = None
        self.finished = False

    def feed(self, event: str, data: dict[str, Any]) -> TextDelta | ReasoningDelta | None:
        """Take one event; return the answer or thinking text it adds, if any."""
        kind = data.get("type", event)
        if kind == "message_start":
            message = data.get("message") or {}
            self.model = message.get("model") or self.model
            self.usage = usage_from_anthropic(message.get("usage"), self.usage)
        elif kind == "content_block_start":
            return self._start_block(data.get("index", 0), data.get("content_block") or {})
        elif kind == "content_block_delta":
            return self._feed_delta(data.get("index", 0), data.get("delta") or {})
        elif kind == "content_block_stop":
            self._stop_block(data.get("index", -1))
        elif kind == "message_delta":
            self.stop_reason = (data.get("delta") or {}).get("stop_reason") or self.stop_reason
            self.usage = usage_from_anthropic(data.get("usage"), self.usage)
        elif kind == "message_stop":
            self.finished = True
        elif kind == "error":
            raise error_from_event(data)
        return None

    def _start_block(self, index: int, block: dict[str, Any]) -> TextDelta | ReasoningDelta | None:
        kind = block.get("type")
        if kind == "tool_use":
            self.tool_blocks[index] = {**block, "partial": []}
        elif kind == "thinking":
            self.thinking_blocks[index] = {"text": [block.get("thinking") or ""],
                                           "signature": block.get("signature") or ""}
            return ReasoningDelta(block["thinking"]) if block.get("thinking") else None
        elif kind == "redacted_thinking":
            self.reasoning.append(Reasoning(redacted=True, data=block.get("data") or ""))
        elif kind == "text" and block.get("text"):
            self.text.append(block["text"])
            return TextDelta(block["text"])
        return None

    def _feed_delta(self, index: int, delta: dict[str, Any]) -> TextDelta | ReasoningDelta | None:
        kind = delta.get("type")
        if kind == "text_delta":
            self.text.append(delta["text"])
            return TextDelta(delta["text"])
        if kind == "input_json_delta" and index in self.tool_blocks:
            self.tool_blocks[index]["partial"].append(delta.get("partial_json", ""))
        elif kind == "thinking_delta" and index in self.thinking_blocks:
            self.thinking_blocks[index]["text"].append(delta.get("thinking", ""))
            return ReasoningDelta(delta.get("thinking", ""))
        elif kind == "signature_delta" and index in self.thinking_blocks:
            self.thinking_blocks[index]["signature"] += delta.get("signature", "")
        return None

    def _stop_block(self, index: int) -> None:
        if (block := self.tool_blocks.pop(index, None)) is not None:
            raw = "".join(block["partial"]) if block["partial"] else block.get("input")
            self.calls.append(make_tool_call(block["id"], block["name"], raw))
        elif (thinking := self.thinking_blocks.pop(index, None)) is not None:
            self.reasoning.append(Reasoning(text="".join(thinking["text"]),
                                            signature=thinking["signature"]))

    def response(self) -> ModelResponse:
        return ModelResponse(
            model=self.model,
            text="".join(self.text),
            tool_calls=self.calls,
            usage=self.usage,
            stop_reason=self.stop_reason,
            reasoning=self.reasoning,
        )


def response_from_message(data: dict[str, Any], model: str) -> ModelResponse:
    """A non-streamed messages response."""
    if data.get("type") == "error":
        raise error_from_event(data)
    text = "".join(b.get("text", "") for b in data.get("content", ()) if b.get("type") == "text")
    calls = [
        make_tool_call(b["id"], b["name"], b.get("input") or {})
        for b in data.get("content", ())
        if b.get("type") == "tool_use"
    ]
    reasoning = [Reasoning(text=b.get("thinking") or "", signature=b.get("signature") or "")
                 if b["type"] == "thinking" else Reasoning(redacted=True, data=b.get("data", ""))
                 for b in data.get("content", ())
                 if b.get("type") in ("thinking", "redacted_thinking")]
    return ModelResponse(
        model=data.get("model") or model,
        text=text,
        tool_calls=calls,
        usage=usage_from_anthropic(data.get("usage")),
        stop_reason=data.get("stop_reason"),
        reasoning=reasoning,
    )


class AnthropicProvider(HTTPProvider):
    name = "anthropic"
    default_model = "claude-sonnet-4-5"

    @property
    def endpoint(self) -> Endpoint:
        host = normalize_host(self.settings.anthropic_host)
        return Endpoint("anthropic", f"{host}/v1/messages", "ANTHROPIC_HOST", "ANTHROPIC_API_KEY")

    def headers(self) -> dict[str, str]:
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream",
            "anthropic-version": API_VERSION,
        }
        key = self.settings.anthropic_api_key
        if key:
            headers["x-api-key"] = key.get_secret_value()
        return headers

    @property
    def models_url(self) -> str:
        """One page of up to 1000 models (the API's maximum; it defaults to 20)."""
        return f"{normalize_host(self.settings.anthropic_host)}/v1/models?limit=1000"

    async def list_models(self) -> list[str]:
        """``GET /v1/models``: ``{"data": [{"type": "model", "id": ...}, ...], "has_more"}``,
        newest first, as the API orders them."""
        headers = {"accept": "application/json", "anthropic-version": API_VERSION}
        key = self.settings.anthropic_api_key
        if key:
            headers["x-api-key"] = key.get_secret_value()
        return names_in(await self.get_json(self.models_url, headers), "data", "id")

    def output_ceiling(self, request: ChatRequest) -> int:
        """With thinking, ``max_tokens`` grows to hold the thinking budget and an answer."""
        if request.reasoning_effort is None:
            return request.max_tokens
        return max(request.max_tokens,
                   THINKING_BUDGETS[request.reasoning_effort] + MIN_ANSWER_TOKENS)

    def hidden_input_tokens(self, request: ChatRequest) -> int:
        """Claude's tool-use system prompt (264 to about 500 tokens, by model, in the
        corpus's recorded calls) and the thinking prompt, on the safe side."""
        return (HIDDEN_TOOL_PROMPT_TOKENS if request.tools else 0) + (
            HIDDEN_THINKING_TOKENS if request.reasoning_effort else 0)

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        messages = to_anthropic_messages(request.messages)
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": messages,
            "stream": True,
        }
        if request.system:
            body["system"] = request.system
        if request.tools:
            body["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        effort = request.reasoning_effort
        if effort is not None and continues_without_thinking(messages):
            logger.info("%s: no thinking for this step: it continues a tool loop that "
                        "began without thinking", request.model)
            effort = None
        if effort is not None:
            # the budget must leave room for the answer under max_tokens, and thinking
            # takes no temperature (the API refuses one)
            budget = THINKING_BUDGETS[effort]
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
            body["max_tokens"] = self.output_ceiling(request)
        elif request.temperature is not None:
            body["temperature"] = request.temperature
        return body

    async def parse(
        self, response: httpx.Response, request: ChatRequest, touch: Callable[[], None]
    ) -> AsyncIterator[StreamEvent]:
        if response.headers.get("content-type", "").startswith("application/json"):
            result = response_from_message(json_chunk(await response.aread()), request.model)
            for part in result.reasoning:
                if part.text:
                    yield ReasoningDelta(part.text)
            if result.text:
                yield TextDelta(result.text)
            yield ResponseComplete(result)
            return
        assembler = EventAssembler(request.model)
        async with aclosing(EventSource(response).aiter_sse()) as events:
            async for sse in read_to_end(events, lambda: assembler.finished):
                if not sse.data:
                    continue
                if sse.event != "ping":  # a keep-alive: waiting on is no progress
                    touch()
                piece = assembler.feed(sse.event, json_chunk(sse.data))
                if piece is not None and piece.text:
                    yield piece
        if not assembler.finished:
            raise TransientProviderError("anthropic stream ended before message_stop")
        yield ResponseComplete(assembler.response())
