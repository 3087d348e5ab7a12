"""Which provider to use when ``GOOSE_PROVIDER`` is unset, in Goose's order of preference."""

from __future__ import annotations

import httpx

from goose_nb.config import Settings
from goose_nb.errors import ConfigError
from goose_nb.providers.http import normalize_host

NO_PROVIDER = (
    "no model is configured: set OPENAI_API_KEY or ANTHROPIC_API_KEY (or GOOSE_PROVIDER and "
    "GOOSE_MODEL), start Ollama at OLLAMA_HOST, or replay a cassette: GOOSE_PROVIDER=replay "
    "GOOSE_NB_CASSETTE=path/to/cassette.yaml (the goose_nb repository's notebooks/cassettes/ "
    "folder has demo cassettes)"
)


async def ollama_answers(settings: Settings, client: httpx.AsyncClient) -> bool:
    """True when an Ollama server answers at ``OLLAMA_HOST`` within half a second."""
    url = f"{normalize_host(settings.ollama_host, 'http')}/api/tags"
    try:
        response = await client.get(url, timeout=0.5)
    except httpx.HTTPError:
        return False
    return response.is_success


async def detect_provider(settings: Settings, client: httpx.AsyncClient) -> str:
    """``GOOSE_PROVIDER`` if set; else OpenAI key, Anthropic key, a running Ollama."""
    if settings.provider:
        return settings.provider
    if settings.openai_api_key:
        return "openai"
    if settings.anthropic_api_key:
        return "anthropic"
    if await ollama_answers(settings, client):
        return "ollama"
    raise ConfigError(NO_PROVIDER)
