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

import time
from collections.abc import Callable
from dataclasses import dataclass, field

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
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from goose_nb.messages import Usage

MAX_UPDATES_PER_SECOND = 15
ESCAPED_DOLLAR = "\\$"


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
    tools: list[ToolBlock] = field(default_factory=list)
    status: str = ""

    def header_markdown(self) -> str:
        badge = f"**{self.badge}** · " if self.badge else ""
        return f"{badge}`{self.model}`"

    def header_plain(self) -> str:
        return f"{self.badge} · {self.model}" if self.badge else self.model


class TurnOutput:
    """The rendered state of a turn; what the display handle shows."""

    def __init__(self) -> None:
        self.steps: list[_Step] = []
        self.notices: list[str] = []
        self.footer = ""

    def _repr_markdown_(self) -> str:
        parts: list[str] = []
        for step in self.steps:
            if step.switch:
                parts.append(f"**⇄ {step.switch}**")
            parts.append(f"<sub>{step.header_markdown()}</sub>")
            body = "".join(step.text)
            if body:
                parts.append(body)
            parts += [block.markdown() for block in step.tools]
            if step.status:
                parts.append(f"<sub>{step.status}</sub>")
        parts += [f"> {notice}" for notice in self.notices]
        if self.footer:
            # "$" starts maths in Jupyter's Markdown: escaped, a cost stays a cost
            parts.append(f"<sub>{self.footer.replace('$', ESCAPED_DOLLAR)}</sub>")
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        parts: list[str] = []
        for step in self.steps:
            if step.switch:
                parts.append(f"== {step.switch} ==")
            parts.append(f"[{step.header_plain()}]")
            body = "".join(step.text)
            if body:
                parts.append(body)
            parts += [block.plain() for block in step.tools]
            if step.status:
                parts.append(f"({step.status})")
        parts += [f"! {notice}" for notice in self.notices]
        if self.footer:
            parts.append(f"-- {self.footer}")
        return "\n".join(parts)


class TurnView:
    """Listens to one turn's events and keeps its display up to date."""

    def __init__(
        self, *, live: bool = True, show: bool = True, show_cost: bool = True,
        show_answer: bool = True, clock: Callable[[], float] = time.monotonic,
        schedule: Callable[[float, Callable[[], None]], None] | None = None,
    ) -> None:
        """``live``: update one display in place as events come; ``show=False``: display
        nothing, only build ``output`` (a subagent's transcript); ``show_answer=False``:
        leave the streamed text out (the planner's JSON, shown parsed instead);
        ``schedule(delay, fn)``: run ``fn`` on the main thread later (the trailing render;
        without it, held-back text waits for the next event)."""
        from IPython.display import display

        self.output = TurnOutput()
        self.live = live and show
        self.show = show
        self.show_cost = show_cost
        self.show_answer = show_answer
        self._clock = clock
        self._schedule = schedule
        self._last_render = 0.0
        #: text arrived that is not rendered yet, and whether a trailing render is set
        self._dirty = False
        self._flush_scheduled = False
        self._retries = 0
        self._pending_switch = ""
        self._handle = display(self.output, display_id=True) if self.live else None

    def __call__(self, event: Event) -> None:
        output = self.output
        if isinstance(event, ModelSwitched):
            self._pending_switch = str(event)
        elif isinstance(event, StepStarted):
            output.steps.append(_Step(model=str(event.model),
                                      badge=role_badge(event.role, event.reason),
                                      switch=self._pending_switch))
            self._pending_switch = ""
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
                step.text.append(event.text)
                self._render(force=first)  # the first words of a step show at once
        elif isinstance(event, StepRestarted):
            self._retries += 1
            step.text.clear()
            step.status = "retrying after a technical error…"
            self._render(force=True)
        elif isinstance(event, StepFinished):
            step.status = ""
        elif isinstance(event, ToolCallStarted):
            step.tools.append(ToolBlock(event.call))
            self._render(force=True)
        elif isinstance(event, ToolCallFinished):
            for block in step.tools:
                if block.call.id == event.call.id and block.result is None:
                    block.result, block.failure = event.result, event.failure
                    block.seconds = event.seconds
            self._render(force=True)

    def _finish_turn(self, event: TurnFinished) -> None:
        output = self.output
        if event.status == "error" and not output.steps:
            return  # nothing was shown; the error line says it all
        # an unknown price is left out of the footer; %goose usage says which model lacks one
        cost = format_cost(event.cost) if self.show_cost and event.cost is not None else ""
        output.footer = format_footer(event.steps, event.usage, event.seconds, self._retries,
                                      event.tool_calls, cost)
        if event.status == "interrupted":
            output.footer = f"interrupted · {output.footer}"
        elif event.status == "error":
            output.footer = f"failed · {output.footer}"
        self.finish()

    def _render(self, force: bool = False) -> None:
        if self._handle is None:
            return
        now = self._clock()
        wait = self._last_render + 1 / MAX_UPDATES_PER_SECOND - now
        if not force and wait > 0:
            self._dirty = True
            if self._schedule is not None and not self._flush_scheduled:
                self._flush_scheduled = True
                self._schedule(wait, self._flush)
            return
        self._last_render = now
        self._dirty = False
        self._handle.update(self.output)

    def _flush(self) -> None:
        """The trailing render: what the rate limit held back."""
        self._flush_scheduled = False
        if self._dirty:
            self._render(force=True)

    def finish(self) -> None:
        """The final, complete render (or the only one, where updates are not live)."""
        self._dirty = False
        if self._handle is not None:
            self._handle.update(self.output)
        elif self.show:
            from IPython.display import display

            display(self.output)
