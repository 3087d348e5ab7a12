"""Goose's validation rules for recipes, with the same verdicts.

From ``crates/goose/src/recipe/validate_recipe.rs`` (``validate_optional_parameters``,
``validate_parameters_in_template``, ``validate_prompt_or_instructions``,
``validate_retry_config``, ``validate_json_schema``) and the documented parameter rules
(``recipe-reference.md``: select parameters need ``options``):

- optional parameters must have a default; ``file`` parameters may not have one (so a
  recipe cannot quietly read a sensitive file);
- a parameter key is defined once;
- every template variable is a defined parameter (``recipe_dir`` is built in), and every
  defined parameter is used somewhere in the file (Goose refuses unused ones too);
- at least one of ``instructions`` / ``prompt`` is non-blank;
- ``select`` parameters list their ``options``;
- ``response.json_schema`` is a valid JSON schema.

The rules raise ``ValueError`` with the problem; the loader adds the file name.
"""

from __future__ import annotations

from collections import Counter

from goose_nb.recipes.model import Recipe


def _keys(keys: list[str] | set[str]) -> str:
    return ", ".join(sorted(keys))


def check_rules(recipe: Recipe, variables: frozenset[str]) -> None:
    """Raise ``ValueError`` naming the first rule ``recipe`` breaks."""
    params = recipe.parameters
    file_defaults = [p.key for p in params if p.input_type == "file" and p.default is not None]
    if file_defaults:
        raise ValueError(f"file parameters cannot have a default (it would read a file the "
                         f"user did not choose): {_keys(file_defaults)}")
    no_default = [p.key for p in params if p.requirement == "optional" and p.default is None]
    if no_default:
        raise ValueError(f"optional parameters need a default: {_keys(no_default)}")
    duplicates = [key for key, count in Counter(p.key for p in params).items() if count > 1]
    if duplicates:
        raise ValueError(f"parameters defined more than once: {_keys(duplicates)}")
    defined = {p.key for p in params}
    undefined = set(variables) - defined
    unused = defined - set(variables)
    if undefined or unused:
        problems = []
        if undefined:
            problems.append(f"template variables without a parameter definition: "
                            f"{_keys(undefined)}")
        if unused:
            problems.append(f"parameters the templates never use: {_keys(unused)}")
        raise ValueError("; ".join(problems))
    if not (recipe.instructions or "").strip() and not (recipe.prompt or "").strip():
        raise ValueError("a recipe needs at least one of `instructions` or `prompt`")
    no_options = [p.key for p in params if p.input_type == "select" and not p.options]
    if no_options:
        raise ValueError(f"select parameters need `options`: {_keys(no_options)}")
    if recipe.json_schema is not None:
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(recipe.json_schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"response.json_schema is not a valid JSON schema: "
                             f"{exc.message}") from None


def rule_warnings(recipe: Recipe) -> list[str]:
    """What Goose documents as wrong but accepts: kept as warnings."""
    found = [f"parameter {p.key!r} is required but has a default (Goose's docs say required "
             "parameters have none); the default is used when no value is given"
             for p in recipe.parameters if p.requirement == "required" and p.default is not None]
    settings = recipe.settings
    if settings and settings.goose_provider and not settings.goose_model:
        found.append("settings.goose_provider without settings.goose_model is ignored: "
                     "goose_nb pins a model only when the recipe names one")
    return found
