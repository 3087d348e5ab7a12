"""The live view of one turn: per step a header, the streamed answer and its tool calls as
collapsible blocks; notices; a footer with steps, tool calls, tokens and time.

It listens to the session's events (on the main thread) and re-renders one display handle.
A step's header, its first text, tool calls and notices are shown at once; later text at
most ``MAX_UPDATES_PER_SECOND`` times a second, so a 2,000-token answer costs a few dozen
front-end updates rather than 2,000. Text held back by that limit is never left waiting for
the next chunk: a timer on the main thread (``schedule``) renders it when the interval is
over, so a model that pauses after a few words still shows them. The last render is
complete and is what a saved notebook keeps.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from goose_nb.display.rich import without_maths
from goose_nb.display.throttle import Schedule, Throttle
from goose_nb.display.tool_block import ToolBlock
from goose_nb.display.usage import format_cost, format_tokens, plural
from goose_nb.events import (
    AnswerDelta,
    Event,
    ModelSwitched,
    Notice,
    StepFinished,
    StepRestarted,
    StepStarted,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from goose_nb.messages import Usage

MAX_UPDATES_PER_SECOND = 15
#: text of a step past which its finished paragraphs go into a display of their own, sent
#: once: an update re-sends only the paragraphs still being written
FREEZE_CHARS = 2000
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)
#: the most of one step's text a cell shows: past it the rest is counted, not shown, so a
#: runaway answer cannot make a notebook of hundreds of megabytes (the turn record keeps it)
MAX_SHOWN_CHARS = 100_000
#: how much of a step's thinking a terminal shows, on one line
THINKING_PLAIN_CHARS = 160


def format_footer(
    steps: int, usage: Usage, seconds: float, retries: int = 0, tool_calls: int = 0,
    cost: str = "",
) -> str:
    """``2 steps · 1 tool call · 120 in / 40 out tokens · $0.0012 · 1.3 s``"""
    parts = [plural(steps, "step")]
    if tool_calls:
        parts.append(plural(tool_calls, "tool call"))
    parts.append(format_tokens(usage))
    if cost:
        parts.append(cost)
    parts.append(f"{seconds:.1f} s")
    if retries:
        parts.append(f"{retries} retr{'ies' if retries != 1 else 'y'}")
    return " · ".join(parts)


def role_badge(role: str | None, reason: str | None) -> str:
    """LEAD, WORKER, or LEAD · fallback (empty when lead/worker mode is off)."""
    if role is None:
        return ""
    if reason in ("fallback", "escalation"):
        return f"{role.upper()} · fallback"
    return role.upper()


@dataclass
class _Step:
    model: str
    badge: str = ""
    switch: str = ""
    text: list[str] = field(default_factory=list)
    #: the model's reasoning, shown folded above the answer (open while it streams)
    thinking: list[str] = field(default_factory=list)
    thinking_done: bool = False
    tools: list[ToolBlock] = field(default_factory=list)
    status: str = ""
    #: characters of the step's text shown, and not shown (past ``MAX_SHOWN_CHARS``)
    shown: int = 0
    hidden: int = 0

    def add_text(self, text: str) -> None:
        """Show ``text`` up to ``MAX_SHOWN_CHARS`` of the step; count the rest."""
        room = MAX_SHOWN_CHARS - self.shown
        if len(text) > room:
            self.hidden += len(text) - room
            text = text[:room]
        if text:
            self.text.append(text)
            self.shown += len(text)

    def clear_text(self) -> None:
        """Forget the step's text and thinking (a retried step starts again)."""
        self.text.clear()
        self.thinking.clear()
        self.thinking_done = False
        self.shown = self.hidden = 0

    def add_thinking(self, text: str) -> None:
        """Keep the reasoning to show, up to ``MAX_SHOWN_CHARS`` of it."""
        room = MAX_SHOWN_CHARS - sum(map(len, self.thinking))
        if room > 0:
            self.thinking.append(text[:room])

    def thought(self) -> str:
        if len(self.thinking) > 1:
            self.thinking[:] = ["".join(self.thinking)]
        return self.thinking[0] if self.thinking else ""

    def thinking_markdown(self) -> str:
        """A ``<details>`` block, open while the thinking streams, folded once the answer
        starts or the step ends; the text escaped, so it cannot close the block."""
        thought = self.thought()
        state = "" if self.thinking_done or self.text else " open"
        return (f"<details{state}><summary>💭 thinking · {plural(len(thought.split()), 'word')}"
                f"</summary>\n\n<pre style=\"white-space: pre-wrap\">{html.escape(thought)}"
                "</pre>\n\n</details>")

    def thinking_plain(self) -> str:
        thought = " ".join(self.thought().split())
        head = thought[:THINKING_PLAIN_CHARS] + ("…" if len(thought) > THINKING_PLAIN_CHARS
                                                  else "")
        return f"(thinking · {plural(len(thought.split()), 'word')}: {head})"

    def hidden_note(self) -> str:
        return (f"… {self.hidden:,} more characters of this answer are not shown here; the "
                "whole answer is `current_session().turns[-1].answer`")

    def header_markdown(self) -> str:
        badge = f"**{self.badge}** · " if self.badge else ""
        return f"{badge}`{self.model}`"

    def header_plain(self) -> str:
        return f"{self.badge} · {self.model}" if self.badge else self.model

    def body(self) -> str:
        """The step's text so far (its pieces joined once, then kept joined)."""
        if len(self.text) > 1:
            self.text[:] = ["".join(self.text)]
        return self.text[0] if self.text else ""


#: one thing a turn shows: (kind, value); see ``TurnOutput.pieces``
Piece = tuple[str, Any]


@dataclass(frozen=True)
class Cursor:
    """A place in a turn's output: a step, and how much of that step's text lies before."""

    step: int = 0
    offset: int = 0


class TurnOutput:
    """The rendered state of a turn. Shown whole (a subagent's transcript, a terminal) or in
    segments, one display each, so that a front end is sent each finished part once."""

    def __init__(self) -> None:
        self.steps: list[_Step] = []
        self.notices: list[str] = []
        self.footer = ""

    def segment(self, start: Cursor, end: Cursor | None = None) -> TurnSegment:
        """The part from ``start`` up to ``end`` (the rest of the turn when ``None``; only
        that last part carries the notices and the footer)."""
        return TurnSegment(self, start, end)

    def pieces(self, start: Cursor, end: Cursor | None) -> list[Piece]:
        """What the part from ``start`` to ``end`` shows, in order, for each front end's
        own rendering: (kind, value) with kind one of ``switch``, ``header`` (the step),
        ``text``, ``tool`` (a ``ToolBlock``), ``status``, ``notice``, ``footer``."""
        pieces: list[Piece] = []
        # a part that ends where a step begins (offset 0) holds nothing of that step
        last = len(self.steps) if end is None else min(end.step + (end.offset > 0),
                                                       len(self.steps))
        for index in range(start.step, last):
            step = self.steps[index]
            opening = start.offset if index == start.step else 0
            if opening == 0:
                if step.switch:
                    pieces.append(("switch", step.switch))
                pieces.append(("header", step))
                if step.thinking:
                    pieces.append(("thinking", step))
            whole = end is None or index < end.step
            stop = None if whole or end is None else end.offset
            body = step.body()[opening:stop]
            if body:
                pieces.append(("text", body))
            if whole:
                if step.hidden:
                    pieces.append(("status", step.hidden_note()))
                pieces += [("tool", block) for block in step.tools]
                if step.status:
                    pieces.append(("status", step.status))
        if end is None:
            pieces += [("notice", notice) for notice in self.notices]
            if self.footer:
                pieces.append(("footer", self.footer))
        return pieces

    def _repr_markdown_(self) -> str:
        return self.segment(Cursor())._repr_markdown_()

    def __repr__(self) -> str:
        return repr(self.segment(Cursor()))


@dataclass(frozen=True)
class TurnSegment:
    """One display's worth of a turn: Markdown for notebooks, plain text for terminals."""

    output: TurnOutput
    start: Cursor
    end: Cursor | None

    def _repr_markdown_(self) -> str:
        return "\n\n".join(_markdown(kind, value)
                             for kind, value in self.output.pieces(self.start, self.end))

    def __repr__(self) -> str:
        return "\n".join(_plain(kind, value)
                         for kind, value in self.output.pieces(self.start, self.end))


def _markdown(kind: str, value: Any) -> str:
    if kind == "switch":
        return f"**⇄ {value}**"
    if kind == "header":
        return f"<sub>{value.header_markdown()}</sub>"
    if kind == "tool":
        return str(value.markdown())
    if kind == "thinking":
        return str(value.thinking_markdown())
    if kind == "status":
        return f"<sub>{value}</sub>"
    if kind == "notice":
        return f"> {value}"
    if kind == "footer":
        return f"<sub>{without_maths(value)}</sub>"  # a cost stays a cost, never maths
    return str(value)


def _plain(kind: str, value: Any) -> str:
    if kind == "switch":
        return f"== {value} =="
    if kind == "header":
        return f"[{value.header_plain()}]"
    if kind == "tool":
        return str(value.plain())
    if kind == "thinking":
        return str(value.thinking_plain())
    if kind == "status":
        return f"({value})"
    if kind == "notice":
        return f"! {value}"
    if kind == "footer":
        return f"-- {value}"
    return str(value)


class _Empty:
    """What a display dropped by a retry is left showing: nothing."""

    def _repr_markdown_(self) -> str:
        return ""

    def __repr__(self) -> str:
        return ""


_EMPTY = _Empty()


class TurnView:
    """Listens to one turn's events and keeps its displays up to date."""

    def __init__(
        self, *, live: bool = True, show: bool = True, show_cost: bool = True,
        show_answer: bool = True, clock: Callable[[], float] = time.monotonic,
        schedule: Schedule | None = None,
        display: Callable[..., Any] | None = None,
    ) -> None:
        """``live``: keep the turn's displays current as events come; ``show=False``: display
        nothing, only build ``output`` (a subagent's transcript); ``show_answer=False``:
        leave the streamed text out (the planner's JSON, shown parsed instead);
        ``schedule(delay, fn)``: run ``fn`` on the main thread later (the trailing render;
        without it, held-back text waits for the next event); ``display``: what shows a
        display and returns its handle (IPython's ``display``, or a terminal's), closed
        when the turn ends if it has a ``close``."""
        if display is None:
            from IPython.display import display as ipython_display

            display = ipython_display

        self.output = TurnOutput()
        self.live = live and show
        self.show = show
        self.show_cost = show_cost
        self.show_answer = show_answer
        self._throttle = Throttle(MAX_UPDATES_PER_SECOND, self._draw, schedule, clock)
        self._retries = 0
        self._pending_switch = ""
        #: where the live display starts; the displays before it are finished and left alone
        self._start = Cursor()
        #: the finished displays of the current step (blanked if the step is retried)
        self._step_handles: list[Any] = []
        #: the step text's length when no paragraph break was found to freeze at
        self._no_break_at = 0
        #: a step that started and opens a new display at the next render
        self._pending_step: Cursor | None = None
        self._display: Callable[..., Any] = display
        self._handle = (display(self.output.segment(self._start), display_id=True)
                        if self.live else None)

    def __call__(self, event: Event) -> None:
        output = self.output
        if isinstance(event, ModelSwitched):
            self._pending_switch = str(event)
        elif isinstance(event, StepStarted):
            output.steps.append(_Step(model=str(event.model),
                                      badge=role_badge(event.role, event.reason),
                                      switch=self._pending_switch))
            self._pending_switch = ""
            if len(output.steps) > 1:
                # the step before is complete and its display stays; this step opens a new
                # one at the next render (its first text, or within the rate limit): a
                # render costs the kernel's main thread milliseconds the next call waits for
                self._pending_step = Cursor(len(output.steps) - 1, 0)
                self._render()
            else:
                self._render(force=True)
        elif isinstance(event, Notice):
            output.notices.append(event.text)
            self._render(force=True)
        elif isinstance(event, TurnFinished):
            self._finish_turn(event)
        elif output.steps:  # the rest belongs to the current step
            self._step_event(output.steps[-1], event)

    def _step_event(self, step: _Step, event: Event) -> None:
        if isinstance(event, AnswerDelta):
            if self.show_answer:
                first = not step.text
                step.add_text(event.text)
                self._freeze_paragraphs(step)
                self._render(force=first)  # the first words of a step show at once
        elif isinstance(event, ThinkingDelta):
            if self.show_answer:
                first = not step.thinking
                step.add_thinking(event.text)
                self._render(force=first)
        elif isinstance(event, StepRestarted):
            self._retries += 1
            step.clear_text()
            self._unfreeze_step()
            step.status = "retrying after a technical error…"
            self._render(force=True)
        elif isinstance(event, StepFinished):
            step.status = ""
            step.thinking_done = True
        elif isinstance(event, ToolCallStarted):
            # the step's display must exist before the tool runs, so that what the tool
            # displays comes below it; the block itself is rate-limited like text (a render
            # costs the main thread milliseconds in a kernel, and the tool waits for them)
            step.tools.append(ToolBlock(event.call))
            self._open_pending_step()
            self._render()
        elif isinstance(event, ToolCallFinished):
            for block in step.tools:
                if block.call.id == event.call.id and block.result is None:
                    block.result, block.failure = event.result, event.failure
                    block.seconds = event.seconds
            self._render()

    def _finish_turn(self, event: TurnFinished) -> None:
        output = self.output
        if event.status == "error" and not output.steps:
            return  # nothing was shown; the error line says it all
        # an unknown price is left out of the footer; %goose usage says which model lacks one
        cost = format_cost(event.cost) if self.show_cost and event.cost is not None else ""
        output.footer = format_footer(event.steps, event.usage, event.seconds, self._retries,
                                      event.tool_calls, cost)
        if event.budget_left:
            output.footer += f" · {event.budget_left}"
        if event.status == "interrupted":
            output.footer = f"interrupted · {output.footer}"
        elif event.status == "error":
            output.footer = f"failed · {output.footer}"
        self.finish()

    def _render(self, force: bool = False) -> None:
        if self._handle is not None:
            self._throttle.request(force)

    def _draw(self) -> None:
        if self._pending_step is not None:
            self._open_pending_step()  # the new display shows everything since
        elif self._handle is not None:
            self._handle.update(self.output.segment(self._start))

    def _open_pending_step(self) -> None:
        if self._pending_step is not None:
            at, self._pending_step = self._pending_step, None
            self._freeze(at, within_step=False)

    def _freeze(self, at: Cursor, within_step: bool) -> None:
        """End the live display at ``at`` (its last update) and go on in a new one."""
        if self._handle is None:
            return
        # a new step's display takes over: the old one already shows what it keeps unless
        # something was held back, or notices (which move to the new display) were shown
        if within_step or self._throttle.held or self.output.notices:
            self._handle.update(self.output.segment(self._start, at))
        self._step_handles = [*self._step_handles, self._handle] if within_step else []
        self._start = at
        self._no_break_at = 0
        self._handle = self._display(self.output.segment(at), display_id=True)
        self._throttle.drew()

    def _freeze_paragraphs(self, step: _Step) -> None:
        """Past ``FREEZE_CHARS`` of live text, freeze it up to its last paragraph break that
        is not inside a code block."""
        if self._handle is None:
            return
        self._open_pending_step()
        index = len(self.output.steps) - 1
        opening = self._start.offset if self._start.step == index else 0
        body = step.body()
        if len(body) - max(opening, self._no_break_at) < FREEZE_CHARS:
            return
        cut = body.rfind("\n\n", opening)
        while cut > opening and len(_FENCE.findall(body, opening, cut)) % 2:
            cut = body.rfind("\n\n", opening, cut)  # inside a code block: an earlier break
        if cut <= opening:
            self._no_break_at = len(body)
            return
        self._freeze(Cursor(index, cut + 2), within_step=True)

    def _unfreeze_step(self) -> None:
        """A retried step's partial text is dropped: so are the displays it was frozen into,
        and the live display starts at the step again."""
        if self._handle is None or not self._step_handles or self._pending_step is not None:
            return  # (a step not opened yet has no displays of its own)
        for handle in self._step_handles:
            handle.update(_EMPTY)
        self._step_handles = []
        self._start = Cursor(len(self.output.steps) - 1, 0)

    def finish(self) -> None:
        """The final, complete render (or the only one, where updates are not live)."""
        self._throttle.drew()
        if self._handle is not None:
            self._open_pending_step()
            self._handle.update(self.output.segment(self._start))
            close = getattr(self._display, "close", None)
            if close is not None:
                close()
        elif self.show:
            from IPython.display import display

            display(self.output)
