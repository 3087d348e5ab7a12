"""The lead/worker policy: which model takes the next step, and why.

A pure state machine, with no I/O: the agent tells it when a turn starts (and whether the
user's prompt corrects the previous answer), how each step went, and when the turn ends; it
answers which role takes the next step and returns the events that explain its decisions.
The rules are behaviour.md §2:

- turns 1..``lead_turns`` go to the lead ("initial"), later turns to the worker ("worker");
- only the worker's failures count, as *consecutive* failures: a failed worker step +1, a
  worker step whose tools all succeeded resets to 0, a text-only answer changes nothing; the
  next prompt judges the previous worker turn: a correction +1, anything else resets to 0;
- reaching ``failure_threshold`` starts fallback at once: the very next step, even in the
  middle of a turn, goes to the lead ("escalation"); reached by a correction, the turn that
  prompt starts is the first fallback turn ("fallback");
- fallback lasts ``fallback_turns`` *clean* fallback turns (the escalated rest of a turn
  counts as one; a turn is clean when its last step is); a correction of a fallback turn
  gives one turn back to the countdown, never above ``fallback_turns``; when the countdown
  is used up, the next turn goes back to the worker ("recovery") with the count at 0. With
  ``fallback_turns=0`` only the rest of the failing turn goes to the lead.

Recovery is decided when the next turn starts, after that turn's prompt has judged the last
fallback turn, so a correction of the last fallback turn keeps the lead instead of flipping
to the worker and straight back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from goose_nb.events import FallbackEnded, FallbackStarted, ModelSwitched, Reason, Role
from goose_nb.failures import StepOutcome

TurnMode = Literal["initial", "worker", "fallback"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The role for the next step and why."""

    role: Role
    reason: Reason


PolicyEvent = ModelSwitched | FallbackStarted | FallbackEnded


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    lead_turns: int = 3
    failure_threshold: int = 2
    fallback_turns: int = 2

    def __post_init__(self) -> None:
        if self.lead_turns < 0 or self.fallback_turns < 0 or self.failure_threshold < 1:
            raise ValueError(f"invalid lead/worker settings: {self}")


@dataclass(frozen=True, slots=True)
class PolicyState:
    """Everything the policy remembers; equal states behave identically."""

    turn: int = 0
    mode: TurnMode | None = None
    failures: int = 0
    in_fallback: bool = False
    fallback_left: int = 0
    escalated: bool = False
    last_role: Role | None = None
    last_step_failed: bool = False
    steps_this_turn: int = 0
    switch_reason: str = ""


class LeadWorkerPolicy:
    """Decides lead or worker for every step. Feed it, in order: ``start_turn``, then for
    each step ``choose`` and ``record_step``, then ``end_turn``."""

    def __init__(self, config: PolicyConfig | None = None) -> None:
        self.config = config or PolicyConfig()
        self.state = PolicyState()

    # configuration and state ---------------------------------------------------------

    def configure(self, config: PolicyConfig) -> None:
        """New settings from the notebook, keeping the session's state where it fits."""
        self.config = config
        state = self.state
        # outside fallback the count stays below the threshold (reaching it *is* fallback):
        # a lowered threshold must not leave a count that the next failure pushes past it
        limit = config.failure_threshold if state.in_fallback else config.failure_threshold - 1
        self.state = replace(
            state,
            failures=min(state.failures, limit),
            fallback_left=min(state.fallback_left, config.fallback_turns),
        )

    def reset(self) -> None:
        self.state = PolicyState()

    def snapshot(self) -> PolicyState:
        return self.state

    def restore(self, state: PolicyState) -> None:
        """Undo a turn that failed for technical reasons: it never happened."""
        self.state = state

    def describe(self) -> str:
        """The current state in a few words, for the timeline and ``%goose status``."""
        state, config = self.state, self.config
        if state.in_fallback:
            return f"fallback: {state.fallback_left} of {_turns(config.fallback_turns)} left"
        if state.turn < config.lead_turns:
            left = config.lead_turns - state.turn
            return f"lead: {left} initial turn{'' if left == 1 else 's'} left"
        return f"worker; {state.failures} failure{'' if state.failures == 1 else 's'} " \
               f"of {config.failure_threshold}"

    # the turn cycle ------------------------------------------------------------------

    def start_turn(self, correction: bool) -> list[PolicyEvent]:
        """A new prompt arrives; ``correction`` says it tells the agent it was wrong."""
        events: list[PolicyEvent] = []
        state = self._judge_previous_turn(self.state, correction, events)
        started_now = any(isinstance(e, FallbackStarted) for e in events)
        if state.in_fallback and state.fallback_left <= 0 and not started_now:
            events.append(FallbackEnded())
            state = replace(state, in_fallback=False, failures=0, switch_reason="recovered")
        turn = state.turn + 1
        if turn <= self.config.lead_turns:
            mode: TurnMode = "initial"
            if state.last_role == "worker" and not state.switch_reason:
                # GOOSE_LEAD_TURNS was raised past this turn while the worker had it
                state = replace(state, switch_reason="initial turns")
        elif state.in_fallback:
            mode = "fallback"
        else:
            mode = "worker"
            if state.last_role == "lead" and not state.switch_reason:
                state = replace(state, switch_reason="initial turns done")
        self.state = replace(state, turn=turn, mode=mode, escalated=False, steps_this_turn=0,
                             last_step_failed=False)
        return events

    def _judge_previous_turn(
        self, state: PolicyState, correction: bool, events: list[PolicyEvent]
    ) -> PolicyState:
        """The new prompt judges the previous turn, if there was one."""
        if state.mode is None:
            return state
        if state.in_fallback:
            if correction:  # the lead's fallback answer was wrong too: one more turn
                left = min(self.config.fallback_turns, state.fallback_left + 1)
                return replace(state, fallback_left=left)
            return state
        if state.last_role != "worker":
            return state
        if not correction:
            return replace(state, failures=0)
        failures = state.failures + 1
        if failures < self.config.failure_threshold:
            return replace(state, failures=failures)
        events.append(FallbackStarted(failures))
        return replace(state, failures=failures, in_fallback=True,
                       fallback_left=self.config.fallback_turns,
                       switch_reason="a user correction" if failures == 1 else
                       f"{failures} failures, the last a user correction")

    def choose(self) -> tuple[Decision, list[PolicyEvent]]:
        """The role for the next step of the current turn, and a switch event when it
        differs from the role of the step before."""
        state = self.state
        if state.mode == "initial":
            decision = Decision("lead", "initial")
        elif state.in_fallback:
            decision = Decision("lead", "escalation" if state.escalated else "fallback")
        else:
            decision = Decision("worker", "worker")
        events: list[PolicyEvent] = []
        if state.last_role is not None and state.last_role != decision.role:
            events.append(ModelSwitched(state.last_role, decision.role, state.switch_reason))
        self.state = replace(state, last_role=decision.role, switch_reason="",
                             steps_this_turn=state.steps_this_turn + 1)
        return decision, events

    def record_step(self, role: Role, outcome: StepOutcome) -> list[PolicyEvent]:
        """How a step went. Technical errors are never reported here: they are not failures."""
        state = replace(self.state, last_step_failed=outcome.failed)
        events: list[PolicyEvent] = []
        if role == "worker" and not state.in_fallback:
            if outcome.kind == "clean":
                state = replace(state, failures=0)
            elif outcome.kind == "failed":
                failures = state.failures + 1
                if failures >= self.config.failure_threshold:
                    events.append(FallbackStarted(failures))
                    state = replace(state, in_fallback=True, escalated=True,
                                    fallback_left=self.config.fallback_turns,
                                    switch_reason=f"{failures} failed step"
                                                  f"{'' if failures == 1 else 's'}")
                state = replace(state, failures=failures)
        self.state = state
        return events

    def end_turn(self, interrupted: bool = False) -> None:
        """The turn is over: a clean fallback turn counts the fallback down."""
        state = self.state
        clean = state.steps_this_turn > 0 and not state.last_step_failed and not interrupted
        if state.in_fallback and clean:
            state = replace(state, fallback_left=max(0, state.fallback_left - 1))
        self.state = replace(state, escalated=False)


def _turns(count: int) -> str:
    return f"{count} turn{'' if count == 1 else 's'}"
