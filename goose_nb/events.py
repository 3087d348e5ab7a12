"""Events a session emits while it works.

The agent emits them, the display and the log listen; the agent never imports the display.
They are small frozen dataclasses: cheap to create for every streamed delta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from goose_nb.failures import Failure, StepOutcome
from goose_nb.messages import ModelRef, ToolCall, ToolResult, Usage

Role = Literal["lead", "worker"]
TurnStatus = Literal["ok", "error", "interrupted"]


@dataclass(frozen=True, slots=True)
class TurnStarted:
    turn: int
    prompt: str


@dataclass(frozen=True, slots=True)
class StepStarted:
    """A model call begins. ``role`` is None when lead/worker mode is off."""

    turn: int
    step: int
    model: ModelRef
    role: Role | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    turn: int
    step: int
    text: str


@dataclass(frozen=True, slots=True)
class StepRestarted:
    """A transient error: the step is retried and its partial answer discarded."""

    turn: int
    step: int
    reason: str


@dataclass(frozen=True, slots=True)
class StepFinished:
    turn: int
    step: int
    model: ModelRef
    usage: Usage
    tool_calls: int = 0


@dataclass(frozen=True, slots=True)
class ToolCallStarted:
    turn: int
    step: int
    call: ToolCall


@dataclass(frozen=True, slots=True)
class ToolCallFinished:
    turn: int
    step: int
    call: ToolCall
    result: ToolResult
    failure: Failure | None
    seconds: float


@dataclass(frozen=True, slots=True)
class StepClassified:
    """The outcome of a step, as ``failures.classify_step`` judged it."""

    turn: int
    step: int
    role: Role | None
    outcome: StepOutcome


@dataclass(frozen=True, slots=True)
class StepFailed:
    """One failure of a failed step (a step may have several)."""

    turn: int
    step: int
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should see that is neither answer nor error."""

    text: str
    level: Literal["info", "warning"] = "info"


@dataclass(frozen=True, slots=True)
class TurnFinished:
    turn: int
    status: TurnStatus
    steps: int
    usage: Usage
    seconds: float
    error: str | None = None
    tool_calls: int = 0


Event = (
    TurnStarted
    | StepStarted
    | AnswerDelta
    | StepRestarted
    | StepFinished
    | ToolCallStarted
    | ToolCallFinished
    | StepClassified
    | StepFailed
    | Notice
    | TurnFinished
)
