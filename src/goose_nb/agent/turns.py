"""What a turn leaves behind: its record, its steps, and how it is run.

``TurnRecord`` and ``StepRecord`` are what the session remembers of each turn (the timeline,
``%goose status`` and the subagent summaries read them); ``TurnOptions`` are the knobs a
recipe or a subagent sets for one run; ``Conversation`` is the state a turn reads and writes,
which the session is for the main agent and each subagent has its own of.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from goose_nb.events import Event, Role, TurnStatus
from goose_nb.failures import StepOutcome
from goose_nb.messages import Message, ModelRef, ToolResult, Usage

if TYPE_CHECKING:
    from goose_nb.agent.lead_worker import LeadWorkerPolicy
    from goose_nb.budget import Budget
    from goose_nb.tools.base import Toolset

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
    #: the turn stopped before a step its budget could not pay for (``budget.py``)
    stopped_by_budget: bool = False
    #: the parsed answer when the run asked for JSON matching a schema (recipes)
    structured: Any = None

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
class TurnState:
    """What the current turn has produced so far (kept when it is interrupted)."""

    messages: list[Message]
    partial_text: list[str] = field(default_factory=list)
    pending_results: list[ToolResult] = field(default_factory=list)
    #: models of unknown price the user let run outside the budget, for this turn
    unbudgeted: set[ModelRef] = field(default_factory=set)

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


def cell_budget(amount: float) -> Budget:
    """A run's own budget of ``amount`` dollars; a one-line error for a bad amount."""
    from goose_nb.budget import Budget, parse_budget
    from goose_nb.errors import GooseError

    try:
        return Budget("cell", parse_budget(str(amount), "budget"))
    except ValueError as exc:
        raise GooseError(str(exc)) from None


@dataclass(frozen=True)
class TurnOptions:
    """How one run differs from a plain ``%%goose`` turn.

    ``instructions`` join the system prompt (a recipe's instructions); ``model`` pins every
    step to one model, bypassing lead/worker (a recipe's settings); ``role_models`` give
    lead/worker models of their own for this run (a subagent task naming its lead);
    ``response_schema`` asks for a JSON answer matching it, asking again once if it does
    not; ``toolsets`` add tools for this run only (a recipe's extensions); ``budget`` is
    the run's own spending limit, beside the session's.
    """

    instructions: str = ""
    model: ModelRef | None = None
    role_models: dict[Role, ModelRef] = field(default_factory=dict)
    temperature: float | None = None
    max_steps: int | None = None
    response_schema: dict[str, Any] | None = None
    toolsets: tuple[Toolset, ...] = ()
    #: what this run may spend (a cell's ``--budget``, shared by its subagents)
    budget: Budget | None = None


class Conversation(Protocol):
    """The state a turn reads and writes: the session's own, or a subagent's."""

    history: list[Message]
    turns: list[TurnRecord]
    policy: LeadWorkerPolicy | None
    context_digest: str

    def emit(self, event: Event) -> None: ...


@dataclass
class PrivateConversation:
    """A conversation of its own (a subagent's): fresh history, own policy, own events."""

    policy: LeadWorkerPolicy | None = None
    listener: Callable[[Event], None] | None = None
    history: list[Message] = field(default_factory=list)
    turns: list[TurnRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    context_digest: str = ""

    def emit(self, event: Event) -> None:
        self.events.append(event)
        if self.listener is not None:
            self.listener(event)
