"""Where the code of each provider named in ``config.PROVIDER_NAMES`` lives.

The configuration owns the names (it validates ``GOOSE_PROVIDER`` without importing any
provider); this table maps each to its class, imported on first use so that
``%load_ext goose_nb`` stays fast. Adding a provider is one new module, its name in
``PROVIDER_NAMES`` and one line here.
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


def provider_class(name: str) -> type[Provider]:
    """The provider class registered under ``name`` (one of ``PROVIDER_NAMES``, which the
    configuration has already checked)."""
    module_name, _, class_name = _PROVIDERS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
