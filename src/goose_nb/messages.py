"""Provider-neutral message types.

Every provider translates its wire format into these and back, so nothing above the
provider layer knows whether a turn went to OpenAI, Anthropic, Ollama or a cassette.
The conversation history, cassettes and events all speak in these types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "assistant", "tool"]
ReasoningEffort = Literal["low", "medium", "high"]


class ToolCall(BaseModel):
    """A tool the model asked to run.

    ``arguments`` is the parsed JSON object; when the model sent something that is not a
    JSON object, ``arguments`` is ``None`` and ``raw_arguments`` keeps what it sent, so the
    agent can tell the model exactly what was wrong instead of crashing. ``repaired`` says
    the arguments were read only by tolerating control characters (a raw newline) inside
    JSON strings, as small models write them.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: dict[str, Any] | None = Field(default_factory=dict)
    raw_arguments: str = ""
    repaired: bool = False


class ToolImage(BaseModel):
    """An image a tool gave back (an MCP server's image content), base64-encoded."""

    model_config = ConfigDict(frozen=True)

    mime_type: str
    data: str

    @property
    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{self.data}"


class ToolResult(BaseModel):
    """The outcome of one tool call, sent back to the model: its text, and the images
    it gave (each provider sends them its own way)."""

    model_config = ConfigDict(frozen=True)

    tool_call_id: str
    name: str = ""
    content: str
    is_error: bool = False
    images: tuple[ToolImage, ...] = ()
    #: the user's variables the call changed, with their fingerprints after it (goose_nb's
    #: lineage; never sent to the model)
    changed: dict[str, tuple[Any, ...]] = Field(default_factory=dict)


class Reasoning(BaseModel):
    """One block of a model's thinking, kept apart from its answer.

    ``text`` is what the model thought (``reasoning_content`` of OpenAI-compatible servers,
    Ollama's ``thinking``, an Anthropic ``thinking`` block). Anthropic signs its blocks:
    ``signature`` must go back unchanged with the tool results of the same turn, and a
    ``redacted`` block carries only its encrypted ``data``, which goes back the same way.
    """

    model_config = ConfigDict(frozen=True)

    text: str = ""
    signature: str = ""
    redacted: bool = False
    data: str = ""


class Message(BaseModel):
    """One entry of the conversation.

    ``user`` messages carry text; ``assistant`` messages carry text and/or tool calls;
    ``tool`` messages carry the results of the previous assistant message's tool calls
    (one OpenAI ``tool`` message each, one Anthropic ``user`` message with
    ``tool_result`` blocks — the providers do that translation).
    """

    model_config = ConfigDict(frozen=True)

    role: Role
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()
    #: an assistant message's thinking, never part of ``text``
    reasoning: tuple[Reasoning, ...] = ()

    @classmethod
    def user(cls, text: str) -> Message:
        return cls(role="user", text=text)

    def summary(self) -> str:
        """A short, stable description used by cassettes to match requests."""
        if self.role == "tool":
            return "; ".join(f"{r.name or r.tool_call_id}: {r.content}" for r in self.tool_results)
        if self.tool_calls:
            calls = ", ".join(c.name for c in self.tool_calls)
            return f"{self.text} [tool calls: {calls}]".strip()
        return self.text


class Usage(BaseModel):
    """Tokens one model call (or a sum of calls) used, as the provider reported them.

    ``input_tokens`` counts all input tokens, cache reads and writes included; the cache
    counts say which part of it was billed at cache rates. ``reasoning_tokens`` is the part
    of ``output_tokens`` the model spent thinking, where the provider says (it is priced as
    output, since it is billed as output). ``unreported`` counts the calls whose server sent
    no usage at all (some OpenAI-compatible servers ignore ``include_usage``): their tokens
    are unknown, not zero, and are never priced.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    unreported: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            unreported=self.unreported + other.unreported,
        )

    @classmethod
    def not_reported(cls) -> Usage:
        """The usage of one call whose server reported none."""
        return cls(unreported=1)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class ModelRef(BaseModel):
    """Which provider and model answered (or should answer) a call."""

    model_config = ConfigDict(frozen=True)

    provider: str
    model: str

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


class ToolSpec(BaseModel):
    """A tool offered to the model: name, description and JSON schema of its arguments."""

    model_config = ConfigDict(frozen=True)

    name: str
    description: str
    parameters: dict[str, Any]


class ChatRequest(BaseModel):
    """Everything a provider needs for one model call (one step)."""

    model: str
    system: str = ""
    messages: list[Message]
    tools: list[ToolSpec] = Field(default_factory=list)
    max_tokens: int = 4096
    temperature: float | None = None
    #: how hard the model should think (``GOOSE_REASONING_EFFORT``), in each provider's terms
    reasoning_effort: ReasoningEffort | None = None


class ModelResponse(BaseModel):
    """A complete answer of one model call: what the history keeps."""

    model: str
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str | None = None
    reasoning: list[Reasoning] = Field(default_factory=list)

    @property
    def cut_at_limit(self) -> bool:
        """The answer stopped at the output limit (OpenAI and Ollama ``length``, Anthropic
        ``max_tokens``), not because the model was done."""
        return self.stop_reason in ("length", "max_tokens")

    def as_message(self) -> Message:
        return Message(role="assistant", text=self.text, tool_calls=tuple(self.tool_calls),
                       reasoning=tuple(self.reasoning))


# Streaming events are plain slotted dataclasses, not pydantic models: a long answer yields
# thousands of them and they never leave the process.


@dataclass(slots=True)
class TextDelta:
    """A piece of the answer's text, as it arrives."""

    text: str


@dataclass(slots=True)
class ReasoningDelta:
    """A piece of the model's thinking, as it arrives (never part of the answer)."""

    text: str


@dataclass(slots=True)
class StreamRestarted:
    """The stream broke and the step is being retried: discard the partial text shown."""

    reason: str


@dataclass(slots=True)
class ResponseComplete:
    """The last event of a successful stream."""

    response: ModelResponse


StreamEvent = TextDelta | ReasoningDelta | StreamRestarted | ResponseComplete
