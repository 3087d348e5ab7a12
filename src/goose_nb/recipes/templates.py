"""Recipe templates: Jinja2's sandbox, rooted at the recipe's folder.

Goose renders recipes with minijinja; goose_nb uses Jinja2's ``SandboxedEnvironment`` with
``StrictUndefined``, the same language. The sandbox refuses attribute access to Python
internals (``{{ ''.__class__.__mro__ }}`` raises ``SecurityError``) and huge repetitions;
``{% include %}`` reads only files inside the recipe's folder (no ``..``, no absolute paths,
no symlinks leading out), as Goose's loader does.

A render is bounded as a whole: ``GOOSE_NB_RENDER_TIMEOUT`` seconds of template work (nested
loops that print nothing included) and ``MAX_RENDERED_CHARS`` of output per field.

Like Goose, a ``{{ ... }}`` that is not a valid expression (Handlebars' ``{{#if x}}``, prose
such as ``{{hf model name}}``) is kept as literal text instead of failing the recipe.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from types import FrameType
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
#: the most characters one rendered field may have: far more than any prompt needs, far
#: less than what exhausts a kernel's memory
MAX_RENDERED_CHARS = 1_000_000


class TemplateTooSlow(Exception):
    """The templates ran past their time limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"ran past {seconds:g} s")
        self.seconds = seconds


class TemplateTooLarge(Exception):
    """A field rendered to more than ``MAX_RENDERED_CHARS``."""


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


@contextmanager
def time_limit(env: Environment, seconds: float) -> Iterator[None]:
    """Stop the templates of ``env`` rendered in this block once ``seconds`` have passed,
    whatever they are doing: the sandbox caps each ``range`` and each repetition alone,
    not loops nested in one another, and a loop that prints nothing yields no output to
    check.

    The templates' compiled code is traced line by line (only theirs: every other frame
    runs untraced), and a line past the deadline raises ``TemplateTooSlow`` inside the
    template. The thread's previous trace function (a debugger's) comes back after.
    """
    deadline = time.monotonic() + seconds

    def in_template(frame: FrameType, event: str, arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise TemplateTooSlow(seconds)
        return in_template

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        # a compiled template's module globals hold the environment it was made by
        return in_template if frame.f_globals.get("environment") is env else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        yield
    finally:
        sys.settrace(previous)


def render_text(env: Environment, text: str, context: dict[str, Any]) -> str:
    """One field rendered in the sandbox, piece by piece so that its size is checked as it
    grows (Jinja2 errors, ``TemplateTooLarge`` propagate to the caller)."""
    pieces: list[str] = []
    size = 0
    for piece in env.from_string(protect_unparseable(text, env)).generate(context):
        size += len(piece)
        if size > MAX_RENDERED_CHARS:
            raise TemplateTooLarge
        pieces.append(piece)
    return "".join(pieces)
