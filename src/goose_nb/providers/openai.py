"""OpenAI chat completions, and any server that speaks the same protocol.

``POST {OPENAI_HOST}/{OPENAI_BASE_PATH}`` with ``stream: true`` and
``stream_options.include_usage``; the answer is SSE ``data:`` chunks ending with ``[DONE]``.
Tool calls arrive as fragments keyed by ``index``; compatible servers differ in the details
(repeated ids and names, no ``finish_reason``, extra top-level keys, ``content`` as a
list of typed text and reasoning parts), which the assembler below tolerates.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
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

logger = logging.getLogger("goose_nb.providers")

#: the content part types whose text is the answer (a part with a text and no type is one)
TEXT_PARTS = frozenset({"text", "output_text"})
#: the content part types that carry the model's reasoning: shown apart, never the answer
REASONING_PARTS = frozenset({"reasoning", "thinking", "reasoning_text"})
#: the message and delta fields compatible servers put the reasoning in: DeepSeek and vLLM
#: ``reasoning_content``, OpenRouter, Groq and Ollama's compatible API ``reasoning``
REASONING_FIELDS = ("reasoning_content", "reasoning")


def _images_message(message: Message) -> dict[str, Any] | None:
    """The images of tool results, as the ``user`` message after them (a ``tool``
    message carries text only)."""
    parts: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": image.data_url}}
        for result in message.tool_results for image in result.images]
    if not parts:
        return None
    names = ", ".join(dict.fromkeys(r.name for r in message.tool_results if r.images))
    return {"role": "user", "content": [
        {"type": "text", "text": f"The images the tool results above returned ({names}):"},
        *parts]}


def to_openai_messages(system: str, messages: list[Message]) -> list[dict[str, Any]]:
    """Our history in OpenAI's shape: tool results are one ``tool`` message each."""
    return chat_messages(
        system, messages,
        tool_result=lambda result: {"role": "tool", "tool_call_id": result.tool_call_id,
                                    "content": result.content},
        tool_images=_images_message,
        tool_calls=lambda message: {
            "role": "assistant",
            # "" rather than null: llama-cpp-python's server refuses null (HTTP 500) and an
            # omitted content breaks its chat template; OpenAI, vLLM and Ollama take ""
            "content": message.text,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.raw_arguments
                                 or json.dumps(call.arguments or {})},
                }
                for call in message.tool_calls
            ],
        },
    )


#: OpenAI's reasoning models refuse ``max_tokens`` and take ``max_completion_tokens``
_COMPLETION_TOKENS_MODELS = re.compile(r"^(o\d|gpt-5)", re.IGNORECASE)


def output_limit_field(model: str) -> str:
    """The body field of the output limit: ``max_completion_tokens`` for the models that
    require it (o1, o3, o4-mini, gpt-5...), ``max_tokens`` for every other model and for
    compatible servers, which all take it."""
    name = model.rsplit("/", 1)[-1]
    return "max_completion_tokens" if _COMPLETION_TOKENS_MODELS.match(name) else "max_tokens"


def usage_from_openai(data: dict[str, Any] | None) -> Usage:
    if not data:
        return Usage.not_reported()
    details = data.get("prompt_tokens_details") or {}
    output_details = data.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=data.get("prompt_tokens") or 0,
        output_tokens=data.get("completion_tokens") or 0,
        cache_read_tokens=details.get("cached_tokens") or 0,
        reasoning_tokens=output_details.get("reasoning_tokens") or 0,
    )


def content_text(content: Any) -> tuple[str, str, set[str]]:
    """The answer text and the reasoning text of a message's or a delta's ``content``,
    and the types of the parts left out of both.

    OpenAI sends a string; some compatible servers send a list of typed parts, text and
    reasoning mixed: the text parts are the answer, the reasoning parts are shown apart
    (joining them all would put the reasoning in the answer, and joining the dicts raises).
    """
    if content is None or isinstance(content, str):
        return content or "", "", set()
    texts: list[str] = []
    thoughts: list[str] = []
    dropped: set[str] = set()
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, str):
            texts.append(part)
            continue
        kind = str(part.get("type", "text")) if isinstance(part, dict) else type(part).__name__
        text = next((part[key] for key in ("text", kind) if isinstance(part, dict)
                     and isinstance(part.get(key), str)), None)
        if kind in TEXT_PARTS and text is not None:
            texts.append(text)
        elif kind in REASONING_PARTS and text is not None:
            thoughts.append(text)
        else:
            dropped.add(kind)
    return "".join(texts), "".join(thoughts), dropped


def reasoning_text(message: dict[str, Any]) -> str:
    """The reasoning a message or a delta carries in a field of its own."""
    return next((message[key] for key in REASONING_FIELDS
                 if isinstance(message.get(key), str) and message[key]), "")


def log_dropped(kinds: set[str]) -> None:
    """Say in the debug log which content parts were left out, and why."""
    for kind in sorted(kinds):
        logger.debug("openai: content parts of unknown type %r (or without text): ignored",
                     kind)


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ChunkAssembler:
    """Folds ``chat.completion.chunk`` objects into one ``ModelResponse``.

    Tool-call fragments are assembled per ``index``. Some compatible servers repeat the id
    and the full name in every fragment, so a name equal to the one already seen is not
    appended again (naive concatenation gives ``llm_versionllm_version``).
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.text: list[str] = []
        self.thinking: list[str] = []
        self.calls: dict[int, _PartialCall] = {}
        #: until a usage chunk arrives: servers that ignore include_usage send none
        self.usage = Usage.not_reported()
        self.finish_reason: str | None = None
        #: the ``data: [DONE]`` end marker has arrived
        self.done = False
        #: the content part types left out so far (each is logged once, not every chunk)
        self.dropped: set[str] = set()

    def feed(self, chunk: dict[str, Any]) -> tuple[str, str]:
        """Take one chunk; return the answer text and the reasoning it adds (maybe
        empty)."""
        if chunk.get("error"):
            raise error_from_chunk(chunk["error"])
        self.model = chunk.get("model") or self.model
        if chunk.get("usage"):
            self.usage = usage_from_openai(chunk["usage"])
        added, thought = "", ""
        for choice in chunk.get("choices") or ():
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            delta = choice.get("delta") or {}
            content, thinking, dropped = content_text(delta.get("content"))
            log_dropped(dropped - self.dropped)
            self.dropped |= dropped
            thinking = reasoning_text(delta) + thinking
            if thinking:
                self.thinking.append(thinking)
                thought += thinking
            if content:
                self.text.append(content)
                added += content
            for fragment in delta.get("tool_calls") or ():
                self._feed_tool_call(fragment)
        return added, thought

    def _feed_tool_call(self, fragment: dict[str, Any]) -> None:
        partial = self.calls.setdefault(fragment.get("index", len(self.calls)), _PartialCall())
        partial.id = partial.id or fragment.get("id") or ""
        function = fragment.get("function") or {}
        name = function.get("name")
        if name and name != partial.name:
            partial.name += name
        if function.get("arguments"):
            partial.arguments.append(function["arguments"])

    def response(self) -> ModelResponse:
        calls: list[ToolCall] = [
            make_tool_call(partial.id or f"call_{index}", partial.name, "".join(partial.arguments))
            for index, partial in sorted(self.calls.items())
        ]
        thinking = "".join(self.thinking)
        return ModelResponse(
            model=self.model,
            text="".join(self.text),
            tool_calls=calls,
            usage=self.usage,
            stop_reason=self.finish_reason,
            reasoning=[Reasoning(text=thinking)] if thinking else [],
        )


def error_from_chunk(error: Any) -> ProviderError:
    """An error object sent inside the stream: overload and server errors are transient."""
    message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
    kind = (error.get("type") or error.get("code") or "") if isinstance(error, dict) else ""
    if str(kind) in {"server_error", "overloaded_error", "rate_limit_exceeded", "timeout"}:
        return TransientProviderError(f"openai stream error: {message}")
    return ProviderError(f"openai stream error: {message}")


def response_from_completion(data: dict[str, Any], model: str) -> ModelResponse:
    """A non-streamed ``chat.completion`` (servers that ignore ``stream: true``)."""
    if data.get("error"):
        raise error_from_chunk(data["error"])
    choice = (data.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    calls = [
        make_tool_call(call.get("id", f"call_{i}"), call["function"]["name"],
                       call["function"].get("arguments"))
        for i, call in enumerate(message.get("tool_calls") or ())
    ]
    text, thinking, dropped = content_text(message.get("content"))
    log_dropped(dropped)
    thinking = reasoning_text(message) + thinking
    return ModelResponse(
        model=data.get("model") or model,
        text=text,
        tool_calls=calls,
        usage=usage_from_openai(data.get("usage")),
        stop_reason=choice.get("finish_reason"),
        reasoning=[Reasoning(text=thinking)] if thinking else [],
    )


class OpenAIProvider(HTTPProvider):
    name = "openai"
    default_model = "gpt-4o"

    @property
    def endpoint(self) -> Endpoint:
        host = normalize_host(self.settings.openai_host)
        path = self.settings.openai_base_path.strip("/")
        return Endpoint("openai", f"{host}/{path}", "OPENAI_HOST", "OPENAI_API_KEY")

    def headers(self) -> dict[str, str]:
        headers = {"content-type": "application/json", "accept": "text/event-stream"}
        key = self.settings.openai_api_key
        if key:
            headers["authorization"] = f"Bearer {key.get_secret_value()}"
        return headers

    @property
    def models_url(self) -> str:
        """The models list next to the chat URL: ``.../v1/chat/completions`` gives
        ``.../v1/models`` (so a prefix such as ``openai/v1/`` is kept); a base path of
        another shape gives ``{OPENAI_HOST}/v1/models``."""
        host = normalize_host(self.settings.openai_host)
        path = self.settings.openai_base_path.strip("/")
        if path == "chat/completions" or path.endswith("/chat/completions"):
            return f"{host}/{path.removesuffix('chat/completions')}models"
        return f"{host}/v1/models"

    async def list_models(self) -> list[str]:
        """``GET /v1/models``: ``{"object": "list", "data": [{"id": ...}, ...]}``, sorted."""
        headers = {"accept": "application/json"}
        key = self.settings.openai_api_key
        if key:
            headers["authorization"] = f"Bearer {key.get_secret_value()}"
        return sorted(names_in(await self.get_json(self.models_url, headers), "data", "id"))

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": to_openai_messages(request.system, request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
            output_limit_field(request.model): request.max_tokens,
        }
        if request.tools:
            body["tools"] = [
                {"type": "function", "function": tool.model_dump()} for tool in request.tools
            ]
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.reasoning_effort is not None:
            body["reasoning_effort"] = request.reasoning_effort
        return body

    async def parse(
        self, response: httpx.Response, request: ChatRequest, touch: Callable[[], None]
    ) -> AsyncIterator[StreamEvent]:
        if response.headers.get("content-type", "").startswith("application/json"):
            data = json_chunk(await response.aread())
            result = response_from_completion(data, request.model)
            for part in result.reasoning:
                yield ReasoningDelta(part.text)
            if result.text:
                yield TextDelta(result.text)
            yield ResponseComplete(result)
            return
        assembler = ChunkAssembler(request.model)
        async with aclosing(EventSource(response).aiter_sse()) as events:
            async for sse in read_to_end(events, lambda: assembler.done):
                data = sse.data
                if not data:
                    continue
                touch()
                if data == "[DONE]":
                    assembler.done = True
                    continue
                text, thinking = assembler.feed(json_chunk(data))
                if thinking:
                    yield ReasoningDelta(thinking)
                if text:
                    yield TextDelta(text)
        if not assembler.done and assembler.finish_reason is None:
            raise TransientProviderError("openai stream ended before the answer was complete")
        yield ResponseComplete(assembler.response())
