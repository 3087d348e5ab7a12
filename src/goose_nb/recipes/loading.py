"""Reading a recipe file: YAML or JSON in, a validated ``Recipe`` (or one clear line) out.

Every failure is a ``RecipeError`` of one line that starts with the file and, where the
file says it, the line: ``review.yaml, line 7: mapping values are not allowed here``.
What Goose would accept but is doubtful (keys Goose does not know, sub-recipes whose file
is missing) is a ``RecipeWarning`` and is kept in ``recipe.warnings``.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from goose_nb.errors import RecipeError
from goose_nb.recipes.model import Part, Recipe
from goose_nb.recipes.rules import check_rules, rule_warnings

_FILE_TEMPLATE = re.compile(r"\A\s*\{%-?\s*extends\b")
#: recipes are small; a bigger file in a searched folder is data, not a recipe
MAX_RECIPE_BYTES = 1_000_000
#: Goose Desktop's library files wrap the recipe; their own keys are not warned about
_DESKTOP_KEYS = frozenset({"name", "isGlobal", "lastModified", "isArchived", "recipe"})


class RecipeWarning(UserWarning):
    """Something in a recipe that Goose accepts but that is probably not what was meant."""


def read_recipe(path: str | Path, *, warn: bool = True) -> Recipe:
    """Load, validate and return the recipe in ``path`` (``.json`` is JSON, anything else
    YAML). With ``warn``, each warning is also issued as a ``RecipeWarning``."""
    path = Path(path)
    text = _read_text(path)
    if _FILE_TEMPLATE.match(text):
        raise RecipeError(f"{path}: whole-file template inheritance ({{% extends %}}) is not "
                          "supported by goose_nb; use {% include %} inside a field")
    data = _parse(path, text)
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: expected a mapping of recipe fields (title, description, "
                          f"instructions, prompt, ...), got {type(data).__name__}")
    if isinstance(data.get("recipe"), dict) and "title" not in data:
        data = data["recipe"]  # a Goose Desktop library file
    mended, found = _lenient(path, data)
    try:
        recipe = Recipe.model_validate(mended)
    except ValidationError as exc:
        if mended.get("title") != data.get("title"):
            # it does not validate even with a title: probably not a Goose recipe at all,
            # so the missing title leads the message
            exc = _validation_error(data) or exc
        raise RecipeError(_validation_message(path, text, exc)) from None
    found += _unknown_keys(recipe)
    recipe = _resolve_sub_recipes(recipe, path.parent.resolve())
    found += [f"sub-recipe {sub.name!r}: no file {sub.path}" for sub in recipe.sub_recipes
              if not sub.exists]
    from jinja2 import TemplateSyntaxError

    from goose_nb.recipes.templates import template_variables

    try:
        variables = template_variables(text)
    except TemplateSyntaxError as exc:
        raise RecipeError(f"{path}, line {exc.lineno}: template error: {exc.message}"
                          ) from None
    try:
        check_rules(recipe, variables)
    except ValueError as exc:
        raise RecipeError(f"{path}: {exc}") from None
    found += rule_warnings(recipe, variables)
    recipe._path = path.resolve()
    recipe._variables = variables
    recipe._warnings = tuple(found)
    if warn:
        for message in found:
            warnings.warn(f"{path}: {message}", RecipeWarning, stacklevel=3)
    return recipe


def _lenient(path: Path, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Two slips common in published recipes, mended with a warning: no ``title`` (the
    file's name stands in, for a mapping that has a recipe's text) and ``max_turns`` at
    the top level instead of under ``settings``."""
    found = []
    if "title" not in data and ("instructions" in data or "prompt" in data):
        data = {**data, "title": path.stem}
        found.append(f"no title; the file name {path.stem!r} is used")
    settings = data.get("settings")
    if "max_turns" in data and (settings is None or isinstance(settings, dict)):
        data = dict(data)
        max_turns = data.pop("max_turns")
        if settings and "max_turns" in settings:
            found.append("max_turns is given twice; settings.max_turns is used")
        else:
            data["settings"] = {**(settings or {}), "max_turns": max_turns}
            found.append("top-level max_turns is read as settings.max_turns")
    return data, found


def _validation_error(data: dict[str, Any]) -> ValidationError | None:
    try:
        Recipe.model_validate(data)
    except ValidationError as exc:
        return exc
    return None


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_RECIPE_BYTES:
            raise RecipeError(f"{path}: larger than {MAX_RECIPE_BYTES:,} bytes, too large "
                              "for a recipe")
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RecipeError(f"no recipe file {path}") from None
    except UnicodeDecodeError as exc:
        raise RecipeError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise RecipeError(f"cannot read {path}: {exc.strerror}") from None


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecipeError(f"{path}, line {exc.lineno}: not valid JSON: {exc.msg}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise RecipeError(f"{where}: {problem} (not valid YAML)") from None


def _validation_message(path: Path, text: str, exc: ValidationError) -> str:
    """The first problem pydantic found, as ``file, line N: parameters[2].requirement:
    ...``; more problems are counted, not listed, to keep it to one line."""
    error = exc.errors()[0]
    loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
    field = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
    field = field.lstrip(".") or "the recipe"
    message = error["msg"]
    if error["type"] == "missing":
        message = f"missing field `{loc[-1]}`" if loc else "missing field"
        field = field.rsplit(".", 1)[0] if "." in field else "the recipe"
    elif error["type"] in {"model_type", "dict_type"} and isinstance(error["input"], str):
        message = f"expected a mapping, got the text {error['input']!r}"
    elif error["type"].startswith("literal_error"):
        message = f"{message}, got {error['input']!r}"
    more = len(exc.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    line = _line_of(text, loc)  # JSON is YAML too, mostly: lines for JSON where possible
    where = f"{path}, line {line}" if line else str(path)
    return f"{where}: {field}: {message}{tail}".replace("\n", " ")


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of the YAML node at ``loc`` (as deep as it exists), for error messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if node is not None and isinstance(node, yaml.MappingNode) and "title" not in \
            {k.value for k, _ in node.value}:
        inner = next((v for k, v in node.value if k.value == "recipe"), None)
        node = inner if isinstance(inner, yaml.MappingNode) else node
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and \
                part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _unknown_keys(recipe: Recipe) -> list[str]:
    """Keys Goose does not know, anywhere they are checked: warned about, then ignored."""
    found = [f"unknown key {key!r} ignored" for key in (recipe.model_extra or {})
             if key not in _DESKTOP_KEYS]
    sections: list[tuple[str, Part | None]] = [
        ("settings", recipe.settings), ("response", recipe.response), ("retry", recipe.retry),
        *((f"parameters[{i}] ({p.key})", p) for i, p in enumerate(recipe.parameters)),
        *((f"sub_recipes[{i}] ({s.name})", s) for i, s in enumerate(recipe.sub_recipes)),
    ]
    for where, part in sections:
        for key in (part.model_extra or {}) if part is not None else ():
            found.append(f"{where}: unknown key {key!r} ignored")
    return found


def _resolve_sub_recipes(recipe: Recipe, folder: Path) -> Recipe:
    """Sub-recipe paths made absolute against the recipe's folder, as Goose does."""
    if not recipe.sub_recipes:
        return recipe
    subs = [sub.model_copy(update={"path": (folder / sub.path.expanduser()).resolve()})
            for sub in recipe.sub_recipes]
    return recipe.model_copy(update={"sub_recipes": subs})
