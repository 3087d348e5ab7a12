"""Provider auto-detection when GOOSE_PROVIDER is unset (behaviour.md §1).

OPENAI_API_KEY → openai; else ANTHROPIC_API_KEY → anthropic; else an Ollama answering at
OLLAMA_HOST → ollama; else a message that says how to configure a model and how to run the
offline demos.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from conftest import ANTHROPIC_KEY, OPENAI_KEY, closed_port_url, settings_for
from model_server import Reply, anthropic_reply, ollama_reply, openai_reply

from goose_nb.errors import ConfigError
from goose_nb.providers.detect import detect_provider


def ollama_tags() -> Reply:
    return Reply(200, [b'{"models": []}'], content_type="application/json")


def detect(settings) -> str:
    async def go() -> str:
        async with httpx.AsyncClient() as client:
            return await detect_provider(settings, client)

    return asyncio.run(go())


def test_openai_key_selects_openai(model_server, make_session):
    model_server.queue(openai_reply("hi from openai"))
    session = make_session(model_server, None, ANTHROPIC_API_KEY=None)
    record = session.ask("hello")
    assert record.answer == "hi from openai"
    assert record.steps[0].model.provider == "openai"
    (request,) = model_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers.get("authorization") == f"Bearer {OPENAI_KEY}"


def test_openai_key_wins_over_anthropic_key(model_server, make_session):
    model_server.queue(openai_reply("hi"))
    session = make_session(model_server, None)  # both keys set
    assert session.ask("hello").steps[0].model.provider == "openai"
    assert model_server.requests[0].path == "/v1/chat/completions"


def test_anthropic_key_selects_anthropic(model_server, make_session):
    model_server.queue(anthropic_reply("hi from anthropic"))
    session = make_session(model_server, None, OPENAI_API_KEY=None)
    record = session.ask("hello")
    assert record.answer == "hi from anthropic"
    assert record.steps[0].model.provider == "anthropic"
    (request,) = model_server.requests
    assert request.path == "/v1/messages"
    assert request.headers.get("x-api-key") == ANTHROPIC_KEY


def test_empty_openai_key_counts_as_unset(model_server, make_session):
    model_server.queue(anthropic_reply("hi"))
    session = make_session(model_server, None, OPENAI_API_KEY="")
    assert session.ask("hello").steps[0].model.provider == "anthropic"


def test_running_ollama_selects_ollama(model_server, make_session):
    model_server.get_routes["/api/tags"] = ollama_tags()
    model_server.queue(ollama_reply("hi from ollama"))
    session = make_session(model_server, None, OPENAI_API_KEY=None, ANTHROPIC_API_KEY=None)
    record = session.ask("hello")
    assert record.answer.strip() == "hi from ollama"
    assert record.steps[0].model.provider == "ollama"
    assert [r.path for r in model_server.requests] == ["/api/chat"]


def test_ollama_host_without_scheme_is_detected(model_server):
    model_server.get_routes["/api/tags"] = ollama_tags()
    host = model_server.url.removeprefix("http://")
    settings = settings_for(None, openai_api_key=None, anthropic_api_key=None, ollama_host=host)
    assert detect(settings) == "ollama"


def test_server_that_is_not_ollama_is_not_detected(model_server):
    """Something answers at OLLAMA_HOST, but /api/tags is a 404: not an Ollama."""
    settings = settings_for(None, openai_api_key=None, anthropic_api_key=None,
                            ollama_host=model_server.url)
    with pytest.raises(ConfigError):
        detect(settings)


def test_explicit_provider_wins_over_detection(model_server, make_session):
    model_server.queue(anthropic_reply("hi"))
    session = make_session(model_server, "anthropic")  # the OpenAI key is set too
    assert session.ask("hello").steps[0].model.provider == "anthropic"
    assert model_server.requests[0].path == "/v1/messages"


def test_detect_order_direct():
    assert detect(settings_for(None)) == "openai"
    assert detect(settings_for(None, openai_api_key=None)) == "anthropic"
    assert detect(settings_for(None, provider="ollama")) == "ollama"


def test_nothing_configured_explains_how_to_configure(make_session):
    session = make_session(None, None, OPENAI_API_KEY=None, ANTHROPIC_API_KEY=None,
                           OLLAMA_HOST=closed_port_url())
    with pytest.raises(ConfigError) as info:
        session.ask("hello")
    message = str(info.value)
    for hint in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OLLAMA_HOST", "GOOSE_PROVIDER"):
        assert hint in message
    # the offline demos
    assert "replay" in message
    assert "GOOSE_NB_CASSETTE" in message
    assert "\n" not in message
    assert session.history == []


def test_nothing_configured_direct():
    settings = settings_for(None, openai_api_key=None, anthropic_api_key=None,
                            ollama_host=closed_port_url())
    with pytest.raises(ConfigError, match="GOOSE_PROVIDER=replay"):
        detect(settings)


def test_nothing_configured_says_how_in_variables_not_repository_paths(make_session):
    session = make_session(None, None, OPENAI_API_KEY=None, ANTHROPIC_API_KEY=None)
    with pytest.raises(ConfigError) as caught:
        session.ask("hello")
    message = str(caught.value)
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OLLAMA_HOST",
                     "GOOSE_PROVIDER=replay", "GOOSE_NB_CASSETTE=path/to/cassette.yaml"):
        assert variable in message
    assert "notebooks/cassettes/quickstart.yaml" not in message  # holds only in a checkout
    assert "\n" not in message
