"""The notebook face: ``%%goose`` and the ``%goose`` subcommands.

A thin layer over ``Session``: it parses what the user typed, runs it, shows the result,
and turns every ``GooseError`` into a one-line ``UsageError`` so the cell fails cleanly
("Run All" stops) without a traceback wall.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from goose_nb.magics.shared import in_kernel, show_help, take_budget, turn_view, usage_errors

if TYPE_CHECKING:
    from goose_nb.display.rich import RichText
    from goose_nb.session import Session



@magics_class
class GooseMagics(Magics):
    """Holds the kernel's one ``Session``; created on first use, not at load time."""

    def __init__(self, shell: Any = None) -> None:
        super().__init__(shell)
        self._session: Session | None = None
        #: the execution count of the cell running now (``before_cell``), for lineage
        self.running_cell: int | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            from goose_nb.session import Session, set_current_session

            self._session = Session()
            self._session.running_cell = self.running_cell
            set_current_session(self._session)
        return self._session

    def before_cell(self, info: Any) -> None:
        """IPython's ``pre_run_cell``: the cell's number, for lineage. IPython has already
        counted a cell it keeps in its history, so that cell's own number is one less."""
        count = self.shell.execution_count if self.shell is not None else None
        stored = getattr(info, "store_history", False)
        self.running_cell = count - 1 if count and stored else count
        if self._session is not None:
            self._session.running_cell = self.running_cell

    def after_cell(self, result: Any) -> None:
        """IPython's ``post_run_cell``: note which of the agent's variables the cell
        changed (``%goose why`` says so)."""
        if self._session is not None:
            self._session.variable_lineage.after_cell(self._session.namespace,
                                                      getattr(result, "execution_count", None))

    @line_cell_magic
    @usage_errors(interrupted="turn interrupted; the partial answer is kept in the history, "
                              "the session is ready for the next cell")
    def goose(self, line: str, cell: str | None = None) -> Any:
        """Talk to the Goose agent from a notebook.

        Cell magic -- the cell is the prompt; the answer streams in below it::

            %%goose
            Explain what a p-value is in two sentences.

        Line magic -- manage the session::

            %goose                      the session: status, timeline, usage
            %goose status               models, lead/worker state, turns, tokens
            %goose timeline             which model took each turn and step, and why
            %goose usage                tokens and cost per model and role, and savings
            %goose config               resolved settings and where each came from
            %goose config KEY=VALUE ... set notebook overrides (KEY= removes one)
            %goose settings             the lead/worker settings panel (models, turns)
            %goose reload               re-read the environment and config.yaml
            %goose reset                forget the conversation and the usage totals
            %goose record PATH|off      record every model call into a cassette
            %goose extensions           the MCP servers (Goose's extensions) and their tools
            %goose extensions enable|disable NAME
            %goose extensions add NAME -- CMD ARGS...   a server for this notebook only
            %goose why NAME             the agent's steps that made a variable, newest first
            %goose export [N|all] [--all] [--file PATH | --check]   the agent's code as a
                                        new cell (task_1: a subagent task; plan_step_2:
                                        a step of the plan's run)
            %goose log LEVEL            debug, info, warning, error or off
            %goose help                 this text

        Configuration follows Goose: GOOSE_PROVIDER, GOOSE_MODEL, OPENAI_API_KEY, ... in
        the environment or ~/.config/goose/config.yaml. Offline demos use
        GOOSE_PROVIDER=replay with GOOSE_NB_CASSETTE=path.yaml.
        """
        if cell is not None:
            budget, rest = take_budget(line.split())
            if rest:
                raise UsageError(f"%%goose takes only --budget DOLLARS (got {' '.join(rest)!r})")
            return self._run_prompt(cell, budget)
        return self._run_command(line)

    # %%goose -----------------------------------------------------------------------

    def _run_prompt(self, prompt: str, budget: float | None = None) -> None:
        session = self.session
        if not prompt.strip():
            raise UsageError("the %%goose cell is empty: write your prompt in the cell body")
        session.settings  # noqa: B018 - raises a configuration error before any output
        with session.listening(turn_view(session)):
            session.ask(prompt, budget=budget)

    # %goose SUBCOMMAND --------------------------------------------------------------

    def _run_command(self, line: str) -> Any:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"cannot parse {line!r}: {exc}") from None
        command, args = (words[0].lower(), words[1:]) if words else ("overview", [])
        handlers: dict[str, Callable[[list[str]], Any]] = {
            "overview": self._overview,
            "status": self._status,
            "timeline": self._timeline,
            "usage": self._usage,
            "config": self._config,
            "settings": self._settings,
            "reload": self._reload,
            "reset": self._reset,
            "record": self._record,
            "extensions": self._extensions,
            "why": self._why,
            "export": self._export,
            "log": self._log,
            "help": self._help,
        }
        handler = handlers.get(command)
        if handler is None:
            raise UsageError(
                f"unknown %goose command {command!r}; try: {', '.join(handlers)}"
            )
        return handler(args)

    def _overview(self, args: list[str]) -> None:
        """``%goose`` alone: the session, its timeline and its usage."""
        from IPython.display import display

        display(self._status(args))
        if self.session.turns:
            timeline = self._timeline(args)
            if timeline is not None:
                display(timeline)
            display(self._usage(args))

    def _status(self, args: list[str]) -> RichText:
        from goose_nb.display.status import status_view

        return status_view(self.session)

    def _usage(self, args: list[str]) -> RichText:
        from goose_nb.display.usage import usage_view

        session = self.session
        return usage_view(session.usage, session.settings.show_cost, session.lead_model(),
                          session.price_book(), budget=session.session_budget)

    def _timeline(self, args: list[str]) -> Any:
        """In a kernel, a display that later turns update; elsewhere, the text once."""
        from goose_nb.display.timeline import Timeline, show_timeline

        if in_kernel():
            show_timeline(self.session)
            return None
        return Timeline(self.session)

    def _config(self, args: list[str]) -> RichText:
        from goose_nb.display.status import config_view

        session = self.session
        changed: list[str] = []
        for arg in args:
            name, sep, value = arg.partition("=")
            if not sep or not name.strip():
                raise UsageError(f"expected KEY=VALUE, got {arg!r} (e.g. GOOSE_MODEL=gpt-4o)")
            session.set_override(name.strip(), value.strip())
            changed.append(name.strip().upper())
        return config_view(session, only=changed or None)

    def _settings(self, args: list[str]) -> Any:
        """``%goose settings``: the Lead/Worker Settings panel, with its static forms."""
        from goose_nb.display.settings_panel import settings_panel

        if args:
            raise UsageError("%goose settings takes no arguments; use the panel, or "
                             "%goose config KEY=VALUE")
        if not in_kernel():
            return settings_panel(self.session)
        # a display (not the cell's result) that Apply updates: its static forms are what a
        # notebook saved without widget state, GitHub or nbviewer show
        from IPython.display import display

        handles: list[Any] = []

        def resend(shown: Any) -> None:
            for handle in handles:
                handle.update(shown)

        handles.append(display(settings_panel(self.session, on_apply=resend), display_id=True))
        return None

    def _reload(self, args: list[str]) -> RichText:
        self.session.reload()
        return self._config([])

    def _reset(self, args: list[str]) -> None:
        self.session.reset()
        from IPython.display import display

        from goose_nb.display.rich import RichText

        display(RichText("*Session reset: conversation and usage cleared.*",
                         "Session reset: conversation and usage cleared."))

    def _why(self, args: list[str]) -> RichText:
        from goose_nb.display.lineage import why_view

        if len(args) != 1 or not args[0].isidentifier():
            raise UsageError("usage: %goose why NAME  (a variable of this notebook, e.g. "
                             "%goose why df)")
        return why_view(self.session.lineage(args[0]))

    def _export(self, args: list[str]) -> RichText:
        from goose_nb.magics.export import export_command

        return export_command(self.shell, self.session, args)

    def _extensions(self, args: list[str]) -> RichText:
        from goose_nb.magics.extensions import extensions_command

        return extensions_command(self.session, args)

    def _record(self, args: list[str]) -> None:
        if len(args) != 1:
            raise UsageError("usage: %goose record PATH.yaml  (or: %goose record off)")
        target = None if args[0].lower() == "off" else args[0]
        self.session.record_to(target)
        from IPython.display import display

        from goose_nb.display.rich import RichText

        text = f"Recording model calls to {target}" if target else "Recording stopped"
        display(RichText(f"*{text}.*", f"{text}."))

    def _log(self, args: list[str]) -> None:
        from goose_nb.logs import LEVELS, set_log_level

        if len(args) != 1 or args[0].lower() not in LEVELS:
            raise UsageError(f"usage: %goose log LEVEL, with LEVEL one of {', '.join(LEVELS)}")
        set_log_level(LEVELS[args[0].lower()])

    def _help(self, args: list[str]) -> None:
        show_help(type(self).goose)
