"""The turn loop: one user prompt in, steps until the model answers in text, events out.

Each step is one model call; the tools it asks for run, their results go back, and the
loop goes on until a text-only answer or ``GOOSE_MAX_STEPS``. A turn either completes (its
messages join the history), fails (the history is left as it was before the prompt, so
the cell can simply be run again), or is interrupted (what happened so far is kept, marked
as interrupted, with every pending tool call answered so the history stays valid).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from goose_nb.context import CONTEXT_BUDGET, build_system_prompt, digest_turn, fit_context
from goose_nb.errors import GooseError, ProviderError, TurnInterrupted
from goose_nb.events import (
    AnswerDelta,
    Notice,
    Role,
    StepClassified,
    StepFailed,
    StepFinished,
    StepRestarted,
    StepStarted,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    TurnStarted,
    TurnStatus,
)
from goose_nb.failures import Failure, StepOutcome, classify_step
from goose_nb.messages import (
    ChatRequest,
    Message,
    ModelRef,
    ModelResponse,
    ResponseComplete,
    StreamRestarted,
    TextDelta,
    ToolResult,
    Usage,
)
from goose_nb.providers.http import stream_with_retries

if TYPE_CHECKING:
    from goose_nb.session import Session
    from goose_nb.tools.runner import ToolRunner

INTERRUPTED_MARK = "[interrupted by the user]"


@dataclass
class StepRecord:
    """One model call of a turn, as the session remembers it."""

    step: int
    model: ModelRef
    role: Role | None
    reason: str
    usage: Usage = field(default_factory=Usage)
    tool_calls: int = 0
    retries: int = 0
    outcome: StepOutcome | None = None


@dataclass
class TurnRecord:
    """One turn: its prompt, what answered it, and how it ended."""

    number: int
    prompt: str
    status: TurnStatus = "ok"
    answer: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    hit_step_limit: bool = False

    @property
    def usage(self) -> Usage:
        total = Usage()
        for step in self.steps:
            total = total + step.usage
        return total

    @property
    def tool_calls(self) -> int:
        return sum(step.tool_calls for step in self.steps)

    def _repr_markdown_(self) -> str:
        return self.answer

    def __repr__(self) -> str:
        return f"TurnRecord(number={self.number}, status={self.status!r}, answer={self.answer!r})"


@dataclass
class _TurnState:
    """What the current turn has produced so far (kept when it is interrupted)."""

    messages: list[Message]
    partial_text: list[str] = field(default_factory=list)
    pending_results: list[ToolResult] = field(default_factory=list)

    def interrupted_messages(self) -> list[Message]:
        """This turn's messages made valid for the history after an interrupt."""
        messages = list(self.messages)
        last = messages[-1]
        if last.role == "assistant" and last.tool_calls:
            done = {r.tool_call_id for r in self.pending_results}
            results = [*self.pending_results] + [
                ToolResult(tool_call_id=c.id, name=c.name, content=INTERRUPTED_MARK,
                           is_error=True)
                for c in last.tool_calls if c.id not in done
            ]
            messages.append(Message(role="tool", tool_results=tuple(results)))
        partial = "".join(self.partial_text)
        messages.append(Message(role="assistant", text=f"{partial}\n\n{INTERRUPTED_MARK}".strip()))
        return messages


class Agent:
    """Runs turns for a session. Holds no state of its own: all of it is the session's."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def run_turn(self, prompt: str) -> TurnRecord:
        session = self.session
        record = TurnRecord(number=len(session.turns) + 1, prompt=prompt)
        session.emit(TurnStarted(record.number, prompt))
        started = time.perf_counter()
        state = _TurnState([Message.user(prompt)])
        try:
            await self._loop(record, state)
            session.history.extend(state.messages)
        except (asyncio.CancelledError, TurnInterrupted):
            # TurnInterrupted: the user interrupted tool code on the main thread; the
            # cancellation that follows may arrive a moment later
            record.status = "interrupted"
            record.answer = "".join(state.partial_text)
            session.history.extend(state.interrupted_messages())
            raise
        except GooseError as exc:
            record.status = "error"
            record.error = str(exc)
            raise
        except Exception as exc:  # a bug, not a user error: recorded, then shown in full
            record.status = "error"
            record.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            record.seconds = time.perf_counter() - started
            session.turns.append(record)
            session.emit(
                TurnFinished(record.number, record.status, len(record.steps), record.usage,
                             record.seconds, record.error, record.tool_calls)
            )
        return record

    async def _loop(self, record: TurnRecord, state: _TurnState) -> None:
        session = self.session
        runner = session.tool_runner()
        tools = runner.specs()
        max_steps = session.settings.max_steps
        for step in range(1, max_steps + 1):
            response = await self._step(record, step, state, tools)
            state.messages.append(response.as_message())
            state.partial_text = []
            record.answer = response.text or record.answer
            outcome = await self._run_tools(record, step, response, runner, state)
            record.steps[-1].outcome = outcome
            session.emit(StepClassified(record.number, step, record.steps[-1].role, outcome))
            for failure in outcome.failures:
                session.emit(StepFailed(record.number, step, failure.kind, failure.detail))
            if outcome.kind == "text_only":
                return
        record.hit_step_limit = True
        session.emit(Notice(
            f"Stopped after {max_steps} steps (GOOSE_MAX_STEPS). Run another cell to let the "
            "agent continue, or raise the limit with %goose config GOOSE_MAX_STEPS=N.",
            "warning",
        ))

    async def _run_tools(
        self, record: TurnRecord, step: int, response: ModelResponse, runner: ToolRunner,
        state: _TurnState,
    ) -> StepOutcome:
        """Run the step's tool calls in order; their results become one ``tool`` message."""
        if not response.tool_calls:
            return classify_step([])
        session = self.session
        failures: list[Failure | None] = []
        state.pending_results = []
        for call in response.tool_calls:
            session.emit(ToolCallStarted(record.number, step, call))
            began = time.perf_counter()
            result, failure = await runner.run(call)
            state.pending_results.append(result)
            failures.append(failure)
            session.emit(ToolCallFinished(record.number, step, call, result, failure,
                                          time.perf_counter() - began))
        state.messages.append(Message(role="tool", tool_results=tuple(state.pending_results)))
        state.pending_results = []
        return classify_step(failures)

    async def _step(
        self, record: TurnRecord, step: int, state: _TurnState, tools: list
    ) -> ModelResponse:
        """One model call, streamed, retried on transient errors as a whole."""
        session = self.session
        model, provider = await session.model_for_role(None)
        step_record = StepRecord(step=step, model=model, role=None, reason="")
        record.steps.append(step_record)
        session.emit(StepStarted(record.number, step, model))
        system, messages = self._fit(model, state, tools)
        request = ChatRequest(model=model.model, system=system, messages=messages, tools=tools)
        response: ModelResponse | None = None
        async for event in stream_with_retries(lambda: provider.stream(request), session.retry):
            if isinstance(event, TextDelta):
                state.partial_text.append(event.text)
                session.emit(AnswerDelta(record.number, step, event.text))
            elif isinstance(event, StreamRestarted):
                state.partial_text.clear()
                step_record.retries += 1
                session.emit(StepRestarted(record.number, step, event.reason))
            elif isinstance(event, ResponseComplete):
                response = event.response
        if response is None:
            raise ProviderError(f"{model} ended its answer without completing it")
        step_record.usage = response.usage
        step_record.tool_calls = len(response.tool_calls)
        session.usage.add(model, response.usage)
        session.emit(StepFinished(record.number, step, model, response.usage,
                                  len(response.tool_calls)))
        return response

    def _fit(self, model: ModelRef, state: _TurnState, tools: list) -> tuple[str, list[Message]]:
        """The system prompt and messages of the next request, trimmed to the window."""
        session = self.session
        limit = session.context_limit(model.model)
        system = build_system_prompt(tools, session.hints(), session.context_digest)
        fitted = fit_context(system=system, history=session.history,
                             turn_messages=state.messages, tools=tools, limit=limit)
        if fitted.dropped_turns:
            session.history[:] = fitted.history
            lines = [digest_turn(turn) for turn in fitted.dropped_turns]
            session.context_digest = "\n".join(filter(None, [session.context_digest, *lines]))
            system = build_system_prompt(tools, session.hints(), session.context_digest)
            count = len(fitted.dropped_turns)
            session.emit(Notice(
                f"Context: the {count} oldest turn{'s' if count > 1 else ''} of this session "
                f"{'were' if count > 1 else 'was'} replaced by a short digest to stay under "
                f"{CONTEXT_BUDGET:.0%} of {model.model}'s {limit:,}-token window.",
                "warning",
            ))
        if fitted.shortened_results:
            state.messages[:] = fitted.turn_messages
            session.emit(Notice(
                f"Context: {fitted.shortened_results} earlier tool output(s) of this turn were "
                "removed from the request to fit the context window.", "warning",
            ))
        if fitted.tokens > int(limit * CONTEXT_BUDGET):
            raise GooseError(
                f"the request is about {fitted.tokens:,} tokens, over {CONTEXT_BUDGET:.0%} of "
                f"{model.model}'s {limit:,}-token window even without earlier turns; shorten "
                "the prompt or set GOOSE_CONTEXT_LIMIT"
            )
        return system, [*session.history, *state.messages]
