"""A budget's estimate never under-states what a provider bills, measured on real calls.

Every recorded request of the shared corpus (OpenAI, Anthropic, Ollama, OpenRouter, Azure)
is read back into goose_nb's messages and tools and estimated as a budget estimates a step
(``billed_input_ceiling`` plus the provider's hidden prompt); the recorded usage is what the
provider really billed. Run with ``-s`` to see the table the README quotes.

``anthropic-stream-web-search`` is left out, and says why: its input is mostly search
results that Anthropic's own server tool fetched and billed as input, which no request
can foresee; goose_nb offers no server tools.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from corpus import require_corpus

from goose_nb.config import Settings
from goose_nb.context import billed_input_ceiling
from goose_nb.messages import ChatRequest, Message, ToolCall, ToolResult, ToolSpec
from goose_nb.providers.registry import provider_class

CORPUS = require_corpus("provider-streams")
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())
SERVER_TOOLS = {"anthropic-stream-web-search"}


def billed_input(expected: dict[str, Any]) -> int | None:
    usage = expected.get("usage") or {}
    return (usage.get("prompt_tokens") or usage.get("input_tokens")
            or usage.get("prompt_eval_count"))


def text_of(content: Any) -> str:
    """A wire message's content as text: strings, and the text of every part."""
    if isinstance(content, str):
        return content
    pieces = []
    for part in content or ():
        for key in ("text", "thinking"):
            if isinstance(part.get(key), str):
                pieces.append(part[key])
        if part.get("type") == "tool_result":
            pieces.append(text_of(part.get("content")))
    return "\n".join(pieces)


def as_request(wire: dict[str, Any]) -> tuple[str, list[Message], list[ToolSpec], bool]:
    """A recorded request body in goose_nb's terms: system, messages, tools, thinking."""
    system = text_of(wire.get("system") or "")
    messages: list[Message] = []
    for message in wire.get("messages", []):
        role, content = message["role"], message.get("content")
        if role == "system":
            system += text_of(content)
            continue
        calls = [ToolCall(id=c.get("id", "c"), name=c["function"]["name"],
                          raw_arguments=arguments if isinstance(arguments, str)
                          else json.dumps(arguments))  # Ollama sends an object
                 for c in message.get("tool_calls") or ()
                 for arguments in [c["function"].get("arguments") or ""]]
        calls += [ToolCall(id=p["id"], name=p["name"], arguments=p.get("input") or {})
                  for p in content or () if isinstance(p, dict) and p.get("type") == "tool_use"]
        if role == "tool":
            messages.append(Message(role="tool", tool_results=(
                ToolResult(tool_call_id=message.get("tool_call_id", "c"),
                           content=text_of(content)),)))
        else:
            messages.append(Message(role="assistant" if role == "assistant" else "user",
                                    text=text_of(content), tool_calls=tuple(calls)))
    tools = [ToolSpec(name=(t.get("function") or t)["name"],
                      description=(t.get("function") or t).get("description", ""),
                      parameters=(t.get("function") or {}).get("parameters")
                      or t.get("input_schema") or {})
             for t in wire.get("tools") or ()]
    return system, messages, tools, bool(wire.get("thinking"))


def provider_name(expected: dict[str, Any]) -> str:
    label = expected["provider"]
    return "openai" if label.startswith("openai") or label.startswith("azure") else label


def estimate(name: str) -> tuple[int, int]:
    expected = EXPECTED[name]
    wire = json.loads((CORPUS / f"{name}.request.json").read_text())
    system, messages, tools, thinking = as_request(wire)
    provider = provider_class(provider_name(expected))(Settings(), None)  # type: ignore[arg-type]
    request = ChatRequest(model=wire.get("model", ""), messages=messages, tools=tools,
                          reasoning_effort="low" if thinking else None)
    ours = billed_input_ceiling(system, messages, tools) + provider.hidden_input_tokens(request)
    billed = billed_input(expected)
    assert billed is not None
    return ours, billed


MEASURED = sorted(name for name, e in EXPECTED.items()
                  if billed_input(e) and name not in SERVER_TOOLS
                  and provider_name(e) in ("openai", "anthropic", "ollama"))


@pytest.mark.parametrize("name", MEASURED)
def test_the_estimate_covers_what_was_billed(name):
    ours, billed = estimate(name)
    assert ours >= billed, f"{name}: estimated {ours} input tokens, billed {billed}"


def test_the_table(capsys):
    rows = [(name, *estimate(name)) for name in MEASURED]
    ratios = [ours / billed for _, ours, billed in rows]
    lines = [f"\n{'recorded call':55s} {'estimate':>9s} {'billed':>7s} {'ratio':>6s}"]
    lines += [f"{name:55s} {ours:9,d} {billed:7,d} {ratio:6.2f}"
              for (name, ours, billed), ratio in zip(rows, ratios, strict=True)]
    lines.append(f"{len(rows)} calls: ratio min {min(ratios):.2f}, max {max(ratios):.2f}\n")
    with capsys.disabled():
        sys.stdout.write("\n".join(lines))
    assert len(rows) >= 18 and min(ratios) >= 1.0
