"""A plan as the user reviews it: the numbered steps with Run, Edit and Discard.

The widget runs the plan in place (its output goes under the plan) and ticks the steps off
as the agent reports them done; the static form is the Markdown checklist with the line
magics that do the same, for front ends without widgets and for scripted notebooks.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from goose_nb.display.rich import RichText
from goose_nb.display.widgets import WithFallback
from goose_nb.planning.plan import Plan, PlanStep, plan_from_text

if TYPE_CHECKING:
    from goose_nb.session import Session

ACTIONS = "Run it with `%goose_plan run`, change it with `%goose_plan edit`, drop it with " \
          "`%goose_plan discard`."


def _export_line(number: int, step: PlanStep) -> str:
    """The magic that gives a step's code, once the run has called tools on it."""
    return f"%goose export plan_step_{number}" if step.agent_steps else ""


def plan_forms(plan: Plan) -> tuple[RichText, str]:
    """(Markdown + plain text, HTML) of a plan; after a run, each step that called tools
    names the ``%goose export`` argument that gives its code."""
    md, plain, items = [f"**Plan: {plan.title}**", ""], [f"Plan: {plan.title}"], []
    for number, step in enumerate(plan.steps, start=1):
        export = _export_line(number, step)
        box, check = "x" if step.done else " ", step.check
        md.append(f"{number}. [{box}] {step.do}" + (f" — *check:* {check}" if check else "")
                  + (f" · code: `{export}`" if export else ""))
        plain.append(f"  {number}. {step.do}" + (f" — check: {check}" if check else "")
                     + (f" · code: {export}" if export else ""))
        items.append(
            f"<li>{'☑' if step.done else '☐'} {html.escape(step.do)}"
            + (f" <i style='color:#555'>— check: {html.escape(check)}</i>" if check else "")
            + (f" <span style='color:#555'>· code: <code>{export}</code></span>" if export
               else "") + "</li>")
    page = f"<div><b>Plan: {html.escape(plan.title)}</b><ol>{''.join(items)}</ol></div>"
    return RichText("\n".join(md) + f"\n\n{ACTIONS}", "\n".join(plain) + f"\n{ACTIONS}"), page


def questions_forms(questions: list[str]) -> RichText:
    numbered = [f"{n}. {q}" for n, q in enumerate(questions, start=1)]
    note = "Answer them in the next `%%goose_plan` cell."
    return RichText("**The planner has questions:**\n\n" + "\n".join(numbered) + f"\n\n{note}",
                    "The planner has questions:\n" + "\n".join(numbered) + f"\n{note}")


def plan_view(session: Session, plan: Plan) -> WithFallback:
    """The plan with Run / Edit / Discard buttons and an output area for the run."""
    static, page = plan_forms(plan)

    def make_widget() -> Any:
        import ipywidgets

        from goose_nb.display.turn import TurnView
        from goose_nb.errors import GooseError

        shown = ipywidgets.HTML(page)
        run, edit, discard = (ipywidgets.Button(description=label, icon=icon)
                              for label, icon in (("Run", "play"), ("Edit", "edit"),
                                                  ("Discard", "trash")))
        editor = ipywidgets.Textarea(value=plan.text(), rows=max(4, len(plan.steps) + 2),
                                     layout=ipywidgets.Layout(width="100%", display="none"))
        status = ipywidgets.HTML()
        output = ipywidgets.Output()

        def refresh() -> None:
            shown.value = plan_forms(session.current_plan or plan)[1]

        def on_run(_: Any) -> None:
            if editor.layout.display != "none":
                on_save()
            run.disabled = True
            status.value = "Running the plan…"
            with output:
                try:
                    # Front ends route new outputs into an Output widget but not updates of
                    # them: a live view would stay at its first, empty render. The run's
                    # transcript is shown whole when it ends; the steps tick meanwhile.
                    view = TurnView(live=False, show_cost=session.settings.show_cost)
                    with session.listening(view):
                        session.run_plan()
                    status.value = "Plan carried out."
                except GooseError as exc:
                    status.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
                finally:
                    run.disabled = False
            refresh()

        def on_save() -> None:
            edited = plan_from_text(editor.value, plan.title)
            if edited is None:
                status.value = "The edited plan needs numbered steps (1. …)."
                return
            session.current_plan = edited
            editor.layout.display = "none"
            status.value = "Plan updated."
            refresh()

        def on_edit(_: Any) -> None:
            if editor.layout.display == "none":
                editor.value = (session.current_plan or plan).text()
                editor.layout.display = ""
                edit.description = "Save"
            else:
                on_save()
                edit.description = "Edit"

        def on_discard(_: Any) -> None:
            session.current_plan = None
            for button in (run, edit, discard):
                button.disabled = True
            status.value = "Plan discarded."

        run.on_click(on_run)
        edit.on_click(on_edit)
        discard.on_click(on_discard)
        return ipywidgets.VBox([shown, ipywidgets.HBox([run, edit, discard]), editor, status,
                                output])

    return WithFallback(make_widget, static, page)
