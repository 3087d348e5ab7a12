"""Recipe templates: Jinja2's sandbox, rooted at the recipe's folder.

Goose renders recipes with minijinja; goose_nb uses Jinja2's ``SandboxedEnvironment`` with
``StrictUndefined``, the same language. The sandbox refuses attribute access to Python
internals (``{{ ''.__class__.__mro__ }}`` raises ``SecurityError``) and huge repetitions;
``{% include %}`` reads only files inside the recipe's folder (no ``..``, no absolute paths,
no symlinks leading out), as Goose's loader does.

Like Goose, a ``{{ ... }}`` that is not a valid expression (Handlebars' ``{{#if x}}``, prose
such as ``{{hf model name}}``) is kept as literal text instead of failing the recipe.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound, meta
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from goose_nb.recipes.rendered import RECIPE_DIR

_EXPRESSION = re.compile(r"\{\{(.*?)\}\}")
_SIMPLE_NAME = re.compile(r"^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*$")
#: the longest string or list a template may build by repetition (``'x' * n``)
MAX_REPEAT = 1_000_000
MAX_EXPONENT = 100


class RecipeSandbox(SandboxedEnvironment):
    """The sandbox, also refusing ``*`` and ``**`` that would exhaust memory or time."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"the exponent {right} is too large for a template")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int) and \
                        len(seq) * count > MAX_REPEAT:
                    raise SecurityError("the repetition is too large for a template")
        return super().call_binop(context, operator, left, right)


class FolderLoader(BaseLoader):
    """``{% include "x" %}`` / ``{% extends "x" %}`` from the recipe's folder, and only
    from there."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()

    def get_source(self, environment: Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        relative = PurePosixPath(template.replace("\\", "/"))
        if relative.is_absolute() or Path(template).is_absolute() or ".." in relative.parts:
            raise SecurityError(f"{template!r} is outside the recipe's folder")
        path = (self.folder / relative).resolve()
        if not path.is_relative_to(self.folder):
            raise SecurityError(f"{template!r} leads outside the recipe's folder")
        if not path.is_file():
            raise TemplateNotFound(template)
        return path.read_text(encoding="utf-8"), str(path), lambda: True


def sandbox(folder: Path | None = None) -> RecipeSandbox:
    """A fresh sandbox; with ``folder``, includes are read from it."""
    return RecipeSandbox(undefined=StrictUndefined, autoescape=False,
                         keep_trailing_newline=True,
                         loader=FolderLoader(folder) if folder is not None else None)


def protect_unparseable(text: str, env: Environment | None = None) -> str:
    """Wrap every ``{{ ... }}`` that is not a Jinja expression in ``{% raw %}``, as Goose
    does, so that Handlebars-style and prose braces stay as they are."""
    env = env or sandbox()
    for inner in dict.fromkeys(_EXPRESSION.findall(text)):
        if _SIMPLE_NAME.match(inner) or inner.strip().startswith(("'", '"')):
            continue
        try:
            env.parse("{{" + inner + "}}")
        except TemplateSyntaxError:
            whole = "{{" + inner + "}}"
            text = text.replace(whole, "{% raw %}" + whole + "{% endraw %}")
    return text


def template_variables(text: str) -> frozenset[str]:
    """The variables a recipe's text uses, found as Goose finds them: over the whole file,
    so a parameter used only in ``retry`` commands or extension arguments counts as used.
    Raises ``TemplateSyntaxError`` (with its line) for a broken template."""
    env = sandbox()
    ast = env.parse(protect_unparseable(text, env))
    return frozenset(meta.find_undeclared_variables(ast)) - {RECIPE_DIR}


def render_text(env: Environment, text: str, context: dict[str, Any]) -> str:
    """One field rendered in the sandbox (Jinja2 errors propagate to the caller)."""
    return env.from_string(protect_unparseable(text, env)).render(context)
