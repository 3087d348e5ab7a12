"""``%%goose_subagents`` / ``%goose_subagents``: tasks run by independent subagents.

Also where a run's summary gets its looks: the summary is data
(``goose_nb.subagents.summary``), and this face registers its view with IPython's
formatters, by name, so nothing is imported until a summary is shown.
"""

from __future__ import annotations

from typing import Any

from IPython.core.magic import line_cell_magic, magics_class

from goose_nb.magics.shared import TopicMagics, in_kernel, turn_view, usage_errors


def _summary_bundle(summary: Any) -> dict[str, Any]:
    from goose_nb.display.subagents import summary_view

    return summary_view(summary)._repr_mimebundle_()


@magics_class
class SubagentMagics(TopicMagics):
    """Subagent runs, on the session of the ``%goose`` magics."""

    def __init__(self, shell: Any = None, goose: Any = None) -> None:
        super().__init__(shell, goose)
        if shell is not None:
            shell.display_formatter.mimebundle_formatter.for_type_by_name(
                "goose_nb.subagents.summary", "SubagentSummary", _summary_bundle)

    @line_cell_magic
    @usage_errors(interrupted="subagents interrupted; the session is ready for the next cell")
    def goose_subagents(self, line: str, cell: str | None = None) -> Any:
        """Run tasks in independent subagents, in sequence or in parallel.

        A YAML list in the cell, one task per item (no model is needed to split them)::

            %%goose_subagents --parallel --timeout 2m
            - Summarise sales.csv in three bullet points
            - prompt: Plot monthly revenue from sales.csv to revenue.png
              max_turns: 5
            - recipe: data-profiler
              params: {variable: df}
            - extension: codex      # an external agent, configured as an extension
              prompt: Analyze the structure of this project

        Or a request in words, which the model splits into tasks itself::

            %goose_subagents Use 2 subagents to create hello.html and goodbye.html in parallel

        Flags: --parallel / --sequential, --timeout 7m (s or m), --max-turns N,
        --max-concurrency N, --model PROVIDER/MODEL (for the tasks that name none),
        --budget DOLLARS (for the whole run: tasks that cannot fit are skipped).
        Without flags the words decide: "in parallel",
        "simultaneously", "at the same time" run in parallel; "timeout after 90 seconds"
        and "limit each to 5 turns" set the limits. Defaults: sequential,
        GOOSE_SUBAGENT_TIMEOUT (300 s), GOOSE_SUBAGENT_MAX_TURNS (10).

        Returns the summary: ``summary = _`` in the next cell, and ``summary.model_dump()``
        is ``{"execution_summary": ..., "task_results": [...]}``. Python code of parallel
        subagents runs on the kernel's main thread one call at a time; each subagent has a
        shallow copy of your namespace, so it can read your variables but not replace them.
        """
        from goose_nb.display.subagents import SubagentProgress
        from goose_nb.magics.subagent_request import parse_request, words_fill_in
        from goose_nb.subagents.run import subagent_limits
        from goose_nb.subagents.spec import parse_task_list

        session = self.session
        request = parse_request(line, cell)
        tasks = parse_task_list(request.text) if cell is not None else None
        if tasks is None:
            request = words_fill_in(request)
        limits = subagent_limits(session.settings, request.mode or "sequential",
                                 request.timeout, request.max_turns, request.max_concurrency,
                                 request.budget)
        progress = SubagentProgress(live=in_kernel(), schedule=session.runtime.call_later_in_main)
        try:
            with session.listening(progress):
                if tasks is not None:
                    return session.run_subagents(tasks, limits=limits, model=request.model)
                with session.listening(turn_view(session)):
                    return session.delegate(request.text, limits, request.mode,
                                            model=request.model)
        finally:
            progress.finish()
