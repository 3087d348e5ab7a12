"""Goose's recipe format as pydantic models.

The fields, their names and their types are Goose's own (``crates/goose/src/recipe``), so a
recipe written for Goose loads here unchanged. Like serde_yaml in Goose, a number or a
boolean given where text is expected is read as its text (``default: 10`` is ``"10"``),
because recipe authors write YAML, not typed data. Keys Goose does not know are kept aside
by the loader and reported as warnings, never as errors: Goose itself ignores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

from goose_nb.config import Settings
from goose_nb.recipes.rendered import RECIPE_DIR, Asker, RenderedRecipe

#: seconds a render may take unless the caller says (``GOOSE_NB_RENDER_TIMEOUT``'s default)
RENDER_TIMEOUT = float(Settings.model_fields["render_timeout"].default)

if TYPE_CHECKING:
    from goose_nb.agent.turns import TurnOptions
    from goose_nb.extensions import ExtensionConfig

__all__ = ["RECIPE_DIR", "Asker", "Parameter", "Recipe", "RenderedRecipe", "SubRecipe"]

InputType = Literal["string", "number", "boolean", "date", "file", "select"]
Requirement = Literal["required", "optional", "user_prompt"]
ExtensionType = Literal["builtin", "stdio", "sse", "streamable_http", "platform", "frontend",
                        "inline_python"]


def _scalar_text(value: Any) -> Any:
    """Numbers and booleans where text is expected become their text, as in Goose."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _none_as_empty(value: Any) -> Any:
    """``key:`` with nothing after it (YAML null) means an empty list."""
    return [] if value is None else value


def _none_as_empty_map(value: Any) -> Any:
    """``values:`` with nothing after it (YAML null) means no values."""
    return {} if value is None else value


Text = Annotated[str, BeforeValidator(_scalar_text)]


class Part(BaseModel):
    """A section of a recipe. Unknown keys are kept (``model_extra``) so that the loader
    can warn about them instead of refusing the file."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Parameter(Part):
    """One ``parameters`` entry: a value the templates use as ``{{ key }}``."""

    key: Text
    input_type: InputType = "string"
    requirement: Requirement
    description: Text
    default: Text | None = None
    options: list[Text] | None = None


class RecipeSettings(Part):
    """``settings``: the model a recipe's run is pinned to, and its limits."""

    goose_provider: Text | None = None
    goose_model: Text | None = None
    temperature: float | None = None
    max_turns: int | None = Field(default=None, ge=1)


class Response(Part):
    """``response``: the final answer must be JSON matching ``json_schema``."""

    json_schema: dict[str, Any] | None = None


class SubRecipe(Part):
    """``sub_recipes`` entry: a recipe this one may hand work to. ``path`` is resolved
    against the recipe's own folder when the recipe is loaded."""

    name: Text
    path: Path
    values: Annotated[dict[str, Text], BeforeValidator(_none_as_empty_map)] = \
        Field(default_factory=dict)
    description: Text | None = None
    sequential_when_repeated: bool = False

    @property
    def exists(self) -> bool:
        return self.path.is_file()


class SuccessCheck(Part):
    """A ``retry.checks`` entry: a shell command that must exit 0."""

    type: Literal["shell"]
    command: Text


class RetryConfig(Part):
    """``retry``: run again until the checks pass (kept, not run, by goose_nb)."""

    max_retries: int = Field(ge=1)
    checks: list[SuccessCheck]
    timeout_seconds: int | None = Field(default=None, ge=1)
    on_failure_timeout_seconds: int | None = Field(default=None, ge=1)
    on_failure: Text | None = None


def _bare_name(value: Any) -> Any:
    """``- github`` (a name where Goose wants a mapping, as recipes on Goose's website
    have it) names an extension the user has configured."""
    return {"name": value, "type": None} if isinstance(value, str) else value


class Extension(BaseModel):
    """An ``extensions`` entry: an MCP server the recipe's run starts (and stops after),
    in Goose's own shape (``type``, ``name``, then the type's fields). Without a ``type``
    it is a bare name, which the run looks up among the user's configured extensions."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: ExtensionType | None  # None only for a bare name: a mapping needs its type
    name: Text
    description: Text | None = None

    @model_validator(mode="after")
    def _required_by_type(self) -> Extension:
        if self.type is None:
            return self
        needed = {"stdio": "cmd", "sse": "uri", "streamable_http": "uri",
                  "inline_python": "code"}.get(self.type)
        if needed and not (self.model_extra or {}).get(needed):
            raise ValueError(f"a {self.type} extension needs `{needed}`")
        return self


def _author_text(value: Any) -> Any:
    """``author: amitdev`` (as Goose's recipe catalog writes it) is the author's contact."""
    return {"contact": value} if isinstance(value, str) else value


class Author(BaseModel):
    """``author``: who wrote the recipe (free-form beyond Goose's two keys)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    contact: Text | None = None
    metadata: Text | None = None


class Recipe(BaseModel):
    """A Goose recipe, loaded and validated by ``load_recipe``.

    ``render(params)`` fills the templates in; ``turn_options(rendered)`` turns the result
    and the recipe's ``settings`` and ``response`` into the options of one run.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    version: Text = "1.0.0"
    title: Text
    description: Text
    id: Text | None = None
    instructions: Text | None = None
    prompt: Text | None = None
    extensions: Annotated[list[Annotated[Extension, BeforeValidator(_bare_name)]],
                          BeforeValidator(_none_as_empty)] = Field(default_factory=list)
    context: Annotated[list[Text], BeforeValidator(_none_as_empty)] = \
        Field(default_factory=list)
    activities: Annotated[list[Text], BeforeValidator(_none_as_empty)] = \
        Field(default_factory=list)
    author: Annotated[Author | None, BeforeValidator(_author_text)] = None
    parameters: Annotated[list[Parameter], BeforeValidator(_none_as_empty)] = \
        Field(default_factory=list)
    settings: RecipeSettings | None = None
    response: Response | None = None
    sub_recipes: Annotated[list[SubRecipe], BeforeValidator(_none_as_empty)] = \
        Field(default_factory=list)
    retry: RetryConfig | None = None

    _path: Path | None = PrivateAttr(default=None)
    _variables: frozenset[str] = PrivateAttr(default=frozenset())
    _warnings: tuple[str, ...] = PrivateAttr(default=())

    @property
    def path(self) -> Path | None:
        """The file the recipe was loaded from."""
        return self._path

    @property
    def folder(self) -> Path:
        """The recipe's folder: ``{{ recipe_dir }}``, the root of ``{% include %}``."""
        return self._path.parent if self._path else Path.cwd()

    @property
    def name(self) -> str:
        """The name it is looked up by: the file name without its extension."""
        return self._path.stem if self._path else (self.id or self.title)

    @property
    def template_variables(self) -> frozenset[str]:
        """The variables the recipe's templates use (``recipe_dir`` left out)."""
        return self._variables

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the loader noticed but accepted, as Goose does (unknown keys, missing
        sub-recipe files, ...)."""
        return self._warnings

    @property
    def json_schema(self) -> dict[str, Any] | None:
        return self.response.json_schema if self.response else None

    def extension_configs(self) -> list[ExtensionConfig]:
        """The recipe's own extension entries as the session runs them, enabled for its
        run (bare names are in ``extension_names``)."""
        from goose_nb.extensions import ExtensionConfig

        return [ExtensionConfig.model_validate({**ext.model_dump(), "enabled": True,
                                                "origin": "recipe"})
                for ext in self.extensions if ext.type is not None]

    @property
    def extension_names(self) -> tuple[str, ...]:
        """The extensions the recipe names without configuring them (``- github``)."""
        return tuple(ext.name for ext in self.extensions if ext.type is None)

    def parameter(self, key: str) -> Parameter | None:
        return next((p for p in self.parameters if p.key == key), None)

    def render(self, params: Mapping[str, Any] | None = None, *,
               ask: Asker | None = None, time_limit: float = RENDER_TIMEOUT
               ) -> RenderedRecipe:
        """Fill the templates in with ``params`` (defaults for the rest).

        Rendering happens in Jinja2's sandbox with strict undefined variables: a missing
        required parameter, an unknown parameter name, a value of the wrong kind, or a
        template reaching for Python internals is a one-line ``RecipeError``. ``ask`` is
        called for ``user_prompt`` parameters given no value (the magics ask with
        ``input()``); without it they count as missing, as in headless Goose. All of the
        templates' work is bounded by ``time_limit`` seconds (``GOOSE_NB_RENDER_TIMEOUT``).
        """
        from goose_nb.recipes.render import render_recipe

        return render_recipe(self, params or {}, ask, time_limit)

    def turn_options(self, rendered: RenderedRecipe, *,
                     default_provider: str | None = None) -> TurnOptions:
        """The options of one run of this recipe: ``instructions`` as extra system context,
        ``settings`` (``goose_provider``/``goose_model`` pin the model, bypassing
        lead/worker; ``temperature``; ``max_turns`` as the step limit) and
        ``response.json_schema``. A recipe naming a model without a provider uses
        ``default_provider`` (the session's provider)."""
        from goose_nb.recipes.render import turn_options

        return turn_options(self, rendered, default_provider)
