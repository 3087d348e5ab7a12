"""What the model is told besides the prompt, and keeping it inside the context window.

The system prompt says where the agent works and which tools it has, followed by the
user's ``.goosehints`` (this folder's and ``~/.config/goose/.goosehints``), which is how
Goose users give project context. The conversation so far goes with every request; when it
would pass 80% of the model's context window, the oldest turns are dropped and replaced by
a short digest, with a notice, so a request is never sent over the limit.
"""

from __future__ import annotations

import json
import math
import os
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from goose_nb.messages import Message, ToolResult, ToolSpec

HINTS_FILE = ".goosehints"
#: share of the context window a request may fill; the rest is room for the answer
CONTEXT_BUDGET = 0.8
#: characters per token, on the safe side for English and code (real BPE averages ~4)
CHARS_PER_TOKEN = 3.5
#: tokens an image costs, on the safe side: Anthropic's ceiling for a full-size image
#: (about 1,600); OpenAI's high-detail tiles of a 1024-pixel square come to 765
IMAGE_TOKENS = 1_600
DEFAULT_CONTEXT_LIMIT = 128_000
#: known windows by model-name prefix; the longest matching prefix wins
KNOWN_CONTEXT_LIMITS: dict[str, int] = {
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "claude": 200_000,
    "llama3.1": 128_000,
    "llama3.2": 128_000,
    "llama3": 8_192,
    "qwen2.5": 32_768,
    "qwen3": 40_960,
    "mistral": 32_768,
    "gemma3": 128_000,
}

SYSTEM_PROMPT = """\
You are Goose, an AI agent working inside a Jupyter notebook kernel. The user writes to \
you in notebook cells; your answers are rendered as Markdown under the cell, so use \
Markdown, with code in fenced blocks. The user's variables live in this kernel: look at \
them with list_variables before guessing, and run Python with the python tool, in the \
user's namespace, when a task needs computing. Work in small steps, check results, and \
finish with a short answer to what was asked."""


#: each hints file's text, with the (modification time, size) it was read at
_HINTS_READ: dict[Path, tuple[tuple[int, int], str]] = {}


def _hints_text(path: Path) -> str:
    """The stripped text of one hints file, read again only when the file changed (every
    step builds the system prompt; a stat is cheaper than a read)."""
    try:
        stat = os.stat(path)
    except OSError:
        _HINTS_READ.pop(path, None)
        return ""
    stamp = (stat.st_mtime_ns, stat.st_size)
    known = _HINTS_READ.get(path)
    if known is not None and known[0] == stamp:
        return known[1]
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    _HINTS_READ[path] = (stamp, text)
    return text


def load_hints(cwd: Path, home: Path) -> str:
    """``.goosehints`` of the user's Goose config and of the current folder, in that order."""
    paths = (home / ".config" / "goose" / HINTS_FILE, cwd / HINTS_FILE)
    return "\n\n".join(text for text in map(_hints_text, paths) if text)


def build_system_prompt(
    tools: Sequence[ToolSpec], hints: str = "", digest: str = "", instructions: str = ""
) -> str:
    """The system prompt: who and where, the tools, the user's hints, the digest of trimmed
    turns, and this run's own instructions (a recipe's, a subagent's task context)."""
    parts = [SYSTEM_PROMPT]
    if tools:
        listed = "\n".join(f"- {tool.name}: {tool.description}" for tool in tools)
        parts.append(f"Your tools:\n{listed}")
    else:
        parts.append("No tools are available in this conversation: answer in text only.")
    if hints:
        parts.append(f"Hints from the user's .goosehints files:\n{hints}")
    if digest:
        parts.append(f"Earlier turns of this session, trimmed to save context:\n{digest}")
    if instructions:
        parts.append(instructions)
    return "\n\n".join(parts)


def context_limit(model: str, configured: int | None = None) -> int:
    """``configured`` (a ``GOOSE_*CONTEXT_LIMIT``) if set, else the model's known window."""
    if configured:
        return configured
    name = model.lower().split("/")[-1]
    matches = [prefix for prefix in KNOWN_CONTEXT_LIMITS if name.startswith(prefix)]
    return KNOWN_CONTEXT_LIMITS[max(matches, key=len)] if matches else DEFAULT_CONTEXT_LIMIT


Counted = TypeVar("Counted")


class _CountOnce(Generic[Counted]):
    """A count per object, made once: messages and tool specs are immutable, and without
    this every step would walk the whole history again (twice or more while trimming).
    Keyed by identity (a message with tool arguments is not hashable), each entry dropped
    when its object is."""

    def __init__(self, count: Callable[[Counted], int]) -> None:
        self._count = count
        self._counts: dict[int, tuple[weakref.ref[Counted], int]] = {}

    def __call__(self, item: Counted) -> int:
        key = id(item)
        known = self._counts.get(key)
        if known is not None and known[0]() is item:
            return known[1]
        value = self._count(item)
        self._counts[key] = (weakref.ref(item, lambda _: self._counts.pop(key, None)), value)
        return value


def _message_chars(message: Message) -> int:
    return (len(message.text) + 16
            + sum(len(c.raw_arguments or json.dumps(c.arguments)) for c in message.tool_calls)
            + sum(len(r.content) + math.ceil(len(r.images) * IMAGE_TOKENS * CHARS_PER_TOKEN)
                  for r in message.tool_results))


def _tool_chars(tool: ToolSpec) -> int:
    return len(json.dumps(tool.parameters)) + len(tool.description)


_MESSAGE_CHARS = _CountOnce(_message_chars)
_TOOL_CHARS = _CountOnce(_tool_chars)


def estimate_tokens(system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> int:
    """A conservative token count from the size of what will be sent."""
    chars = len(system) + sum(map(_TOOL_CHARS, tools)) + sum(map(_MESSAGE_CHARS, messages))
    return math.ceil(chars / CHARS_PER_TOKEN)


#: bytes of UTF-8 per billed token, for budgets: fewer than any tokenizer measured packs
#: (English runs 4 or more, CJK text about 3 bytes a character and a token or more each)
BILLED_BYTES_PER_TOKEN = 3.0
#: tokens each message and each tool adds to a request beyond their text (role markers,
#: the schema's framing), on the safe side of what OpenAI and Ollama count
MESSAGE_OVERHEAD_TOKENS = 8
TOOL_OVERHEAD_TOKENS = 25
REQUEST_OVERHEAD_TOKENS = 10


def billed_input_ceiling(system: str, messages: Sequence[Message],
                         tools: Sequence[ToolSpec]) -> int:
    """At least as many input tokens as a provider bills for this request, for budgets: the
    text's UTF-8 bytes at ``BILLED_BYTES_PER_TOKEN``, images at ``IMAGE_TOKENS``, and the
    framing of each message and tool (a provider's own hidden prompt comes on top:
    ``Provider.hidden_input_tokens``)."""
    def size(text: str) -> int:
        return len(text.encode("utf-8", "replace"))

    data = size(system) + sum(size(t.name) + size(t.description) + size(json.dumps(t.parameters))
                              for t in tools)
    images = 0
    for message in messages:
        data += size(message.text) + sum(size(c.raw_arguments or json.dumps(c.arguments))
                                         for c in message.tool_calls)
        data += sum(size(r.content) for r in message.tool_results)
        images += sum(len(r.images) for r in message.tool_results)
    return (math.ceil(data / BILLED_BYTES_PER_TOKEN) + images * IMAGE_TOKENS
            + REQUEST_OVERHEAD_TOKENS + MESSAGE_OVERHEAD_TOKENS * len(messages)
            + TOOL_OVERHEAD_TOKENS * len(tools))


def split_turns(history: Sequence[Message]) -> list[list[Message]]:
    """The history cut into turns: each starts with a user message."""
    turns: list[list[Message]] = []
    for message in history:
        if message.role == "user" or not turns:
            turns.append([])
        turns[-1].append(message)
    return turns


def digest_turn(turn: Sequence[Message]) -> str:
    """One line for a dropped turn: what was asked and how it was answered."""
    asked = " ".join(turn[0].text.split())[:150]
    answers = [m.text for m in turn if m.role == "assistant" and m.text]
    answered = " ".join(answers[-1].split())[:150] if answers else "(no text answer)"
    return f"- asked: {asked!r}; answered: {answered!r}"


@dataclass(frozen=True)
class Trimmed:
    """The result of fitting a request into the window."""

    history: list[Message]
    turn_messages: list[Message]
    dropped_turns: list[list[Message]]
    shortened_results: int
    tokens: int
    limit: int


def shorten_results(messages: Sequence[Message]) -> tuple[list[Message], int]:
    """Replace the content (and drop the images) of tool results, except the newest, by a
    short marker."""
    shortened, count = [], 0
    last_tool = max((i for i, m in enumerate(messages) if m.role == "tool"), default=-1)
    for index, message in enumerate(messages):
        if message.role == "tool" and index != last_tool:
            results = tuple(
                ToolResult(tool_call_id=r.tool_call_id, name=r.name, is_error=r.is_error,
                           content="[output removed to fit the context window]")
                for r in message.tool_results
            )
            count += len(results)
            message = message.model_copy(update={"tool_results": results})
        shortened.append(message)
    return shortened, count


def fit_context(
    *,
    system: str,
    history: list[Message],
    turn_messages: list[Message],
    tools: Sequence[ToolSpec],
    limit: int,
) -> Trimmed:
    """Drop the oldest turns, then shorten this turn's older tool results, until the request
    fits in ``CONTEXT_BUDGET`` of ``limit``. What is left may still be too big; the caller
    checks ``tokens`` against the budget."""
    budget = int(limit * CONTEXT_BUDGET)
    turns = split_turns(history)
    dropped: list[list[Message]] = []

    def size(current_history: list[Message], current_turn: list[Message]) -> int:
        return estimate_tokens(system, [*current_history, *current_turn], tools)

    kept = [m for turn in turns for m in turn]
    while turns and size(kept, turn_messages) > budget:
        dropped.append(turns.pop(0))
        kept = [m for turn in turns for m in turn]
    shortened = 0
    if size(kept, turn_messages) > budget:
        turn_messages, shortened = shorten_results(turn_messages)
    return Trimmed(kept, turn_messages, dropped, shortened, size(kept, turn_messages), limit)
