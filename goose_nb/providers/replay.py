"""The ``replay`` provider: plays a cassette back, in order, with no network.

Each call must match the next recorded one: same model (when the cassette names one) and
same last message. A mismatch is an error that says which step, what the cassette expected
and what was asked, so a notebook that drifted from its cassette fails loudly rather than
replaying answers to questions nobody asked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from goose_nb.cassette import Cassette, describe_message, load_cassette, message_key
from goose_nb.config import Settings
from goose_nb.errors import CassetteError, ConfigError
from goose_nb.messages import ChatRequest, ResponseComplete, StreamEvent, TextDelta
from goose_nb.providers.base import Provider

_CHUNK = re.compile(r"\S+\s*|\s+")


def _short(described: dict[str, Any]) -> str:
    role = described.get("role", "?")
    if role == "tool":
        return f"tool results for {', '.join(described.get('tool_call_ids') or ()) or '(none)'}"
    text = " ".join(str(described.get("text", "")).split())
    return f"{role}: {text[:80]!r}" + ("…" if len(text) > 80 else "")


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
        self.position = 0
        first = self.cassette.interactions[0].request.model if self.cassette.interactions else None
        self.default_model = first or "replay"

    async def list_models(self) -> list[str]:
        """The models the cassette's requests name, in order of first appearance."""
        models = (i.request.model for i in self.cassette.interactions)
        return list(dict.fromkeys(model for model in models if model))

    def describe(self) -> dict[str, Any]:
        return {"provider": self.name, "cassette": self.path, "scripted": self.cassette.scripted}

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        step = self.position + 1
        total = len(self.cassette.interactions)
        if self.position >= total:
            raise CassetteError(
                f"cassette {self.path} has no step {step} (it holds {total}): the notebook asks "
                "more than was recorded; re-record it with GOOSE_NB_RECORD"
            )
        recorded = self.cassette.interactions[self.position]
        asked = describe_message(request.messages[-1] if request.messages else None)
        expected = recorded.request.last_message
        model_ok = recorded.request.model in (None, request.model)
        if not model_ok or (expected and message_key(expected) != message_key(asked)):
            raise CassetteError(
                f"cassette {self.path} step {step}: expected model {recorded.request.model} "
                f"and last message {_short(expected)}, but got model {request.model} and "
                f"{_short(asked)}"
            )
        self.position += 1
        text = recorded.response.text
        for piece in _CHUNK.findall(text):
            yield TextDelta(piece)
            await asyncio.sleep(0)
        yield ResponseComplete(recorded.response)
