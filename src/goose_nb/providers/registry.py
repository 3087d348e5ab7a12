"""Which providers exist, by name, and where their code lives.

Adding a provider is one new module and one line here. Modules are imported on first use
so that ``%load_ext goose_nb`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from goose_nb.providers.base import Provider

_PROVIDERS: dict[str, str] = {
    "openai": "goose_nb.providers.openai:OpenAIProvider",
    "anthropic": "goose_nb.providers.anthropic:AnthropicProvider",
    "ollama": "goose_nb.providers.ollama:OllamaProvider",
    "replay": "goose_nb.providers.replay:ReplayProvider",
}

PROVIDER_NAMES: tuple[str, ...] = tuple(_PROVIDERS)


def provider_class(name: str) -> type[Provider]:
    """The provider class registered under ``name`` (already validated by config)."""
    module_name, _, class_name = _PROVIDERS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
