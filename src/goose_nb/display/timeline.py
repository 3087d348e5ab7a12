"""``%goose timeline``: which model handled each turn and step, and why.

One mark per step, coloured by role (lead, worker), a ✗ on failed steps, ⇄ where the role
changed, and the policy's current state ("worker; 1 failure of 2", "fallback: 1 of 2 turns
left"). Nothing in it is interactive, so it is not a widget: in a kernel it is a display
that every later turn updates in place (HTML, Markdown and plain text), and a saved notebook
keeps its last state, readable with or without widget state.
"""

from __future__ import annotations

import html
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from goose_nb.display.rich import RichText
from goose_nb.events import Event, TurnFinished

if TYPE_CHECKING:
    from goose_nb.agent.turns import StepRecord, TurnRecord
    from goose_nb.session import Session

COLOURS = {"lead": "#6f42c1", "worker": "#1b8a5a", None: "#6c757d"}
LETTERS = {"lead": "L", "worker": "W", None: "·"}
_PROMPT_CHARS = 60


def _marks(turn: TurnRecord, previous_role: str | None) -> tuple[list[str], str | None]:
    """Plain marks of one turn's steps (``L``, ``W✗``, ``⇄``), and its last role."""
    marks: list[str] = []
    for step in turn.steps:
        if previous_role is not None and step.role != previous_role:
            marks.append("⇄")
        failed = step.outcome is not None and step.outcome.failed
        marks.append(LETTERS[step.role] + ("✗" if failed else ""))
        previous_role = step.role
    return marks, previous_role


def _html_step(step: StepRecord) -> str:
    failed = step.outcome is not None and step.outcome.failed
    title = html.escape(f"step {step.step}: {step.role or 'model'} ({step.reason or '-'}) "
                        f"{step.model}" + (" · failed" if failed else ""))
    border = "2px solid #d62728" if failed else "2px solid transparent"
    return (f'<span title="{title}" style="display:inline-block;min-width:1.6em;'
            f"text-align:center;margin:1px;padding:0 3px;border-radius:3px;color:white;"
            f'background:{COLOURS[step.role]};border:{border}">'
            f"{LETTERS[step.role]}{'✗' if failed else ''}</span>")


def timeline_forms(session: Session) -> tuple[RichText, str]:
    """The timeline as (Markdown + plain text, HTML)."""
    policy = session.policy
    # with lead/worker off there is one model and nothing about roles to say
    state = policy.describe() if policy else None
    legend = ("L = lead, W = worker, ✗ = failed step, ⇄ = model switch" if policy
              else "· = step, ✗ = failed step")
    if not session.turns:
        text = f"No turns yet · {state}" if state else "No turns yet"
        return RichText(f"**goose_nb timeline** · {text}", f"goose_nb timeline: {text}"), \
            f"<b>goose_nb timeline</b> · {html.escape(text)}"
    md = ["**goose_nb timeline**", "", "| turn | steps | prompt |", "|---|---|---|"]
    plain = ["goose_nb timeline"]
    rows = []
    previous_role: str | None = None
    for turn in session.turns:
        marks, last_role = _marks(turn, previous_role)
        prompt = " ".join(turn.prompt.split())[:_PROMPT_CHARS]
        status = "" if turn.status == "ok" else f" ({turn.status})"
        md.append(f"| {turn.number} | {' '.join(marks)}{status} | {prompt.replace('|', '/')} |")
        plain.append(f"  turn {turn.number:>3}  {' '.join(marks):<20}{status}  {prompt}")
        cells = []
        for step in turn.steps:
            if previous_role is not None and step.role != previous_role:
                cells.append('<span title="model switched" style="margin:0 2px">⇄</span>')
            cells.append(_html_step(step))
            previous_role = step.role
        rows.append(f"<tr><td style='text-align:right;padding-right:6px'>{turn.number}</td>"
                    f"<td style='text-align:left'>{''.join(cells)}{html.escape(status)}</td>"
                    f"<td style='text-align:left;color:#555'>{html.escape(prompt)}</td></tr>")
        previous_role = last_role
    md += ["", legend + (f" · **now:** {state}" if state else "")]
    plain.append(f"  {legend}" + (f" · now: {state}" if state else ""))
    table = "".join(rows)
    now = f" · <b>now:</b> {html.escape(state)}" if state else ""
    page = (f"<div><b>goose_nb timeline</b><table style='border-collapse:collapse'>{table}"
            f"</table><div style='color:#555'>{html.escape(legend)}{now}</div></div>")
    return RichText("\n".join(md), "\n".join(plain)), page


class Timeline:
    """The session's timeline in every form, drawn afresh each time it is shown."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        static, page = timeline_forms(self.session)
        return {"text/plain": static.plain, "text/markdown": static.markdown,
                "text/html": page}

    def __repr__(self) -> str:
        return timeline_forms(self.session)[0].plain


#: how many of a session's timeline displays later turns keep current: the newest ones
#: (``%goose`` shows one each time; updating every one ever shown would cost each turn more)
LIVE_TIMELINES = 5
_LIVE: weakref.WeakKeyDictionary[Session, list[Callable[[], None]]] = (
    weakref.WeakKeyDictionary())


def show_timeline(session: Session) -> None:
    """Display the timeline, and update that display after every later turn."""
    from IPython.display import display

    timeline = Timeline(session)
    handle = display(timeline, display_id=True)

    def refresh(event: Event) -> None:
        if isinstance(event, TurnFinished) and handle is not None:
            handle.update(timeline)

    live = _LIVE.setdefault(session, [])
    live.append(session.subscribe(refresh))
    while len(live) > LIVE_TIMELINES:
        live.pop(0)()  # the oldest display keeps the state it last showed
