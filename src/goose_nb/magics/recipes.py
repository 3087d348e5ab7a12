"""``%goose_recipe``: Goose recipes from a notebook.

A thin face over ``goose_nb.recipes`` and the session, in the style of ``%goose``: it parses
what was typed, runs it, shows the result, and turns every ``GooseError`` into a one-line
``UsageError``. A recipe run is one turn of the main agent (so it joins the conversation):
the recipe's instructions join the system prompt, its prompt is the user message, and its
settings apply to that run only. This module imports nothing heavy, so ``%load_ext`` stays
fast; the recipe code (and Jinja2) loads on first use.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import line_cell_magic, magics_class

from goose_nb.magics.shared import TopicMagics, show_help, take_budget, turn_view, usage_errors

if TYPE_CHECKING:
    from goose_nb.recipes import Parameter

#: the user message of a recipe that has only instructions (Goose would wait for one)
DEFAULT_PROMPT = "Carry out the instructions."


def parse_params(words: list[str]) -> dict[str, str]:
    """``key=value`` words as a mapping; anything else is a one-line usage error. A word
    like ``--flag`` is called a flag, which ``run`` has none of, rather than a parameter
    without a value."""
    params: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if key.startswith("-"):
            raise UsageError(f"unknown flag {key!r}: %goose_recipe run takes only --budget "
                             "DOLLARS; give the recipe's parameters as key=value (e.g. "
                             "variable=df)")
        if not sep or not key.strip():
            raise UsageError(f"expected key=value, got {word!r} (e.g. variable=df)")
        params[key.strip()] = value
    return params


def ask_parameter(param: Parameter) -> str | None:
    """Ask for a ``user_prompt`` parameter with ``input()``; None where no one can answer
    (a notebook run headless), which makes it a missing parameter."""
    from IPython.core.error import StdinNotImplementedError

    try:
        answer = input(f"{param.key} — {param.description.strip()}: ")
    except (StdinNotImplementedError, EOFError, OSError):
        return None
    return answer.strip() or None


@magics_class
class RecipeMagics(TopicMagics):
    """``%goose_recipe``, sharing the session of the ``%goose`` magics it is given."""

    @line_cell_magic
    @usage_errors(interrupted="recipe run interrupted; the partial answer is kept in the "
                              "history, the session is ready for the next cell")
    def goose_recipe(self, line: str, cell: str | None = None) -> Any:
        """Goose recipes: reusable prompts with parameters, in YAML or JSON.

            %goose_recipe list                    the recipes found, and where
            %goose_recipe show NAME               a recipe: parameters, settings, templates
            %goose_recipe run NAME key=value ...  run it as a turn of the agent
            result = %goose_recipe run NAME ...   the parsed JSON, for recipes with a
                                                  response.json_schema (else None)
            %%goose_recipe run NAME key=value     the cell body is added to the prompt
            %goose_recipe help                    this text

        NAME is a path, or a name looked up in: the current folder, ./recipes, each
        GOOSE_RECIPE_PATH folder, ./.goose/recipes, ~/.config/goose/recipes (then the
        recipes shipped with goose_nb); NAME, NAME.yaml, NAME.yml, NAME.json are tried and
        the first match wins. A recipe's settings (goose_provider/goose_model, temperature,
        max_turns) apply to its run only.
        """
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"cannot parse {line!r}: {exc}") from None
        command, args = (words[0].lower(), words[1:]) if words else ("help", [])
        if cell is not None and command != "run":
            raise UsageError("only `%%goose_recipe run NAME ...` takes a cell body (it is "
                             "added to the recipe's prompt)")
        if command == "list":
            return self._list(args)
        if command == "show":
            return self._show(args)
        if command == "run":
            return self._run(args, cell)
        if command == "help":
            return show_help(type(self).goose_recipe)
        raise UsageError(f"unknown %goose_recipe command {command!r}; try: list, show, run, "
                         "help")

    def _recipe_path(self) -> str:
        """GOOSE_RECIPE_PATH as the session resolves it (environment, config.yaml, notebook
        override); the environment's when the configuration is broken."""
        from goose_nb.errors import GooseError

        try:
            return self.session.settings.recipe_path or ""
        except GooseError:
            return os.environ.get("GOOSE_RECIPE_PATH", "")

    def _list(self, args: list[str]) -> Any:
        from goose_nb.display.recipes import recipe_list_view
        from goose_nb.errors import RecipeError
        from goose_nb.recipes import read_recipe, recipe_files

        if args:
            raise UsageError("%goose_recipe list takes no arguments")
        found, invalid = [], []
        for file in recipe_files(self._recipe_path()):
            if file.shadowed_by is not None:
                continue
            try:
                found.append((file, read_recipe(file.path, warn=False)))
            except RecipeError as exc:
                invalid.append((file, str(exc)))
        return recipe_list_view(found, invalid)

    def _show(self, args: list[str]) -> Any:
        from goose_nb.display.recipes import recipe_view
        from goose_nb.recipes import load_recipe

        if len(args) != 1:
            raise UsageError("usage: %goose_recipe show NAME")
        return recipe_view(load_recipe(args[0], recipe_path=self._recipe_path(), warn=False))

    def _run(self, args: list[str], cell: str | None) -> Any:
        from IPython.display import display

        from goose_nb.agent.turns import cell_budget
        from goose_nb.display.recipes import run_header
        from goose_nb.recipes import load_recipe

        budget, args = take_budget(args)
        if not args:
            raise UsageError("usage: %goose_recipe run NAME [--budget DOLLARS] key=value ...")
        params = parse_params(args[1:])
        session = self.session
        session.settings  # noqa: B018 - a configuration error is reported before any output
        recipe = load_recipe(args[0], recipe_path=self._recipe_path(), warn=False)
        rendered = recipe.render(params, ask=ask_parameter,
                                 time_limit=session.settings.render_timeout)
        settings = recipe.settings
        provider = None
        if settings and settings.goose_model and not settings.goose_provider:
            provider = session.runtime.run(session.worker_provider_name())
        options = recipe.turn_options(rendered, default_provider=provider)
        if budget is not None:
            options = replace(options, budget=cell_budget(budget))
        body = (cell or "").strip()
        prompt = "\n\n".join(filter(None, [rendered.prompt, body])) or DEFAULT_PROMPT
        display(run_header(recipe, rendered))
        # the recipe's extensions run for this run only
        extensions = session.scoped_extensions(recipe.extension_configs(),
                                               recipe.extension_names)
        try:
            with session.listening(turn_view(session)):
                record = session.ask(prompt, replace(options, toolsets=(extensions,)))
        finally:
            if extensions.started:
                session.runtime.run(extensions.stop_all())
        # without a schema the answer is already on screen: return nothing to echo again
        return record.structured if recipe.json_schema is not None else None
