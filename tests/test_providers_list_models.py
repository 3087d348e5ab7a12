"""``Provider.list_models``: each provider's models endpoint, through the local server.

OpenAI ``GET /v1/models`` (ids, sorted), Anthropic ``GET /v1/models`` (ids, newest first),
Ollama ``GET /api/tags`` (names), replay (the models its cassette asks for). Anything that
goes wrong gives ``[]``, within the 2-second budget, and never raises.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ANTHROPIC_KEY, OPENAI_KEY, closed_port_url, settings_for
from model_server import Reply

from goose_nb.cassette import (
    Cassette,
    Interaction,
    RecordedRequest,
    load_cassette,
    save_cassette,
)
from goose_nb.config import Settings
from goose_nb.messages import ModelResponse
from goose_nb.providers.recording import CassetteRecorder, RecordingProvider
from goose_nb.providers.registry import provider_class


def json_reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, [json.dumps(data).encode()], content_type="application/json")


OPENAI_MODELS = {"object": "list", "data": [
    {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
    {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
    {"id": "o3-mini", "object": "model", "created": 1737146383, "owned_by": "system"},
]}
ANTHROPIC_MODELS = {"data": [
    {"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5",
     "created_at": "2025-09-29T00:00:00Z"},
    {"type": "model", "id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5",
     "created_at": "2025-10-01T00:00:00Z"},
], "has_more": False, "first_id": "claude-sonnet-4-5", "last_id": "claude-haiku-4-5"}
OLLAMA_TAGS = {"models": [
    {"name": "qwen3:latest", "model": "qwen3:latest", "modified_at": "2025-10-03T23:34:03Z",
     "size": 3338801804, "digest": "a2af6cc3", "details": {"family": "qwen3"}},
    {"name": "llama3.2:3b", "model": "llama3.2:3b", "modified_at": "2025-09-01T10:00:00Z",
     "size": 2019393189, "digest": "a80c4f17", "details": {"family": "llama"}},
]}
ROUTES = {"openai": "/v1/models", "anthropic": "/v1/models?limit=1000", "ollama": "/api/tags"}
BODIES = {"openai": OPENAI_MODELS, "anthropic": ANTHROPIC_MODELS, "ollama": OLLAMA_TAGS}


def list_models(name: str, settings: Settings) -> tuple[list[str], float]:
    """One call on a fresh loop and client; returns (models, seconds taken)."""

    async def go() -> list[str]:
        async with httpx.AsyncClient(timeout=10.0) as client:
            return await provider_class(name)(settings, client).list_models()

    started = time.monotonic()
    models = asyncio.run(go())
    return models, time.monotonic() - started


def test_openai_lists_ids_sorted_with_the_bearer_key(model_server):
    model_server.get_routes["/v1/models"] = json_reply(OPENAI_MODELS)
    models, _ = list_models("openai", settings_for(model_server))
    assert models == ["gpt-4o", "gpt-4o-mini", "o3-mini"]
    (request,) = model_server.get_requests
    assert request.path == "/v1/models"
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["authorization"] == f"Bearer {OPENAI_KEY}"


@pytest.mark.parametrize(("host_suffix", "base_path", "expected"), [
    ("", "v1/chat/completions", "/v1/models"),
    ("", "/openai/v1/chat/completions/", "/openai/v1/models"),  # e.g. Groq
    ("/v1", "chat/completions", "/v1/models"),  # the /v1 in OPENAI_HOST
    ("", "v1/responses", "/v1/models"),  # another shape: the host's /v1/models
])
def test_openai_models_url_sits_next_to_the_chat_url(model_server, host_suffix, base_path,
                                                     expected):
    model_server.get_routes[expected] = json_reply(OPENAI_MODELS)
    settings = settings_for(model_server, openai_host=model_server.url + host_suffix,
                            openai_base_path=base_path)
    models, _ = list_models("openai", settings)
    assert [r.path for r in model_server.get_requests] == [expected]
    assert models == ["gpt-4o", "gpt-4o-mini", "o3-mini"]


def test_anthropic_lists_ids_newest_first_with_key_and_version(model_server):
    model_server.get_routes["/v1/models?limit=1000"] = json_reply(ANTHROPIC_MODELS)
    models, _ = list_models("anthropic", settings_for(model_server))
    assert models == ["claude-sonnet-4-5", "claude-haiku-4-5"]
    (request,) = model_server.get_requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["x-api-key"] == ANTHROPIC_KEY
    assert headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers


def test_ollama_lists_the_pulled_models(model_server):
    model_server.get_routes["/api/tags"] = json_reply(OLLAMA_TAGS)
    models, _ = list_models("ollama", settings_for(model_server))
    assert models == ["qwen3:latest", "llama3.2:3b"]
    assert [r.path for r in model_server.get_requests] == ["/api/tags"]


def test_ollama_host_without_scheme(model_server):
    model_server.get_routes["/api/tags"] = json_reply(OLLAMA_TAGS)
    host = model_server.url.removeprefix("http://")
    models, _ = list_models("ollama", settings_for(model_server, ollama_host=host))
    assert models == ["qwen3:latest", "llama3.2:3b"]


def write_cassette(path: Path, models: list[str | None]) -> Path:
    interactions = [
        Interaction(request=RecordedRequest(provider="openai", model=model,
                                            last_message={"role": "user", "text": f"q{i}"}),
                    response=ModelResponse(model=model or "x", text=f"a{i}"))
        for i, model in enumerate(models)
    ]
    save_cassette(Cassette(scripted=True, interactions=interactions), path, [])
    return path


def test_replay_lists_the_cassettes_models_once_each_in_order(tmp_path):
    cassette = write_cassette(tmp_path / "c.yaml",
                              ["gpt-4o-mini", None, "claude-lead", "gpt-4o-mini"])
    models, _ = list_models("replay", settings_for(None, cassette=str(cassette)))
    assert models == ["gpt-4o-mini", "claude-lead"]


def test_recording_provider_passes_the_list_through(model_server, tmp_path):
    model_server.get_routes["/api/tags"] = json_reply(OLLAMA_TAGS)

    async def go() -> list[str]:
        async with httpx.AsyncClient() as client:
            inner = provider_class("ollama")(settings_for(model_server), client)
            recorder = CassetteRecorder(tmp_path / "rec.yaml", [])
            return await RecordingProvider(inner, recorder).list_models()

    assert asyncio.run(go()) == ["qwen3:latest", "llama3.2:3b"]
    # listing models is not a model call: the cassette (written when recording began)
    # records none
    assert load_cassette(tmp_path / "rec.yaml").interactions == []


BAD_REPLIES = {
    "404 (no models endpoint)": None,
    "401": json_reply({"error": {"message": "invalid x-api-key"}}, 401),
    "500": json_reply({"error": {"message": "boom"}}, 500),
    "HTML page": Reply(200, [b"<html>proxy login</html>"], content_type="text/html"),
    "JSON list": json_reply(["gpt-4o"]),
    "wrong key": json_reply({"models": [{"id": "gpt-4o"}], "data": "nope"}),
    "items without ids": json_reply({"data": [{"name": 1}, "x", {"id": 3}],
                                     "models": [{"size": 1}, {"name": ""}]}),
    "cut off": Reply(200, [b'{"data": [{"id": "gp', b't-4o"}]}'],
                     content_type="application/json", cut_after=1),
}


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
@pytest.mark.parametrize("case", list(BAD_REPLIES))
def test_anything_unexpected_gives_an_empty_list(model_server, provider, case):
    reply = BAD_REPLIES[case]
    if reply is not None:
        model_server.get_routes[ROUTES[provider]] = reply
    models, _ = list_models(provider, settings_for(model_server))
    assert models == []
    assert [r.path for r in model_server.get_requests] == [ROUTES[provider]]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
def test_unreachable_server_gives_an_empty_list(provider):
    url = closed_port_url()
    settings = settings_for(None, openai_host=url, anthropic_host=url, ollama_host=url)
    assert list_models(provider, settings)[0] == []


def test_a_server_that_does_not_answer_is_given_two_seconds(model_server):
    model_server.get_routes["/v1/models"] = Reply(200, [json.dumps(OPENAI_MODELS).encode()],
                                                  content_type="application/json", delay=4)
    models, seconds = list_models("openai", settings_for(model_server))
    assert models == []
    assert 1.5 < seconds < 3.0


def test_replay_without_cassette_models_is_empty(tmp_path):
    cassette = write_cassette(tmp_path / "c.yaml", [None, None])
    assert list_models("replay", settings_for(None, cassette=str(cassette)))[0] == []


def test_a_server_listing_models_works_for_each_provider(model_server):
    """The three at once, on one server: each reads its own endpoint."""
    for provider, route in ROUTES.items():
        model_server.get_routes[route] = json_reply(BODIES[provider])
    found = {name: list_models(name, settings_for(model_server))[0] for name in ROUTES}
    assert found == {"openai": ["gpt-4o", "gpt-4o-mini", "o3-mini"],
                     "anthropic": ["claude-sonnet-4-5", "claude-haiku-4-5"],
                     "ollama": ["qwen3:latest", "llama3.2:3b"]}
