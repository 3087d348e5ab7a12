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
#: why a role takes a step: the first turns, the worker's turns, fallback turns, and the
#: rest of a worker turn that reached the failure threshold
Reason = Literal["initial", "worker", "fallback", "escalation"]
TurnStatus = Literal["ok", "error", "interrupted"]


@dataclass(frozen=True, slots=True)
class TurnStarted:
    turn: int
    prompt: str


@dataclass(frozen=True, slots=True)
class StepStarted:
    """A model call begins. ``role`` and ``reason`` are None when lead/worker mode is off."""

    turn: int
    step: int
    model: ModelRef
    role: Role | None = None
    reason: Reason | None = None


@dataclass(frozen=True, slots=True)
class ModelSwitched:
    """The next step goes to the other role (emitted just before its ``StepStarted``)."""

    from_role: Role
    to_role: Role
    reason: str

    def __str__(self) -> str:
        return f"{self.from_role} → {self.to_role}: {self.reason}"


@dataclass(frozen=True, slots=True)
class FallbackStarted:
    """The worker's consecutive failures reached the threshold: the lead takes over."""

    failures: int


@dataclass(frozen=True, slots=True)
class FallbackEnded:
    """Fallback is over: the worker resumes ("recovery")."""


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    turn: int
    step: int
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    """A piece of the model's reasoning: shown apart from the answer, never in it."""

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
class SubagentStarted:
    task_id: str
    prompt: str


@dataclass(frozen=True, slots=True)
class SubagentFinished:
    task_id: str
    status: str
    seconds: float


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
    cost: float | None = None
    #: what is left of the run's own budget, for the footer ("$0.06 of $0.10 left")
    budget_left: str = ""


Event = (
    TurnStarted
    | StepStarted
    | ModelSwitched
    | FallbackStarted
    | FallbackEnded
    | AnswerDelta
    | ThinkingDelta
    | StepRestarted
    | StepFinished
    | ToolCallStarted
    | ToolCallFinished
    | StepClassified
    | StepFailed
    | SubagentStarted
    | SubagentFinished
    | Notice
    | TurnFinished
)
