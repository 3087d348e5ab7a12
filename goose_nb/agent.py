"""The turn runner: one user prompt in, events out, the session's history updated.

A turn either completes (its messages join the history), fails (the history is left as it
was before the prompt, so the user can simply run the cell again), or is interrupted (the
prompt and the partial answer are kept, marked as interrupted).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from goose_nb.errors import GooseError, ProviderError
from goose_nb.events import (
    AnswerDelta,
    Role,
    StepFinished,
    StepRestarted,
    StepStarted,
    TurnFinished,
    TurnStarted,
    TurnStatus,
)
from goose_nb.messages import (
    ChatRequest,
    Message,
    ModelRef,
    ModelResponse,
    ResponseComplete,
    StreamRestarted,
    TextDelta,
    Usage,
)
from goose_nb.prompts import system_prompt
from goose_nb.providers.http import stream_with_retries

if TYPE_CHECKING:
    from goose_nb.session import Session

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

    @property
    def usage(self) -> Usage:
        total = Usage()
        for step in self.steps:
            total = total + step.usage
        return total

    def _repr_markdown_(self) -> str:
        return self.answer

    def __repr__(self) -> str:
        return f"TurnRecord(number={self.number}, status={self.status!r}, answer={self.answer!r})"


class Agent:
    """Runs turns for a session. Holds no state of its own: all of it is the session's."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def run_turn(self, prompt: str) -> TurnRecord:
        session = self.session
        record = TurnRecord(number=len(session.turns) + 1, prompt=prompt)
        session.emit(TurnStarted(record.number, prompt))
        started = time.perf_counter()
        user_message = Message.user(prompt)
        partial: list[str] = []
        try:
            response = await self._step(record, 1, [*session.history, user_message], partial)
            record.answer = response.text
            session.history.extend([user_message, response.as_message()])
        except asyncio.CancelledError:
            record.status = "interrupted"
            record.answer = "".join(partial)
            text = f"{record.answer}\n\n{INTERRUPTED_MARK}".strip()
            session.history.extend([user_message, Message(role="assistant", text=text)])
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
                             record.seconds, record.error)
            )
        return record

    async def _step(
        self, record: TurnRecord, step: int, messages: list[Message], partial: list[str]
    ) -> ModelResponse:
        """One model call, streamed, retried on transient errors as a whole."""
        session = self.session
        model, provider = await session.model_for_role(None)
        step_record = StepRecord(step=step, model=model, role=None, reason="")
        record.steps.append(step_record)
        session.emit(StepStarted(record.number, step, model))
        request = ChatRequest(model=model.model, system=system_prompt(), messages=messages)
        response: ModelResponse | None = None
        async for event in stream_with_retries(lambda: provider.stream(request), session.retry):
            if isinstance(event, TextDelta):
                partial.append(event.text)
                session.emit(AnswerDelta(record.number, step, event.text))
            elif isinstance(event, StreamRestarted):
                partial.clear()
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
