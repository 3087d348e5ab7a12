"""Ollama's chat API.

``POST {OLLAMA_HOST}/api/chat``; the answer is NDJSON, one object a line, the last one with
``done: true`` and the counts ``prompt_eval_count``/``eval_count`` (either may be missing).
Tool calls come whole, with arguments as JSON objects; an ``{"error": ...}`` line is an error.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import Any, cast

import httpx

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
    Usage,
)
from goose_nb.providers.base import (
    HTTPProvider,
    chat_messages,
    json_chunk,
    make_tool_call,
    names_in,
)
from goose_nb.providers.http import Endpoint, normalize_host, read_to_end


def to_ollama_messages(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    """Our history in Ollama's shape: tool results name their tool, call arguments are
    JSON objects, calls carry no ids."""
    return chat_messages(
        system, messages,
        tool_result=lambda result: {"role": "tool", "content": result.content,
                                    "tool_name": result.name,
                                    **({"images": [image.data for image in result.images]}
                                       if result.images else {})},
        tool_calls=lambda message: {
            "role": "assistant",
            "content": message.text,
            "tool_calls": [{"function": {"name": call.name, "arguments": call.arguments or {}}}
                           for call in message.tool_calls],
        },
    )


class LineAssembler:
    """Folds NDJSON chat lines into one ``ModelResponse``."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.calls: list[ToolCall] = []
        self.usage = Usage()
        self.done_reason: str | None = None
        self.done = False

    def feed(self, data: dict[str, Any]) -> tuple[str, str]:
        """Take one line; return the answer text and the thinking it adds."""
        if "error" in data:
            error = str(data["error"])
            transient = "overloaded" in error or "timeout" in error
            raise (TransientProviderError if transient else ProviderError)(f"ollama: {error}")
        self.model = data.get("model") or self.model
        message = data.get("message") or {}
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            call_id = call.get("id") or f"call_{len(self.calls)}"
            self.calls.append(make_tool_call(call_id, function.get("name", ""),
                                             function.get("arguments")))
        if data.get("done"):
            self.done = True
            self.done_reason = data.get("done_reason") or "stop"
            counts = (data.get("prompt_eval_count"), data.get("eval_count"))
            self.usage = Usage.not_reported() if counts == (None, None) else Usage(
                input_tokens=counts[0] or 0, output_tokens=counts[1] or 0)
        content = message.get("content") or ""
        if content:
            self.text.append(content)
        thinking = message.get("thinking") or ""
        if thinking:
            self.thinking.append(thinking)
        return content, thinking

    def response(self) -> ModelResponse:
        thinking = "".join(self.thinking)
        return ModelResponse(
            model=self.model,
            text="".join(self.text),
            tool_calls=self.calls,
            usage=self.usage,
            stop_reason=self.done_reason,
            reasoning=[Reasoning(text=thinking)] if thinking else [],
        )


def think_value(model: str, effort: str) -> bool | str:
    """Ollama's ``think`` for an effort: the level itself for gpt-oss, which takes only
    ``low`` / ``medium`` / ``high`` (it ignores ``true``), else ``true``, the switch other
    thinking models take (levels are gpt-oss's alone)."""
    family = model.rsplit("/", 1)[-1].split(":", 1)[0]
    return effort if family.startswith("gpt-oss") else True


class OllamaProvider(HTTPProvider):
    name = "ollama"
    default_model = "qwen3"
    content_types = frozenset({"application/x-ndjson", "application/json"})

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(
            "ollama", f"{normalize_host(self.settings.ollama_host, 'http')}/api/chat", "OLLAMA_HOST"
        )

    def headers(self) -> dict[str, str]:
        return {"content-type": "application/json"}

    async def list_models(self) -> list[str]:
        """``GET /api/tags``: ``{"models": [{"name": "qwen3:latest", "model": ...}, ...]}``,
        the models pulled on this server."""
        url = f"{normalize_host(self.settings.ollama_host, 'http')}/api/tags"
        return names_in(await self.get_json(url), "models", "name", "model")

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": to_ollama_messages(request.system, request.messages),
            "stream": True,
            "options": {"num_predict": request.max_tokens},
        }
        if request.tools:
            body["tools"] = [
                {"type": "function", "function": tool.model_dump()} for tool in request.tools
            ]
        if request.temperature is not None:
            body["options"]["temperature"] = request.temperature
        if request.reasoning_effort is not None:
            body["think"] = think_value(request.model, request.reasoning_effort)
        return body

    async def parse(
        self, response: httpx.Response, request: ChatRequest, touch: Callable[[], None]
    ) -> AsyncIterator[StreamEvent]:
        assembler = LineAssembler(request.model)
        # aiter_lines is an async generator; typed as a plain iterator, which has no aclose
        lines_generator = cast("AsyncGenerator[str, None]", response.aiter_lines())
        async with aclosing(lines_generator) as lines:
            async for line in read_to_end(lines, lambda: assembler.done):
                if not line.strip():
                    continue
                touch()
                text, thinking = assembler.feed(json_chunk(line))
                if thinking:
                    yield ReasoningDelta(thinking)
                if text:
                    yield TextDelta(text)
        if not assembler.done:
            raise TransientProviderError("ollama stream ended before the final line")
        yield ResponseComplete(assembler.response())
