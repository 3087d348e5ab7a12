"""``%%goose_plan`` / ``%goose_plan``: plan first, then run the plan the user reviewed."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import line_cell_magic, magics_class

from goose_nb.magics.shared import TopicMagics, turn_view, usage_errors

USAGE = ("usage: %%goose_plan (a request in the cell), or %goose_plan run | show | edit | "
         "discard")


@magics_class
class PlanMagics(TopicMagics):
    """Planning mode, on the session of the ``%goose`` magics."""

    @line_cell_magic
    @usage_errors()
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
        command = line.strip().lower()
        if cell is not None:
            if command == "set":
                return self._set(cell)
            if command:
                raise UsageError(f"%%goose_plan takes no arguments but `set` (got {line!r})")
            return self._ask(cell)
        if command == "run":
            return self._run()
        if command in ("show", "edit", "discard"):
            return self._manage(command)
        raise UsageError(USAGE)

    def _set(self, cell: str) -> Any:
        from goose_nb.display.plan import plan_view
        from goose_nb.planning.plan import plan_from_text

        edited = plan_from_text(cell)
        if edited is None:
            raise UsageError("the plan needs numbered steps (1. …), one per line")
        self.session.current_plan = edited
        return plan_view(self.session, edited)

    def _ask(self, cell: str) -> Any:
        from goose_nb.display.plan import plan_view, questions_forms
        from goose_nb.display.rich import RichText

        session = self.session
        if not cell.strip():
            raise UsageError("the %%goose_plan cell is empty: write your request")
        with session.listening(turn_view(session, show_answer=False)):
            answer = session.plan(cell)
        if answer.kind == "plan" and answer.plan is not None:
            return plan_view(session, answer.plan)
        if answer.kind == "questions":
            return questions_forms(answer.questions)
        note = ("The planner answered with neither questions nor a plan; nothing will run. "
                "Ask again, or say what the plan should cover.")
        return RichText(f"> {note}\n\n{answer.text}", f"{note}\n{answer.text}")

    def _run(self) -> Any:
        from goose_nb.display.plan import plan_view

        session = self.session
        with session.listening(turn_view(session)):
            session.run_plan()
        plan = session.current_plan
        return plan_view(session, plan) if plan else None

    def _manage(self, command: str) -> Any:
        from goose_nb.display.plan import plan_view

        session = self.session
        if session.current_plan is None:
            raise UsageError("there is no plan: write a request in a %%goose_plan cell")
        if command == "discard":
            session.current_plan = None
            return None
        if command == "edit":
            edit_text = f"%%goose_plan set\n{session.current_plan.text()}"
            if self.shell is not None:
                self.shell.set_next_input(edit_text, replace=False)
        return plan_view(session, session.current_plan)
