"""Which model a subagent runs on.

Orchestrators want a large, slow model to plan and small, fast ones to do the work, so a
subagent may run on a model of its own. Lowest to highest precedence: the session's worker
(with its own lead/worker policy, starting on the worker), ``GOOSE_SUBAGENT_PROVIDER`` /
``GOOSE_SUBAGENT_MODEL``, the recipe's ``settings``, the task's own ``provider:`` /
``model:``. A subagent given a model runs on it alone, unless its task also names a lead
(``lead_model:``), which brings lead/worker back inside it with those two models.

The model itself may pick a task's model through the subagent tools, but only one of
``GOOSE_SUBAGENT_MODELS``, so it cannot choose an expensive one on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from goose_nb.config import PROVIDER_NAMES
from goose_nb.errors import ConfigError, GooseError
from goose_nb.messages import ModelRef

if TYPE_CHECKING:
    from goose_nb.config import Settings
    from goose_nb.subagents.spec import SubagentTask


@dataclass(frozen=True)
class TaskModels:
    """A task's models: ``model`` runs it alone; with ``lead`` too, they are its worker and
    lead. Both None: the session's models, with the session's lead/worker numbers."""

    model: ModelRef | None = None
    lead: ModelRef | None = None


def split_model(text: str) -> tuple[str | None, str]:
    """``"anthropic/claude-haiku"`` -> (``anthropic``, ``claude-haiku``); a name whose first
    part is not a provider (``meta-llama/Llama-3``, as OpenRouter names models) stays whole."""
    provider, separator, model = text.strip().partition("/")
    if separator and provider.lower() in PROVIDER_NAMES and model:
        return provider.lower(), model
    return None, text.strip()


def _ref(provider: str | None, model: str, fallback: str) -> ModelRef:
    named, name = split_model(model)
    chosen = (provider or named or fallback).strip().lower()
    if chosen not in PROVIDER_NAMES:
        raise GooseError(f"provider {chosen!r} is not supported (use one of "
                         f"{', '.join(PROVIDER_NAMES)})")
    return ModelRef(provider=chosen, model=name)


def task_models(settings: Settings, task: SubagentTask, recipe_model: ModelRef | None,
                worker_provider: str) -> TaskModels:
    """The models of ``task`` by the precedence above; a one-line error for a task that
    names a provider or a lead provider without its model."""
    if settings.subagent_provider and not settings.subagent_model:
        raise ConfigError("GOOSE_SUBAGENT_PROVIDER is set but GOOSE_SUBAGENT_MODEL is not: "
                          "set GOOSE_SUBAGENT_MODEL too")
    if task.provider and not task.model:
        raise GooseError(f"the task names provider {task.provider!r} but no model: add "
                         "`model:`")
    if task.lead_provider and not task.lead_model:
        raise GooseError(f"the task names lead_provider {task.lead_provider!r} but no "
                         "lead_model: add `lead_model:`")
    subagent_provider = settings.subagent_provider or worker_provider
    model: ModelRef | None = None
    if settings.subagent_model:
        model = _ref(settings.subagent_provider, settings.subagent_model, worker_provider)
    model = recipe_model or model
    if task.model:
        model = _ref(task.provider, task.model, subagent_provider)
    lead = None
    if task.lead_model:
        lead = _ref(task.lead_provider, task.lead_model,
                    model.provider if model else worker_provider)
    return TaskModels(model, lead)


def allowed_models(settings: Settings) -> list[str]:
    """``GOOSE_SUBAGENT_MODELS`` as a list (empty: the model may not choose)."""
    return [entry.strip() for entry in (settings.subagent_models or "").split(",")
            if entry.strip()]


def allowed_choice(settings: Settings, chosen: str) -> str:
    """The ``GOOSE_SUBAGENT_MODELS`` entry the model's ``chosen`` model names (with or
    without its provider); a one-line error naming the allowed ones otherwise."""
    allowed = allowed_models(settings)
    provider, model = split_model(chosen)
    for entry in allowed:
        entry_provider, entry_model = split_model(entry)
        if entry_model == model and (provider is None or entry_provider in (None, provider)):
            return entry
    listed = ", ".join(allowed) if allowed else "none: the user has not set GOOSE_SUBAGENT_MODELS"
    raise GooseError(f"model {chosen!r} is not one the user allows for subagents (allowed: "
                     f"{listed}); leave `model` out to use the default")
