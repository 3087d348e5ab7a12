"""The ``replay`` provider: plays a cassette back, in order, with no network.

Each call must match the next recorded one: same model (when the cassette names one) and
same last message. A mismatch is an error that says which step, what the cassette expected
and what was asked, so a notebook that drifted from its cassette fails loudly rather than
replaying answers to questions nobody asked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator
from typing import Any

import httpx

from goose_nb.cassette import Cassette, describe_message, load_cassette, message_key
from goose_nb.config import Settings
from goose_nb.errors import CassetteError, ConfigError
from goose_nb.messages import (
    ChatRequest,
    ReasoningDelta,
    ResponseComplete,
    StreamEvent,
    TextDelta,
)
from goose_nb.providers.base import Provider

_CHUNK = re.compile(r"\S+\s*|\s+")


#: characters of a message shown in a mismatch, and of them how many before the first
#: difference (so two prompts that differ late do not look the same)
SHOWN_CHARS = 80
CONTEXT_CHARS = 30


def _words(described: dict[str, Any]) -> str:
    return " ".join(str(described.get("text", "")).split())


def _short(described: dict[str, Any], start: int = 0) -> str:
    """A described message in a line, its text from ``start`` on."""
    role = described.get("role", "?")
    if role == "tool":
        return f"tool results for {', '.join(described.get('tool_call_ids') or ()) or '(none)'}"
    text = _words(described)
    shown = text[start : start + SHOWN_CHARS]
    return (f"{role}: " + ("…" if start else "") + repr(shown)
            + ("…" if len(text) > start + SHOWN_CHARS else ""))


def _mismatch(expected: dict[str, Any], asked: dict[str, Any]) -> tuple[str, str]:
    """The two messages as a person should compare them: texts of the same role are shown
    from a little before the first character where they differ."""
    start = 0
    if expected.get("role") == asked.get("role") != "tool":
        one, other = _words(expected), _words(asked)
        same = next((i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b),
                    min(len(one), len(other)))
        start = max(0, same - CONTEXT_CHARS)
    return _short(expected, start), _short(asked, start)


class ReplayProvider(Provider):
    name = "replay"
    default_model = "replay"

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        super().__init__(settings, client)
        if not settings.cassette:
            raise ConfigError(
                "GOOSE_PROVIDER=replay needs a cassette: set GOOSE_NB_CASSETTE=path.yaml"
            )
        self.path = settings.cassette
        self.cassette: Cassette = load_cassette(settings.cassette)
        #: the first step not used yet, and the steps used out of order
        self.position = 0
        self._used: set[int] = set()
        first = self.cassette.interactions[0].request if self.cassette.interactions else None
        self.default_model = (first.model if first else None) or "replay"
        #: the provider that recorded (or that the script names): what a replay shows
        self.recorded_provider = (first.provider if first else None) or self.name

    @property
    def shown_as(self) -> str:
        return self.recorded_provider

    async def list_models(self) -> list[str]:
        """The models the cassette's requests name, in order of first appearance."""
        models = (i.request.model for i in self.cassette.interactions)
        return list(dict.fromkeys(model for model in models if model))

    def describe(self) -> dict[str, Any]:
        return {"provider": self.name, "cassette": self.path, "scripted": self.cassette.scripted}

    def _matches(self, index: int, model: str, asked: dict[str, Any]) -> bool:
        recorded = self.cassette.interactions[index].request
        expected = recorded.last_message
        return recorded.model in (None, model) and (
            not expected or message_key(expected) == message_key(asked))

    async def stream(self, request: ChatRequest) -> AsyncGenerator[StreamEvent, None]:
        step = self.position + 1
        total = len(self.cassette.interactions)
        if self.position >= total:
            raise CassetteError(
                f"cassette {self.path} has no step {step} (it holds {total}): the notebook asks "
                "more than was recorded; re-record it with GOOSE_NB_RECORD"
            )
        asked = describe_message(request.messages[-1] if request.messages else None)
        # in order; but subagents running in parallel interleave their calls differently
        # on every run, so a later unused step that matches exactly is taken instead
        index = next((i for i in range(self.position, total) if i not in self._used
                      and self._matches(i, request.model, asked)), None)
        if index is None:
            recorded = self.cassette.interactions[self.position].request
            expected, got = _mismatch(recorded.last_message, asked)
            raise CassetteError(
                f"cassette {self.path} step {step}: expected model {recorded.model} "
                f"and last message {expected}, but got model {request.model} and {got}"
            )
        self._used.add(index)
        while self.position in self._used:
            self.position += 1
        response = self.cassette.interactions[index].response
        for part in response.reasoning:
            for piece in _CHUNK.findall(part.text):
                yield ReasoningDelta(piece)
        text = response.text
        for piece in _CHUNK.findall(text):
            yield TextDelta(piece)
            await asyncio.sleep(0)
        yield ResponseComplete(self.cassette.interactions[index].response)
