"""Goose recipes in goose_nb: load, validate, render, and turn into a run's options.

The public API::

    from goose_nb import load_recipe

    recipe = load_recipe("data-profiler")          # a name (looked up) or a path
    rendered = recipe.render({"variable": "df"})   # RenderedRecipe(instructions, prompt, ...)
    options = recipe.turn_options(rendered)        # TurnOptions for Session.ask
    record = session.ask(rendered.prompt, options)
    record.structured                              # the parsed JSON, if the recipe has a schema

Jinja2 is imported when a recipe is first loaded, not when goose_nb is.
"""

from __future__ import annotations

from pathlib import Path

from goose_nb.errors import RecipeError
from goose_nb.recipes.loading import RecipeWarning, read_recipe
from goose_nb.recipes.lookup import (
    RecipeFile,
    RecipeFolder,
    find_recipe,
    recipe_files,
    search_folders,
)
from goose_nb.recipes.model import Parameter, Recipe, RenderedRecipe, SubRecipe

__all__ = [
    "Parameter",
    "Recipe",
    "RecipeError",
    "RecipeFile",
    "RecipeFolder",
    "RecipeWarning",
    "RenderedRecipe",
    "SubRecipe",
    "find_recipe",
    "load_recipe",
    "read_recipe",
    "recipe_files",
    "search_folders",
]


def load_recipe(name_or_path: str | Path, *, recipe_path: str | None = None,
                warn: bool = True) -> Recipe:
    """The recipe a name or a path stands for, validated by Goose's rules.

    A name is looked up in the documented order (the current folder, ``./recipes``,
    ``GOOSE_RECIPE_PATH``, ``./.goose/recipes``, ``~/.config/goose/recipes``; see
    ``goose_nb.recipes.lookup``); ``recipe_path`` replaces ``GOOSE_RECIPE_PATH`` (by
    default the environment's; ``goose_nb.load_recipe`` defaults to the kernel session's
    setting). Any problem is a
    one-line ``RecipeError`` naming the file (and the line, for YAML); doubtful but
    accepted content is a ``RecipeWarning`` and stays in ``recipe.warnings``.
    """
    if isinstance(name_or_path, Path):
        return read_recipe(name_or_path, warn=warn)
    path, _ = find_recipe(name_or_path, recipe_path)
    return read_recipe(path, warn=warn)
