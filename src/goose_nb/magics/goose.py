"""The notebook face: ``%%goose`` and the ``%goose`` subcommands.

A thin layer over ``Session``: it parses what the user typed, runs it, shows the result,
and turns every ``GooseError`` into a one-line ``UsageError`` so the cell fails cleanly
("Run All" stops) without a traceback wall.
"""

from __future__ import annotations

import inspect
import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

if TYPE_CHECKING:
    from goose_nb.display.rich import RichText
    from goose_nb.session import Session



def in_kernel() -> bool:
    """True inside a Jupyter kernel, where display handles can be updated in place."""
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


@magics_class
class GooseMagics(Magics):
    """Holds the kernel's one ``Session``; created on first use, not at load time."""

    def __init__(self, shell: Any = None) -> None:
        super().__init__(shell)
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            from goose_nb.session import Session, set_current_session

            self._session = Session()
            set_current_session(self._session)
        return self._session

    @line_cell_magic
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
            %goose log LEVEL            debug, info, warning, error or off
            %goose help                 this text

        Configuration follows Goose: GOOSE_PROVIDER, GOOSE_MODEL, OPENAI_API_KEY, ... in
        the environment or ~/.config/goose/config.yaml. Offline demos use
        GOOSE_PROVIDER=replay with GOOSE_NB_CASSETTE=path.yaml.
        """
        from goose_nb.errors import GooseError

        try:
            if cell is not None:
                if line.strip():
                    raise UsageError(f"%%goose takes no arguments (got {line.strip()!r})")
                return self._run_prompt(cell)
            return self._run_command(line)
        except GooseError as exc:
            raise UsageError(str(exc)) from None

    @line_cell_magic
    def goose_plan(self, line: str, cell: str | None = None) -> Any:
        """Plan first: a planner model turns the request into questions or a plan.

        Cell magic -- ask for a plan (or answer the planner's questions)::

            %%goose_plan
            Clean the sales data and chart monthly revenue by region.

        The plan shows with Run / Edit / Discard buttons. The same as line magics:

            %goose_plan run        carry out the plan (one agent turn, lead/worker and all)
            %goose_plan show       show the current plan
            %goose_plan edit       put the plan in the next cell to edit, as %%goose_plan set
            %goose_plan discard    drop the plan

        and ``%%goose_plan set`` with the edited plan (a title line, numbered steps) as the
        cell. The planner is GOOSE_PLANNER_MODEL, else the lead model, else the worker.
        """
        from goose_nb.display.plan import plan_view, questions_forms
        from goose_nb.display.turn import TurnView
        from goose_nb.errors import GooseError
        from goose_nb.planner import plan_from_text

        session = self.session
        command = line.strip().lower()
        try:
            if cell is not None and command == "set":
                edited = plan_from_text(cell)
                if edited is None:
                    raise UsageError("the plan needs numbered steps (1. …), one per line")
                session.current_plan = edited
                return plan_view(session, edited)
            if cell is not None:
                if command:
                    raise UsageError(f"%%goose_plan takes no arguments but `set` (got {line!r})")
                if not cell.strip():
                    raise UsageError("the %%goose_plan cell is empty: write your request")
                view = TurnView(live=in_kernel(), show_cost=session.settings.show_cost,
                                show_answer=False)
                unsubscribe = session.subscribe(view)
                try:
                    answer = session.plan(cell)
                finally:
                    unsubscribe()
                if answer.kind == "plan" and answer.plan is not None:
                    return plan_view(session, answer.plan)
                if answer.kind == "questions":
                    return questions_forms(answer.questions)
                from goose_nb.display.rich import RichText

                note = ("The planner answered with neither questions nor a plan; nothing "
                        "will run. Ask again, or say what the plan should cover.")
                return RichText(f"> {note}\n\n{answer.text}", f"{note}\n{answer.text}")
            if command == "run":
                view = TurnView(live=in_kernel(), show_cost=session.settings.show_cost)
                unsubscribe = session.subscribe(view)
                try:
                    session.run_plan()
                finally:
                    unsubscribe()
                plan = session.current_plan
                return plan_view(session, plan) if plan else None
            if command in ("show", "edit", "discard"):
                if session.current_plan is None:
                    raise UsageError("there is no plan: write a request in a %%goose_plan cell")
                if command == "discard":
                    session.current_plan = None
                    return None
                if command == "edit":
                    edit_text = f"%%goose_plan set\n{session.current_plan.text()}"
                    self.shell.set_next_input(edit_text, replace=False)
                return plan_view(session, session.current_plan)
            raise UsageError("usage: %%goose_plan (a request in the cell), or %goose_plan "
                             "run | show | edit | discard")
        except GooseError as exc:
            raise UsageError(str(exc)) from None

    @line_cell_magic
    def goose_subagents(self, line: str, cell: str | None = None) -> Any:
        """Run tasks in independent subagents, in sequence or in parallel.

        A YAML list in the cell, one task per item (no model is needed to split them)::

            %%goose_subagents --parallel --timeout 2m
            - Summarise sales.csv in three bullet points
            - prompt: Plot monthly revenue from sales.csv to revenue.png
              max_turns: 5
            - recipe: data-profiler
              params: {variable: df}

        Or a request in words, which the model splits into tasks itself::

            %goose_subagents Use 2 subagents to create hello.html and goodbye.html in parallel

        Flags: --parallel / --sequential, --timeout 7m (s or m), --max-turns N,
        --max-concurrency N. Without flags the words decide: "in parallel",
        "simultaneously", "at the same time" run in parallel; "timeout after 90 seconds"
        and "limit each to 5 turns" set the limits. Defaults: sequential,
        GOOSE_SUBAGENT_TIMEOUT (300 s), GOOSE_SUBAGENT_MAX_TURNS (10).

        Returns the summary: ``summary = _`` in the next cell, and ``summary.model_dump()``
        is ``{"execution_summary": ..., "task_results": [...]}``. Python code of parallel
        subagents runs on the kernel's main thread one call at a time; each subagent has a
        shallow copy of your namespace, so it can read your variables but not replace them.
        """
        from goose_nb.display.subagents import SubagentProgress
        from goose_nb.display.turn import TurnView
        from goose_nb.errors import GooseError, TurnInterrupted
        from goose_nb.subagent_magic import parse_request, words_fill_in
        from goose_nb.subagent_spec import parse_task_list
        from goose_nb.subagents import subagent_limits

        try:
            session = self.session
            request = parse_request(line, cell)
            tasks = parse_task_list(request.text) if cell is not None else None
            if tasks is None:
                request = words_fill_in(request)
            limits = subagent_limits(session.settings, request.mode or "sequential",
                                     request.timeout, request.max_turns,
                                     request.max_concurrency)
            progress = SubagentProgress(live=in_kernel())
            unsubscribe = session.subscribe(progress)
            try:
                if tasks is not None:
                    return session.run_subagents(tasks, limits=limits)
                view = TurnView(live=in_kernel(), show_cost=session.settings.show_cost)
                unsubscribe_view = session.subscribe(view)
                try:
                    return session.delegate(request.text, limits, request.mode)
                finally:
                    unsubscribe_view()
            finally:
                unsubscribe()
        except TurnInterrupted:
            raise UsageError("subagents interrupted; the session is ready for the next cell"
                             ) from None
        except GooseError as exc:
            raise UsageError(str(exc)) from None

    # %%goose -----------------------------------------------------------------------

    def _run_prompt(self, prompt: str) -> None:
        from goose_nb.display.turn import TurnView
        from goose_nb.errors import TurnInterrupted

        session = self.session
        if not prompt.strip():
            raise UsageError("the %%goose cell is empty: write your prompt in the cell body")
        session.settings  # noqa: B018 - raises a configuration error before any output
        view = TurnView(live=in_kernel(), show_cost=session.settings.show_cost)
        unsubscribe = session.subscribe(view)
        try:
            session.ask(prompt)
        except TurnInterrupted:
            raise UsageError(
                "turn interrupted; the partial answer is kept in the history, the session "
                "is ready for the next cell"
            ) from None
        finally:
            unsubscribe()

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
            display(self._timeline(args))
            display(self._usage(args))

    def _status(self, args: list[str]) -> RichText:
        from goose_nb.display.status import status_view

        return status_view(self.session)

    def _usage(self, args: list[str]) -> RichText:
        from goose_nb.display.usage import usage_view

        session = self.session
        return usage_view(session.usage, session.settings.show_cost, session.lead_model(),
                          session.price_book())

    def _timeline(self, args: list[str]) -> Any:
        from goose_nb.display.timeline import timeline_view

        return timeline_view(self.session)

    def _config(self, args: list[str]) -> RichText:
        from goose_nb.display.status import config_view

        session = self.session
        changed: list[str] = []
        for arg in args:
            name, sep, value = arg.partition("=")
            if not sep:
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
        return settings_panel(self.session)

    def _reload(self, args: list[str]) -> RichText:
        self.session.reload()
        return self._config([])

    def _reset(self, args: list[str]) -> None:
        self.session.reset()
        from IPython.display import display

        from goose_nb.display.rich import RichText

        display(RichText("*Session reset: conversation and usage cleared.*",
                         "Session reset: conversation and usage cleared."))

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
        from IPython.display import display

        from goose_nb.display.rich import RichText

        text = inspect.cleandoc(type(self).goose.__doc__ or "")
        display(RichText(f"```text\n{text}\n```", text))
