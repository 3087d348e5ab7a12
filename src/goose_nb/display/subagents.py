"""Subagent runs as the user sees them: live progress, then the summary.

The summary is one row per task (status, model(s), turns, tokens, cost, duration) and a
collapsed transcript of what each subagent did; as a widget the transcripts are an
accordion, and the static forms use ``<details>`` so a saved notebook keeps them folded.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from goose_nb.display.rich import RichText, table, without_maths
from goose_nb.display.throttle import Schedule, Throttle
from goose_nb.display.turn import TurnOutput, TurnView
from goose_nb.display.usage import UNKNOWN, format_cost
from goose_nb.display.widgets import WithFallback
from goose_nb.events import Event, SubagentFinished, SubagentStarted

if TYPE_CHECKING:
    from goose_nb.messages import Usage
    from goose_nb.subagents.summary import SubagentSummary, TaskResult

STATUS_MARKS = {"success": "✓", "failed": "✗", "timeout": "⏱", "running": "…"}
HEADERS = ["task", "status", "model(s)", "turns", "tokens in / out", "cost", "time"]


def _row(result: TaskResult, show_cost: bool) -> list[str]:
    detail = result.detail
    models = ", ".join(str(m) for m in detail.models) or (
        f"{detail.external_tool} (external)" if detail.external_tool else "—")
    row = [result.task_id, f"{STATUS_MARKS[result.status]} {result.status}", models,
           str(detail.steps), _token_cell(detail.usage)]
    row += [format_cost(detail.cost)] if show_cost else []
    return [*row, f"{detail.seconds:.1f} s"]


def _token_cell(usage: Usage) -> str:
    if usage.unreported and not usage.total_tokens:
        return UNKNOWN  # the server reported none: unknown, not zero
    return f"{usage.input_tokens:,} / {usage.output_tokens:,}"


def _outcome(result: TaskResult) -> str:
    return (result.result or "") if result.status == "success" else f"error: {result.error}"


def _export_hint(result: TaskResult) -> str:
    """The line under a task's transcript that names the magic giving its code."""
    return (f"<div>Its python code as a cell: <code>%goose export "
            f"{html.escape(result.task_id)}</code></div>")


def transcript(result: TaskResult) -> TurnOutput:
    """What the subagent's turn showed, rebuilt from its events as a turn view would."""
    view = TurnView(live=False, show=False)
    for event in result.detail.events:
        view(event)
    return view.output


def summary_forms(summary: SubagentSummary, show_cost: bool = True) -> tuple[RichText, str]:
    """(Markdown + plain text, HTML) of a run's summary."""
    title = summary.title
    headers = HEADERS if show_cost else [h for h in HEADERS if h != "cost"]
    rows = [_row(result, show_cost) for result in summary.task_results]
    grid = table(title, headers, rows)
    md, plain = [without_maths(grid.markdown)], [grid.plain]
    page = [f"<div><b>{html.escape(title)}</b><table><tr>"
            + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"]
    transcripts = [transcript(result) for result in summary.task_results]
    for result, row, shown in zip(summary.task_results, rows, transcripts, strict=True):
        outcome = _outcome(result)
        detail = result.detail
        md.append(f"<details><summary>{html.escape(result.task_id)}: "
                  f"{html.escape(detail.prompt[:80])}</summary>\n\n**Result:** {outcome}\n\n"
                  f"{shown._repr_markdown_()}\n\nIts python code as a cell: "
                  f"`%goose export {result.task_id}`\n\n</details>")
        plain.append(f"\n[{result.task_id}] {detail.prompt[:80]}\n  → {outcome}")
        page.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>")
    page.append("</table>")
    for result, shown in zip(summary.task_results, transcripts, strict=True):
        page.append(f"<details><summary>{html.escape(result.task_id)}: "
                    f"{html.escape(_outcome(result)[:120])}</summary><pre>"
                    f"{html.escape(repr(shown))}</pre>{_export_hint(result)}</details>")
    page.append("</div>")
    return RichText("\n\n".join(md), "\n".join(plain)), "".join(page)


def summary_view(summary: SubagentSummary, show_cost: bool = True) -> WithFallback:
    """The summary as a widget (table plus one collapsed transcript per task)."""
    static, page = summary_forms(summary, show_cost)

    def make_widget() -> Any:
        import ipywidgets

        grid = page.split("</table>")[0] + "</table></div>"
        transcripts = ipywidgets.Accordion(children=[
            ipywidgets.HTML(f"<b>Result:</b> {html.escape(_outcome(r))}<pre>"
                            f"{html.escape(repr(transcript(r)))}</pre>{_export_hint(r)}")
            for r in summary.task_results
        ])
        for index, result in enumerate(summary.task_results):
            transcripts.set_title(index, f"{result.task_id}: {result.detail.prompt[:60]}")
        return ipywidgets.VBox([ipywidgets.HTML(grid), transcripts])

    return WithFallback(make_widget, static, page)


#: the most times a second the progress heading ("3 of 100 done") is redrawn
PROGRESS_UPDATES_PER_SECOND = 4


class SubagentProgress:
    """The run's tasks while they work: a heading, then one line per task.

    Each task's line is its own display, updated only when that task finishes, and the
    heading is redrawn at most ``PROGRESS_UPDATES_PER_SECOND`` times a second (a timer,
    ``schedule``, draws what it held back): a run of N tasks sends O(N) to the front end,
    where a table re-sent whole on each of the 2N starts and finishes cost O(N²).
    """

    def __init__(self, live: bool, schedule: Schedule | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from IPython.display import display

        self.rows: dict[str, list[str]] = {}
        self._live = live
        self._display = display
        self._lines: dict[str, Any] = {}
        self._heading = display(self._render_heading(), display_id=True) if live else None
        self._throttle = Throttle(PROGRESS_UPDATES_PER_SECOND, self._draw_heading, schedule,
                                  clock)

    def __call__(self, event: Event) -> None:
        if isinstance(event, SubagentStarted):
            row = self.rows[event.task_id] = [event.task_id, "… running", event.prompt[:70], ""]
            if self._live:
                self._lines[event.task_id] = self._display(_line(row), display_id=True)
        elif isinstance(event, SubagentFinished) and event.task_id in self.rows:
            row = self.rows[event.task_id]
            row[1] = f"{STATUS_MARKS.get(event.status, '?')} {event.status}"
            row[3] = f"{event.seconds:.1f} s"
            if event.task_id in self._lines:
                self._lines[event.task_id].update(_line(row))
        else:
            return
        if self._heading is not None:
            self._throttle.request()

    def _draw_heading(self) -> None:
        if self._heading is not None:
            self._heading.update(self._render_heading())

    def finish(self) -> None:
        """The heading's last draw, whatever the rate limit held back."""
        if self._heading is not None:
            self._throttle.request(force=True)

    def _render_heading(self) -> RichText:
        done = sum(not row[1].startswith("…") for row in self.rows.values())
        text = f"Subagents: {done} of {len(self.rows)} done"
        return RichText(f"**{text}**", text)


def _line(row: list[str]) -> RichText:
    task, status, prompt, seconds = row
    timing = f" · {seconds}" if seconds else ""
    return RichText(f"`{task}` {status}{timing} · {prompt}",
                    f"{task} {status}{timing} · {prompt}")
