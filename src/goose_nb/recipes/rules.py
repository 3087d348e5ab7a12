"""Goose's validation rules for recipes, with the same verdicts.

From ``crates/goose/src/recipe/validate_recipe.rs`` (``validate_optional_parameters``,
``validate_parameters_in_template``, ``validate_prompt_or_instructions``,
``validate_retry_config``, ``validate_json_schema``) and the documented parameter rules
(``recipe-reference.md``: select parameters need ``options``):

- ``file`` parameters may not have a default (so a recipe cannot quietly read a sensitive
  file);
- a parameter key is defined once;
- every template variable is a defined parameter (``recipe_dir`` is built in);
- at least one of ``instructions`` / ``prompt`` is non-blank;
- ``select`` parameters list their ``options``;
- ``response.json_schema`` is a valid JSON schema.

The rules raise ``ValueError`` with the problem; the loader adds the file name. Two of
Goose's rules are warnings here, because recipes Goose's own website ships break them and
still make sense: an optional parameter without a default (it is empty unless given) and
a parameter no template uses (it is ignored).
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
    duplicates = [key for key, count in Counter(p.key for p in params).items() if count > 1]
    if duplicates:
        raise ValueError(f"parameters defined more than once: {_keys(duplicates)}")
    undefined = set(variables) - {p.key for p in params}
    if undefined:
        raise ValueError(f"template variables without a parameter definition: "
                         f"{_keys(undefined)}; declare them under `parameters`")
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


def rule_warnings(recipe: Recipe, variables: frozenset[str]) -> list[str]:
    """What Goose documents as wrong but what still makes sense: kept as warnings."""
    params = recipe.parameters
    found = [f"parameter {p.key!r} is required but has a default (Goose's docs say required "
             "parameters have none); the default is used when no value is given"
             for p in params if p.requirement == "required" and p.default is not None]
    no_default = [p.key for p in params if p.requirement == "optional" and p.default is None
                  and p.input_type != "file"]
    if no_default:
        found.append(f"optional parameters without a default are empty unless given: "
                     f"{_keys(no_default)}")
    unused = {p.key for p in params} - set(variables)
    if unused:
        found.append(f"parameters the templates never use are ignored: {_keys(unused)}")
    found += [f"extension {name!r} is a bare name: the run uses the configured extension of "
              "that name" for name in recipe.extension_names]
    settings = recipe.settings
    if settings and settings.goose_provider and not settings.goose_model:
        found.append("settings.goose_provider without settings.goose_model is ignored: "
                     "goose_nb pins a model only when the recipe names one")
    return found
