"""Filling a recipe in: parameter values, the sandboxed render, the run's options.

Values follow Goose (``apply_values_to_parameters``): a given value wins, then the default,
then for ``user_prompt`` parameters an answer from the user, and an optional parameter
without a default is empty; whatever is still missing is one error naming every missing
parameter. ``file`` parameters take a path and render as the
file's text. Unlike Goose, the fields are rendered one by one after the YAML is read, so a
value containing YAML syntax or newlines cannot change the recipe's structure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goose_nb.errors import RecipeError
from goose_nb.recipes.rendered import RECIPE_DIR, Asker, RenderedRecipe

if TYPE_CHECKING:
    from jinja2 import Environment

    from goose_nb.agent.turns import TurnOptions
    from goose_nb.recipes.model import Parameter, Recipe

_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
#: the largest file a ``file`` parameter may bring into a prompt
MAX_FILE_BYTES = 1_000_000


def _where(recipe: Recipe) -> str:
    return str(recipe.path) if recipe.path else recipe.name


def _check_value(recipe: Recipe, param: Parameter, value: Any) -> Any:
    """The value as the template gets it, or a one-line error saying what is allowed."""
    text = str(value).strip() if not isinstance(value, str) else value.strip()
    bad = f"{_where(recipe)}: parameter {param.key!r}"
    if param.input_type == "number":
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise RecipeError(f"{bad} must be a number, got {value!r}")
    elif param.input_type == "boolean":
        if text.lower() not in _TRUE | _FALSE:
            raise RecipeError(f"{bad} must be true or false, got {value!r}")
    elif param.input_type == "select":
        if text not in (param.options or []):
            raise RecipeError(f"{bad} must be one of {', '.join(param.options or [])}; "
                              f"got {value!r}")
    elif param.input_type == "file":
        return _read_file(recipe, param, text)
    return value


def _read_file(recipe: Recipe, param: Parameter, value: str) -> str:
    """A ``file`` parameter's value is a path given by the user; the template gets the
    file's text (Goose's rule), relative paths being relative to the current folder."""
    path = Path(value).expanduser()
    bad = f"{_where(recipe)}: file parameter {param.key!r}"
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise RecipeError(f"{bad}: {path} is larger than {MAX_FILE_BYTES:,} bytes")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"{bad}: no file {path}") from None
    except UnicodeDecodeError:
        raise RecipeError(f"{bad}: {path} is not UTF-8 text") from None
    except OSError as exc:
        raise RecipeError(f"{bad}: cannot read {path}: {exc.strerror}") from None


def resolve_values(recipe: Recipe, params: Mapping[str, Any], ask: Asker | None
                   ) -> dict[str, Any]:
    """Every parameter's value: given, default, or asked; errors name what is wrong."""
    declared = {p.key for p in recipe.parameters}
    unknown = [key for key in params if key not in declared]
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise RecipeError(f"{_where(recipe)}: unknown parameter(s) {', '.join(unknown)}; "
                          f"the recipe's parameters: {known}")
    values: dict[str, Any] = {}
    missing: list[str] = []
    for param in recipe.parameters:
        value = params.get(param.key)
        if value is None:
            value = param.default
        if value is None and param.requirement == "user_prompt" and ask is not None:
            value = ask(param)
        if value is None and param.requirement == "optional":
            values[param.key] = ""  # an optional parameter without a default: empty
            continue
        if value is None:
            missing.append(param.key)
            continue
        values[param.key] = _check_value(recipe, param, value)
    if missing:
        given = " ".join(f"{key}=VALUE" for key in missing)
        raise RecipeError(f"{_where(recipe)}: missing required parameter(s) "
                          f"{', '.join(missing)}; give them as {given}")
    return values


def _render(env: Environment, recipe: Recipe, what: str, text: str,
            context: dict[str, Any]) -> str:
    """One field rendered, every template failure turned into one line naming the field."""
    from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    from goose_nb.recipes.templates import (
        MAX_RENDERED_CHARS,
        TemplateTooLarge,
        TemplateTooSlow,
        render_text,
    )

    where = f"{_where(recipe)}: {what}"
    try:
        return render_text(env, text, context)
    except SecurityError as exc:
        raise RecipeError(f"{where}: refused by the template sandbox: {exc}") from None
    except TemplateSyntaxError as exc:
        raise RecipeError(f"{where}, line {exc.lineno}: template error: {exc.message}"
                          ) from None
    except TemplateNotFound as exc:
        raise RecipeError(f"{where}: include {exc.name!r} not found in the recipe's folder "
                          f"{recipe.folder}") from None
    except UndefinedError as exc:
        raise RecipeError(f"{where}: {exc.message}") from None
    except TemplateTooSlow as exc:
        raise RecipeError(f"{where}: the template ran past {exc.seconds:g} s (a loop too long, "
                          "or loops nested too deep); simplify it, or raise "
                          "GOOSE_NB_RENDER_TIMEOUT") from None
    except TemplateTooLarge:
        raise RecipeError(f"{where}: the template renders to more than "
                          f"{MAX_RENDERED_CHARS:,} characters; simplify it") from None
    except MemoryError:
        raise RecipeError(f"{where}: the template needs more memory than the kernel has (a "
                          "loop or repetition too large); simplify it") from None
    except Exception as exc:  # a template's own runtime error (a bad comparison, ...)
        raise RecipeError(f"{where}: template error: {type(exc).__name__}: {exc}") from None


def render_recipe(recipe: Recipe, params: Mapping[str, Any], ask: Asker | None,
                  time_limit: float) -> RenderedRecipe:
    """``Recipe.render``: values resolved, then each templated field rendered, all of them
    within ``time_limit`` seconds."""
    from goose_nb.recipes.templates import sandbox
    from goose_nb.recipes.templates import time_limit as limit_time

    values = resolve_values(recipe, params, ask)
    context = {**values, RECIPE_DIR: str(recipe.folder)}
    env = sandbox(recipe.folder)

    def render(what: str, text: str | None) -> str:
        return _render(env, recipe, what, text, context).strip() if text else ""

    with limit_time(env, time_limit):
        sub_recipes = tuple(
            sub.model_copy(update={"values": {key: render(f"sub_recipes[{i}].values.{key}", v)
                                              for key, v in sub.values.items()}})
            for i, sub in enumerate(recipe.sub_recipes))
        return RenderedRecipe(
            instructions=render("instructions", recipe.instructions),
            prompt=render("prompt", recipe.prompt),
            activities=tuple(render(f"activities[{i}]", text)
                             for i, text in enumerate(recipe.activities)),
            sub_recipes=sub_recipes,
            values=values,
        )


def turn_options(recipe: Recipe, rendered: RenderedRecipe, default_provider: str | None
                 ) -> TurnOptions:
    """``Recipe.turn_options``: the recipe's settings and schema as ``TurnOptions``."""
    from goose_nb.agent.turns import TurnOptions
    from goose_nb.config import PROVIDER_NAMES
    from goose_nb.messages import ModelRef

    settings = recipe.settings
    model = None
    if settings and settings.goose_model:
        provider = (settings.goose_provider or default_provider or "").strip().lower()
        if not provider:
            raise RecipeError(f"{_where(recipe)}: settings.goose_model is "
                              f"{settings.goose_model!r} but no provider is known; add "
                              "settings.goose_provider")
        if provider not in PROVIDER_NAMES:
            raise RecipeError(f"{_where(recipe)}: settings.goose_provider {provider!r} is "
                              f"not supported by goose_nb (use one of "
                              f"{', '.join(PROVIDER_NAMES)})")
        model = ModelRef(provider=provider, model=settings.goose_model)
    return TurnOptions(
        instructions=rendered.instructions,
        model=model,
        temperature=settings.temperature if settings else None,
        max_steps=settings.max_turns if settings else None,
        response_schema=recipe.json_schema,
    )
