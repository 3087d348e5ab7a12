"""The turn loop: one user prompt in, steps until the model answers in text, events out.

Each step is one model call; the tools it asks for run, their results go back, and the
loop goes on until a text-only answer or ``GOOSE_MAX_STEPS``. A turn either completes (its
messages join the history), fails (the history is left as it was before the prompt, so
the cell can simply be run again), or is interrupted (what happened so far is kept, marked
as interrupted, with every pending tool call answered so the history stays valid).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from goose_nb.context import CONTEXT_BUDGET, build_system_prompt, digest_turn, fit_context
from goose_nb.errors import GooseError, ProviderError, ProviderUnavailableError, TurnInterrupted
from goose_nb.events import (
    AnswerDelta,
    Notice,
    Reason,
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
from goose_nb.failures import Failure, StepOutcome, classify_step, is_user_correction
from goose_nb.lead_worker import PolicyEvent
from goose_nb.messages import (
    ChatRequest,
    Message,
    ModelRef,
    ModelResponse,
    ResponseComplete,
    StreamRestarted,
    TextDelta,
    ToolResult,
    ToolSpec,
    Usage,
)
from goose_nb.providers.http import stream_with_retries

if TYPE_CHECKING:
    from goose_nb.providers.base import Provider
    from goose_nb.session import Session
    from goose_nb.tools.runner import ToolRunner

lead_worker_log = logging.getLogger("goose_nb.lead_worker")

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
        policy = session.policy
        before = policy.snapshot() if policy else None
        if policy:
            self._emit_all(policy.start_turn(correction=is_user_correction(prompt)))
        try:
            await self._loop(record, state)
            session.history.extend(state.messages)
            if policy:
                policy.end_turn()
        except (asyncio.CancelledError, TurnInterrupted):
            # TurnInterrupted: the user interrupted tool code on the main thread; the
            # cancellation that follows may arrive a moment later
            record.status = "interrupted"
            record.answer = "".join(state.partial_text)
            session.history.extend(state.interrupted_messages())
            if policy:
                policy.end_turn(interrupted=True)
            raise
        except Exception as exc:
            # the history is left as it was, and so is the lead/worker state
            record.status = "error"
            record.error = str(exc) if isinstance(exc, GooseError) else \
                f"{type(exc).__name__}: {exc}"  # a bug, not a user error: shown in full
            if policy and before is not None:
                policy.restore(before)
            raise
        finally:
            record.seconds = time.perf_counter() - started
            session.turns.append(record)
            session.emit(
                TurnFinished(record.number, record.status, len(record.steps), record.usage,
                             record.seconds, record.error, record.tool_calls,
                             session.turn_cost(record))
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
            step_record = record.steps[-1]
            step_record.outcome = outcome
            session.emit(StepClassified(record.number, step, step_record.role, outcome))
            for failure in outcome.failures:
                session.emit(StepFailed(record.number, step, failure.kind, failure.detail))
            if session.policy and step_record.role:
                self._emit_all(session.policy.record_step(step_record.role, outcome))
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
        self, record: TurnRecord, step: int, state: _TurnState, tools: list[ToolSpec]
    ) -> ModelResponse:
        """One model call on the role the policy chooses; when retries run out on that
        role's model, the step is tried once on the other role's model."""
        session = self.session
        role: Role | None = None
        reason: Reason | None = None
        if session.policy:
            decision, switches = session.policy.choose()
            self._emit_all(switches)
            role, reason = decision.role, decision.reason
        model, provider = await session.model_for_role(role)
        lead_worker_log.info("turn %d step %d: %s (%s) on %s", record.number, step,
                             role or "-", reason or "-", model)
        try:
            return await self._call_model(record, step, state, tools, model, provider, role,
                                          reason)
        except ProviderUnavailableError as exc:
            if role is None:
                raise
            other: Role = "lead" if role == "worker" else "worker"
            other_model, other_provider = await session.model_for_role(other)
            if other_model == model:
                raise
            record.steps.pop()  # the attempt that failed is replaced, not a step of its own
            session.emit(Notice(
                f"{model} is unavailable ({exc}); trying this step once on the {other} "
                f"model {other_model}.", "warning"))
            lead_worker_log.info("turn %d step %d: %s unavailable, trying %s", record.number,
                                 step, model, other_model)
            return await self._call_model(record, step, state, tools, other_model,
                                          other_provider, other, reason)

    async def _call_model(
        self, record: TurnRecord, step: int, state: _TurnState, tools: list[ToolSpec],
        model: ModelRef, provider: Provider, role: Role | None, reason: Reason | None,
    ) -> ModelResponse:
        """Stream one model call, retried on transient errors as a whole."""
        session = self.session
        step_record = StepRecord(step=step, model=model, role=role, reason=reason or "")
        record.steps.append(step_record)
        session.emit(StepStarted(record.number, step, model, role, reason))
        system, messages = self._fit(model, role, state, tools)
        request = ChatRequest(model=model.model, system=system, messages=messages, tools=tools)
        response: ModelResponse | None = None
        state.partial_text = []
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
        session.usage.add(model, response.usage, role)
        session.emit(StepFinished(record.number, step, model, response.usage,
                                  len(response.tool_calls)))
        return response

    def _emit_all(self, events: list[PolicyEvent]) -> None:
        for event in events:
            lead_worker_log.info("%s", event)
            self.session.emit(event)

    def _fit(
        self, model: ModelRef, role: Role | None, state: _TurnState, tools: list[ToolSpec]
    ) -> tuple[str, list[Message]]:
        """The system prompt and messages of the next request, trimmed to the window."""
        session = self.session
        limit = session.context_limit(model.model, role)
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
