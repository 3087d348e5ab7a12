"""What rendering a recipe produces, apart from the recipe model itself.

Kept apart from ``model.py`` so that the renderer and the template sandbox, which the model
calls, never import the model back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from goose_nb.recipes.model import Parameter, SubRecipe

#: the template variable every recipe may use without declaring it: the recipe's folder
RECIPE_DIR = "recipe_dir"


@dataclass(frozen=True)
class RenderedRecipe:
    """A recipe with its parameters filled in: what a run actually sends.

    ``instructions`` join the system prompt, ``prompt`` is the user message; both are ``""``
    when the recipe has none. ``sub_recipes`` carry their ``values`` rendered with this
    recipe's parameters; ``values`` are the parameter values used (defaults included, file
    parameters as the file's text).
    """

    instructions: str
    prompt: str
    activities: tuple[str, ...] = ()
    sub_recipes: tuple[SubRecipe, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict)


#: asks the user for a ``user_prompt`` parameter's value; None when no one can answer
Asker = Callable[["Parameter"], "str | None"]
