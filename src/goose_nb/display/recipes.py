"""What ``%goose_recipe`` shows: the recipes found, one recipe in full, a run's header.

Each view is a ``RichText`` (Markdown for notebooks, plain text for terminals), like the
rest of goose_nb's displays.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goose_nb.display.rich import RichText, table
from goose_nb.recipes.lookup import BUILTIN_FOLDER

if TYPE_CHECKING:
    from goose_nb.recipes import Recipe, RecipeFile, RenderedRecipe

_LONG_VALUE = 60


def short_path(path: Path | None) -> str:
    """A built-in recipe as ``goose_nb/recipes/builtin/NAME.yaml`` (the same in every install,
    so a saved notebook does not carry the machine's site-packages path); any other path
    relative to the current folder or home when it is under one of them."""
    if path is None:
        return "(no file)"
    for base, prefix in ((BUILTIN_FOLDER, "goose_nb/recipes/builtin/"), (Path.cwd(), "./"),
                         (Path.home(), "~/")):
        try:
            return prefix + str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def recipe_list_view(found: Sequence[tuple[RecipeFile, Recipe]],
                     invalid: Sequence[tuple[RecipeFile, str]]) -> RichText:
    """``%goose_recipe list``: name, title and where each usable recipe was found."""
    rows = [[file.name, recipe.title.strip(), f"{file.folder.label}: {short_path(file.path)}"]
            for file, recipe in found]
    view = table(f"Recipes ({len(rows)})", ["name", "title", "where found"], rows)
    if not rows:
        note = ("No recipes found. Recipes are looked up in the current folder, ./recipes, "
                "GOOSE_RECIPE_PATH, ./.goose/recipes, ~/.config/goose/recipes and goose_nb's "
                "built-in recipes.")
        view = RichText(f"*{note}*", note)
    if invalid:
        names = ", ".join(short_path(file.path) for file, _ in invalid)
        note = (f"{len(invalid)} other YAML/JSON file(s) are not valid recipes ({names}); "
                "`%goose_recipe show NAME` says why.")
        view = RichText(f"{view.markdown}\n\n*{note}*", f"{view.plain}\n{note}")
    return view


def _value(value: Any) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= _LONG_VALUE else text[:_LONG_VALUE - 1] + "…"


def _settings_line(recipe: Recipe) -> str | None:
    settings = recipe.settings
    if settings is None:
        return None
    parts = []
    if settings.goose_model:
        parts.append(f"model {settings.goose_provider or '(session provider)'}/"
                     f"{settings.goose_model} (lead/worker bypassed)")
    if settings.temperature is not None:
        parts.append(f"temperature {settings.temperature}")
    if settings.max_turns is not None:
        parts.append(f"at most {settings.max_turns} steps")
    return ", ".join(parts) or None


def _facts(recipe: Recipe) -> list[tuple[str, str]]:
    """The recipe's short facts as (label, text) pairs."""
    facts = [("file", short_path(recipe.path))]
    if line := _settings_line(recipe):
        facts.append(("settings", line))
    if recipe.json_schema is not None:
        keys = ", ".join(recipe.json_schema.get("properties", {})) or "see the schema"
        facts.append(("answer", f"JSON matching response.json_schema ({keys})"))
    for sub in recipe.sub_recipes:
        state = "" if sub.exists else " — file missing"
        facts.append(("sub-recipe", f"{sub.name}: {short_path(sub.path)}{state}"))
    if recipe.extensions:
        names = ", ".join(f"{e.name} ({e.type or 'as configured'})" for e in recipe.extensions)
        facts.append(("extensions", f"{names} — started for the run, stopped after"))
    if recipe.retry is not None:
        facts.append(("retry", "checks are kept but not run by goose_nb"))
    # a missing sub-recipe file is already marked on its own line
    facts += [("warning", warning) for warning in recipe.warnings
              if not warning.startswith("sub-recipe ")]
    return facts


def recipe_view(recipe: Recipe) -> RichText:
    """``%goose_recipe show NAME``: everything about one recipe, templates unrendered."""
    title = f"{recipe.title.strip()} ({recipe.name})"
    md = [f"### {title}", "", recipe.description.strip(), ""]
    plain = [title, recipe.description.strip()]
    for label, text in _facts(recipe):
        md.append(f"- **{label}**: {text}")
        plain.append(f"  {label}: {text}")
    if recipe.parameters:
        rows = [[p.key, p.input_type, p.requirement,
                 "—" if p.default is None else _value(p.default),
                 _value(p.description) + (f" (one of: {', '.join(p.options)})"
                                          if p.options else "")]
                for p in recipe.parameters]
        params = table("Parameters", ["key", "type", "requirement", "default", "description"],
                       rows)
        md += ["", params.markdown]
        plain += ["", params.plain]
    for heading, template in (("Instructions", recipe.instructions), ("Prompt", recipe.prompt)):
        if template and template.strip():
            md += ["", f"**{heading}**", "", "```text", template.strip(), "```"]
            plain += ["", f"{heading}:", template.strip()]
    return RichText("\n".join(md), "\n".join(plain))


def run_header(recipe: Recipe, rendered: RenderedRecipe) -> RichText:
    """The line above a recipe run's answer: which recipe, with which values."""
    values = ", ".join(f"{key}={_value(value)}" for key, value in rendered.values.items())
    head = f"Recipe {recipe.name} — {recipe.title.strip()}"
    extra = [f"parameters: {values}"] if values else []
    if line := _settings_line(recipe):
        extra.append(line)
    if recipe.json_schema is not None:
        extra.append("answer: JSON matching the recipe's schema")
    md = f"**▶ {head}**" + (f"  \n*{' · '.join(extra)}*" if extra else "")
    plain = f"▶ {head}" + (f"\n  {' · '.join(extra)}" if extra else "")
    if recipe.warnings:
        md += "".join(f"  \n⚠ {w}" for w in recipe.warnings)
        plain += "".join(f"\n  ⚠ {w}" for w in recipe.warnings)
    return RichText(md, plain)
