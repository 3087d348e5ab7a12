"""The lead/worker policy on its own (behaviour.md §2): scripted turns in, roles and events out.

A script is a list of turns separated by " · " (or spaces). A turn is its step outcomes,
"F" failed, "C" clean (every tool call succeeded), "T" text only, with marks:

- ``!T``: the turn's prompt is a user correction (it judges the previous turn);
- ``T^``: the user interrupted the turn after these steps;
- ``(FF)``: a technical error undid the turn, as the agent does it (snapshot before the
  prompt, restore after the error): its steps ran, then one more step was chosen and its
  model call failed for good. Its letters are shown in parentheses.

``play`` returns the role letters per turn ("L · WWL · L · W") and every policy event of
the turns that happened, and checks on the way the rules that hold for any script: the
decision of every step, the switch events around it, the count and the fallback events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from goose_nb.agent.lead_worker import LeadWorkerPolicy, PolicyConfig, PolicyEvent, PolicyState
from goose_nb.events import FallbackEnded, FallbackStarted, ModelSwitched, Role
from goose_nb.failures import Failure, StepOutcome, is_user_correction

OUTCOMES = {
    "F": StepOutcome("failed", (Failure("python_error", "ZeroDivisionError"),)),
    "C": StepOutcome("clean"),
    "T": StepOutcome("text_only"),
}
LETTER = {"lead": "L", "worker": "W"}


@dataclass(frozen=True)
class Turn:
    steps: str
    correction: bool = False
    interrupted: bool = False
    #: interrupted during the last step's model call: that step was chosen, never recorded
    cut: bool = False
    undone: bool = False
    #: the user's prompt; when given, ``is_user_correction`` decides ``correction``
    prompt: str | None = None

    @property
    def is_correction(self) -> bool:
        return is_user_correction(self.prompt) if self.prompt is not None else self.correction


#: a script: turns, and new settings from the notebook between them
Script = list["Turn | PolicyConfig"]


def parse(script: str) -> Script:
    turns: Script = []
    for token in script.replace("·", " ").split():
        undone = token.startswith("(") and token.endswith(")")
        token = token.strip("()")
        steps = token.strip("!^")
        assert steps and set(steps) <= set("FCT"), f"bad turn {token!r}"
        turns.append(Turn(steps, correction=token.startswith("!"),
                          interrupted=token.endswith("^"), undone=undone))
    return turns


@dataclass(frozen=True)
class Step:
    """A step in the log: the turn number the policy gave it, its role and reason."""

    turn: int
    role: Role
    reason: str


Entry = Step | ModelSwitched | FallbackStarted | FallbackEnded


@dataclass
class Played:
    policy: LeadWorkerPolicy
    turns: list[str] = field(default_factory=list)
    reasons: list[list[str]] = field(default_factory=list)
    #: steps and policy events, in order, of the turns that happened (not the undone ones)
    log: list[Entry] = field(default_factory=list)
    #: the policy's state after each turn (after the restore for an undone turn)
    states: list[PolicyState] = field(default_factory=list)

    @property
    def roles(self) -> str:
        return " · ".join(self.turns)

    @property
    def events(self) -> list[PolicyEvent]:
        return [entry for entry in self.log if not isinstance(entry, Step)]

    def summary(self) -> list[str]:
        return [summarise(event) for event in self.events]


def summarise(event: PolicyEvent) -> str:
    if isinstance(event, FallbackStarted):
        return f"fallback starts ({event.failures})"
    if isinstance(event, FallbackEnded):
        return "fallback ends"
    return str(event)


def play(script: str | Script, policy: LeadWorkerPolicy | None = None,
         **config: int) -> Played:
    """Drive ``policy`` (a fresh one with ``config`` by default) through ``script`` the
    way the agent does, checking every decision against behaviour.md's rules."""
    policy = policy or LeadWorkerPolicy(PolicyConfig(**config))
    played = Played(policy)
    # what the rules say, followed from the outside: the number of turns that happened
    # and whether fallback is on (from the Fallback* events, not from the policy's state)
    turns_done = policy.state.turn
    in_fallback = policy.state.in_fallback
    # a policy that played before: the role of its last step, and whether in fallback
    first_role, first_in_fallback = policy.state.last_role, policy.state.in_fallback
    for item in parse(script) if isinstance(script, str) else script:
        if isinstance(item, PolicyConfig):
            policy.configure(item)
            check_state(policy)
            continue
        turn = item
        before, fallback_before = policy.snapshot(), in_fallback
        log: list[Entry] = []

        def note(events: list[PolicyEvent], *, log: list[Entry] = log) -> bool:
            """Log the events; True when fallback started among them."""
            nonlocal in_fallback
            started = False
            for event in events:
                log.append(event)
                if isinstance(event, FallbackStarted):
                    assert not in_fallback, "fallback started twice"
                    assert event.failures == policy.config.failure_threshold
                    assert policy.state.failures == event.failures
                    in_fallback = started = True
                elif isinstance(event, FallbackEnded):
                    assert in_fallback, "fallback ended without having started"
                    in_fallback = False
            check_state(policy)
            assert policy.state.in_fallback == in_fallback
            return started

        note(policy.start_turn(turn.is_correction))
        number = turns_done + 1
        assert policy.state.turn == number
        initial = number <= policy.config.lead_turns
        letters, reasons = "", []
        escalated = False
        outcomes: list[str | None] = [*turn.steps, None] if turn.undone else [*turn.steps]
        for index, outcome in enumerate(outcomes):
            decision, switches = policy.choose()
            if initial:
                expected = ("lead", "initial")
            elif in_fallback:
                expected = ("lead", "escalation" if escalated else "fallback")
            else:
                expected = ("worker", "worker")
            assert (decision.role, decision.reason) == expected, (turn, index, policy.state)
            note(switches)
            log.append(Step(number, decision.role, decision.reason))
            letters += LETTER[decision.role]
            reasons.append(decision.reason)
            if outcome is None or (turn.cut and index == len(outcomes) - 1):
                break  # the model call failed, or the user interrupted it
            escalated |= note(policy.record_step(decision.role, OUTCOMES[outcome]))
        if turn.undone:
            check_switches(played.log + log, first_role)
            policy.restore(before)
            assert policy.state == before
            in_fallback = fallback_before
            played.turns.append(f"({letters})")
        else:
            policy.end_turn(interrupted=turn.interrupted or turn.cut)
            check_state(policy)
            turns_done = number
            played.log += log
            played.turns.append(letters)
        played.reasons.append(reasons)
        played.states.append(policy.state)
    check_switches(played.log, first_role)
    check_fallback_events_alternate(played.log, first_in_fallback)
    return played


def check_state(policy: LeadWorkerPolicy) -> None:
    state, config = policy.state, policy.config
    assert 0 <= state.failures <= config.failure_threshold, (state, config)
    if not state.in_fallback:
        # reaching the threshold starts fallback at once
        assert state.failures < config.failure_threshold, (state, config)
    assert 0 <= state.fallback_left <= config.fallback_turns, (state, config)


def check_switches(log: list[Entry], previous: Role | None = None) -> None:
    """Exactly one ModelSwitched, from the role of the step before (``previous`` before the
    first) to the role of the step after, wherever the role changes; none anywhere else."""
    pending: list[ModelSwitched] = []
    for entry in log:
        if isinstance(entry, ModelSwitched):
            pending.append(entry)
        elif isinstance(entry, Step):
            if previous is not None and previous != entry.role:
                assert len(pending) == 1, (previous, entry, pending)
                assert (pending[0].from_role, pending[0].to_role) == (previous, entry.role)
                assert pending[0].reason, "a switch always says why"
            else:
                assert pending == [], (previous, entry, pending)
            previous, pending = entry.role, []
    assert pending == [], f"a switch with no step after it: {pending}"


def check_fallback_events_alternate(log: list[Entry], in_fallback: bool = False) -> None:
    """Started, ended, started…: never two of a kind in a row."""
    kinds = [type(e).__name__ for e in log if isinstance(e, (FallbackStarted, FallbackEnded))]
    order = ["FallbackEnded", "FallbackStarted"] if in_fallback else [
        "FallbackStarted", "FallbackEnded"]
    assert kinds == [order[i % 2] for i in range(len(kinds))], kinds


# --------------------------------------------------------------------------- the driver


def test_the_driver_catches_a_missing_switch_event() -> None:
    with pytest.raises(AssertionError):
        check_switches([Step(1, "lead", "initial"), Step(2, "worker", "worker")])
    with pytest.raises(AssertionError):
        check_switches([Step(1, "lead", "initial"), ModelSwitched("worker", "lead", "x"),
                        Step(2, "worker", "worker")])
    with pytest.raises(AssertionError):
        check_switches([Step(1, "lead", "initial"), ModelSwitched("lead", "worker", "x"),
                        Step(2, "lead", "initial")])
    with pytest.raises(AssertionError):
        check_fallback_events_alternate([FallbackStarted(2), FallbackStarted(2)])
    with pytest.raises(AssertionError):
        parse("FX")


# --------------------------------------------------------------------------- the rules

INITIAL_DONE = "lead → worker: initial turns done"
ESCALATED = "worker → lead: 2 failed steps"
RECOVERED = "lead → worker: recovered"
BY_CORRECTION = "worker → lead: 2 failures, the last a user correction"

RULES = [
    # behaviour.md's worked examples
    pytest.param({}, "T T T T T", "L · L · L · W · W", [INITIAL_DONE],
                 id="five-plain-turns-LLLWW"),
    pytest.param({"lead_turns": 1}, "T FFT T T", "L · WWL · L · W",
                 [INITIAL_DONE, "fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="worked-example-two-failing-worker-steps"),
    # counting
    pytest.param({"lead_turns": 0}, "FFCT", "WWLL", ["fallback starts (2)", ESCALATED],
                 id="two-failed-worker-steps-escalate-the-next-step"),
    pytest.param({"lead_turns": 0}, "FCFT · T", "WWWW · W", [],
                 id="a-clean-step-between-two-failures-resets-the-count"),
    pytest.param({"lead_turns": 0}, "FT · !T", "WW · L", ["fallback starts (2)", BY_CORRECTION],
                 id="a-text-only-step-keeps-the-count"),
    pytest.param({"lead_turns": 0}, "FCT · !T", "WWW · W", [],
                 id="a-clean-step-before-the-answer-resets-the-count"),
    pytest.param({"lead_turns": 0}, "FT · FT · FT", "WW · WW · WW", [],
                 id="a-plain-prompt-after-a-failure-resets-the-count"),
    pytest.param({"lead_turns": 0}, "T · !T · !T · T · T", "W · W · L · L · W",
                 ["fallback starts (2)", BY_CORRECTION, "fallback ends", RECOVERED],
                 id="two-corrections-start-fallback-with-the-correcting-turn"),
    pytest.param({"lead_turns": 0}, "FT · !FT", "WW · LL", ["fallback starts (2)", BY_CORRECTION],
                 id="a-correction-after-a-failure-starts-fallback-at-once"),
    pytest.param({}, "T · !T · !T · !T · !T", "L · L · L · W · W", [INITIAL_DONE],
                 id="corrections-of-initial-lead-turns-do-not-count"),
    # fallback and recovery
    pytest.param({"lead_turns": 0}, "FFT · T · T", "WWL · L · W",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="recovery-after-two-clean-fallback-turns"),
    pytest.param({"lead_turns": 0}, "FFT · F · T · T", "WWL · L · L · W",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="a-fallback-turn-ending-in-a-failed-step-does-not-count-down"),
    pytest.param({"lead_turns": 0}, "FFT · FT · T", "WWL · LL · W",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="only-the-last-step-of-a-fallback-turn-decides-if-it-is-clean"),
    pytest.param({"lead_turns": 0}, "FFF · T · T · T", "WWL · L · L · W",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="an-escalated-rest-ending-in-a-failure-does-not-count-down"),
    pytest.param({"lead_turns": 0}, "FFT · !T · T · T", "WWL · L · L · W",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="a-correction-of-a-fallback-turn-gives-one-turn-back"),
    pytest.param({"lead_turns": 0}, "FFF · !T · T · T", "WWL · L · L · W",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="a-correction-never-lifts-the-countdown-above-fallback-turns"),
    pytest.param({"lead_turns": 0}, "FFT · T · !T · T", "WWL · L · L · W",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="a-correction-of-the-last-fallback-turn-keeps-the-lead"),
    pytest.param({"lead_turns": 0}, "FFT · T^ · T · T", "WWL · L · L · W",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="an-interrupted-fallback-turn-does-not-count-down"),
    pytest.param({"lead_turns": 0}, "FFT · T · FFT", "WWL · L · WWL",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED,
                  "fallback starts (2)", ESCALATED],
                 id="after-recovery-the-count-starts-from-zero"),
    # settings at their edges
    pytest.param({"lead_turns": 0}, "T · T", "W · W", [], id="lead-turns-0-starts-on-the-worker"),
    pytest.param({"lead_turns": 0, "fallback_turns": 0}, "FFT · T", "WWL · W",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="fallback-turns-0-escalates-only-the-rest-of-the-failing-turn"),
    pytest.param({"lead_turns": 0, "fallback_turns": 0}, "FFF · T", "WWL · W",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="fallback-turns-0-even-when-the-escalated-rest-fails"),
    pytest.param({"lead_turns": 0, "fallback_turns": 0}, "FFT · !T · T", "WWL · W · W",
                 ["fallback starts (2)", ESCALATED, "fallback ends", RECOVERED],
                 id="fallback-turns-0-a-correction-of-the-escalated-turn-gives-nothing-back"),
    pytest.param({"lead_turns": 0, "fallback_turns": 0}, "T · !T · !T · T", "W · W · L · W",
                 ["fallback starts (2)", BY_CORRECTION, "fallback ends", RECOVERED],
                 id="fallback-turns-0-threshold-reached-by-a-correction-one-lead-turn"),
    pytest.param({"lead_turns": 0, "failure_threshold": 1}, "FT · T · T · T", "WL · L · W · W",
                 ["fallback starts (1)", "worker → lead: 1 failed step", "fallback ends",
                  RECOVERED],
                 id="threshold-1-the-first-failed-step-escalates"),
    pytest.param({"lead_turns": 0, "failure_threshold": 1}, "T · !T · T · T", "W · L · L · W",
                 ["fallback starts (1)", "worker → lead: a user correction",
                  "fallback ends", RECOVERED],
                 id="threshold-1-one-correction-starts-fallback"),
    pytest.param({"lead_turns": 2, "failure_threshold": 3, "fallback_turns": 1},
                 "CT · T · FT · !FT · T · T", "LL · L · WW · WL · W · W",
                 [INITIAL_DONE, "fallback starts (3)", "worker → lead: 3 failed steps",
                  "fallback ends", RECOVERED],
                 id="a-correction-and-a-failed-step-add-up-to-the-threshold"),
]


@pytest.mark.parametrize(("config", "script", "roles", "events"), RULES)
def test_rules(config: dict[str, int], script: str, roles: str, events: list[str]) -> None:
    played = play(script, **config)
    assert played.roles == roles
    assert played.summary() == events


def test_worked_example_two_failing_worker_steps_reasons_and_count() -> None:
    played = play("T FFT T T", lead_turns=1)
    assert played.reasons == [["initial"], ["worker", "worker", "escalation"], ["fallback"],
                              ["worker"]]
    assert [(s.failures, s.in_fallback, s.fallback_left) for s in played.states] == [
        (0, False, 0), (2, True, 1), (2, True, 0), (0, False, 0)]


def test_worked_example_corrections_with_the_users_own_words() -> None:
    prompts = ["Load the data.", "Compute the ratio.", "that's wrong, try again",
               "no, still wrong"]
    assert [is_user_correction(p) for p in prompts] == [False, False, True, True]
    played = play([Turn("T", prompt=p) for p in prompts], lead_turns=1)
    assert played.roles == "L · W · W · L"
    assert played.reasons == [["initial"], ["worker"], ["worker"], ["fallback"]]
    assert [s.failures for s in played.states] == [0, 0, 1, 2]
    assert played.summary() == [INITIAL_DONE, "fallback starts (2)", BY_CORRECTION]


def test_recovery_brings_the_count_back_to_zero() -> None:
    played = play("FFT · T · T", lead_turns=0)
    assert played.states[-1] == PolicyState(turn=3, mode="worker", failures=0,
                                            last_role="worker", steps_this_turn=1)
    [recovered] = [e for e in played.events if isinstance(e, ModelSwitched)][-1:]
    assert recovered.reason == "recovered"


def test_a_correction_gives_back_one_turn_at_a_time() -> None:
    policy = LeadWorkerPolicy(PolicyConfig(lead_turns=0, fallback_turns=3))
    play("FFT · T", policy)  # the escalated rest and one more: one turn left
    assert policy.state.fallback_left == 1
    policy.start_turn(correction=True)
    assert policy.state.fallback_left == 2
    policy.choose()
    policy.record_step("lead", OUTCOMES["T"])
    policy.end_turn()
    assert policy.state.fallback_left == 1


# --------------------------------------------------------------------------- technical errors


def test_a_turn_undone_by_a_technical_error_never_happened() -> None:
    played = play("FT · (FF) · !T", lead_turns=0)
    # the undone turn reached the threshold (plain prompt: 0, then two failed steps) and
    # escalated its third step; all of it is forgotten, the count is still the first
    # turn's 1, and the correction that follows makes it 2
    assert played.roles == "WW · (WWL) · L"
    assert played.states[1] == played.states[0]
    assert played.summary() == ["fallback starts (2)", BY_CORRECTION]


def test_a_correction_undone_by_a_technical_error_is_not_counted_twice() -> None:
    played = play("FT · (!C) · !T", lead_turns=0, failure_threshold=3)
    # the correcting turn failed on a technical error and the user ran the cell again:
    # the same correction counts once (2 of 3), not twice
    assert played.roles == "WW · (WW) · W"
    assert played.states[1] == played.states[0]
    assert played.states[-1].failures == 2
    assert not played.states[-1].in_fallback


def test_snapshot_is_the_exact_state_and_restore_puts_it_back() -> None:
    policy = LeadWorkerPolicy(PolicyConfig(lead_turns=1))
    play("T · FT", policy)
    snapshot = policy.snapshot()
    copy = PolicyState(**{name: getattr(snapshot, name) for name in snapshot.__slots__})
    play("!FFT · T", policy)
    assert policy.state != snapshot
    assert snapshot == copy  # a later turn never changes a snapshot taken before it
    policy.restore(snapshot)
    assert policy.state == copy


# --------------------------------------------------------------------------- settings live


def test_lowering_the_threshold_mid_session_keeps_the_count_below_it() -> None:
    policy = LeadWorkerPolicy(PolicyConfig(lead_turns=0, failure_threshold=3))
    play("FT", policy)
    assert policy.state.failures == 1
    # behaviour.md: the count reaching the threshold means fallback; outside fallback it
    # stays below the threshold, so the next failure starts fallback with the threshold
    policy.configure(PolicyConfig(lead_turns=0, failure_threshold=1))
    assert policy.state.failures == 0
    assert policy.describe() == "worker; 0 failures of 1"
    played = play("FT", policy)
    assert played.roles == "WL"
    assert played.summary() == ["fallback starts (1)", "worker → lead: 1 failed step"]


def test_lowering_the_threshold_during_fallback_keeps_the_fallback() -> None:
    policy = LeadWorkerPolicy(PolicyConfig(lead_turns=0, failure_threshold=3))
    played = play([Turn("FFFT"), PolicyConfig(lead_turns=0, failure_threshold=2),
                   Turn("T"), Turn("T"), Turn("T")], policy)
    assert played.roles == "WWWL · L · W · W"
    assert played.summary() == ["fallback starts (3)", "worker → lead: 3 failed steps",
                                "fallback ends", RECOVERED]


def test_lowering_fallback_turns_during_fallback_shortens_it() -> None:
    policy = LeadWorkerPolicy(PolicyConfig(lead_turns=0, fallback_turns=3))
    played = play([Turn("FFT"), PolicyConfig(lead_turns=0, fallback_turns=1), Turn("T"),
                   Turn("T")], policy)
    assert played.states[0].fallback_left == 2
    # 2 left is clamped to the new 1: one more fallback turn, then the worker
    assert played.roles == "WWL · L · W"


def test_raising_fallback_turns_during_fallback_keeps_the_countdown() -> None:
    policy = LeadWorkerPolicy(PolicyConfig(lead_turns=0, fallback_turns=1))
    played = play([Turn("FFT"), PolicyConfig(lead_turns=0, fallback_turns=3), Turn("T"),
                   Turn("T")], policy)
    assert played.roles == "WWL · W · W"


def test_changing_lead_turns_mid_session_counts_the_turns_already_done() -> None:
    played = play([Turn("T"), PolicyConfig(lead_turns=1), Turn("T"), Turn("T")])
    assert played.roles == "L · W · W"
    assert played.summary() == [INITIAL_DONE]
    played = play([Turn("T"), Turn("T"), PolicyConfig(lead_turns=3), Turn("T"), Turn("T")],
                  lead_turns=1)
    # turn 3 is now one of the first three: the lead's again
    assert played.roles == "L · W · L · W"
    assert played.reasons == [["initial"], ["worker"], ["initial"], ["worker"]]


# --------------------------------------------------------------------------- describe


@pytest.mark.parametrize(
    ("config", "script", "text"),
    [
        pytest.param({"lead_turns": 0}, "", "worker; 0 failures of 2", id="fresh-worker"),
        pytest.param({"lead_turns": 0}, "FT", "worker; 1 failure of 2", id="one-failure"),
        pytest.param({"lead_turns": 0, "failure_threshold": 4}, "FFT", "worker; 2 failures of 4",
                     id="two-failures"),
        pytest.param({"lead_turns": 0}, "FFT", "fallback: 1 of 2 turns left",
                     id="fallback-one-left"),
        pytest.param({"lead_turns": 0}, "FFF", "fallback: 2 of 2 turns left",
                     id="fallback-nothing-counted-yet"),
        pytest.param({"lead_turns": 0, "fallback_turns": 1}, "FFF", "fallback: 1 of 1 turn left",
                     id="fallback-one-turn"),
        pytest.param({"lead_turns": 0}, "FFT · T · T", "worker; 0 failures of 2",
                     id="recovered"),
        pytest.param({"lead_turns": 1}, "T", "worker; 0 failures of 2",
                     id="after-the-initial-turns"),
    ],
)
def test_describe(config: dict[str, int], script: str, text: str) -> None:
    assert play(script, **config).policy.describe() == text


def test_describe_during_the_initial_turns_counts_them_down() -> None:
    policy = LeadWorkerPolicy()
    assert policy.describe() == "lead: 3 initial turns left"
    play("T", policy)
    assert policy.describe() == "lead: 2 initial turns left"
    play("T", policy)
    assert policy.describe() == "lead: 1 initial turn left"
    play("T", policy)
    assert policy.describe() == "worker; 0 failures of 2"


def test_reset_starts_over_on_the_lead() -> None:
    policy = LeadWorkerPolicy(PolicyConfig(lead_turns=1))
    play("T FFT", policy)
    policy.reset()
    assert policy.state == PolicyState()
    assert play("T T", policy).roles == "L · W"


# --------------------------------------------------------------------------- properties

configs = st.builds(
    PolicyConfig,
    lead_turns=st.integers(0, 4),
    failure_threshold=st.integers(1, 4),
    fallback_turns=st.integers(0, 3),
)
sometimes = st.integers(0, 4).map(lambda n: n == 0)
turns = st.builds(
    Turn,
    steps=st.text("FCT", min_size=1, max_size=5),
    correction=st.booleans(),
    interrupted=sometimes,
    cut=sometimes,
    undone=sometimes,
)
scripts = st.lists(st.one_of(turns, turns, turns, turns, configs), min_size=1, max_size=14)
properties = settings(max_examples=300, deadline=None)


@properties
@given(config=configs, script=scripts)
def test_the_rules_hold_for_any_script(config: PolicyConfig, script: Script) -> None:
    # play() checks every step: the lead during the initial turns and in fallback, the
    # count within the threshold, one switch event per change of role and none without,
    # FallbackStarted carrying the count and alternating with FallbackEnded
    play(script, LeadWorkerPolicy(config))


@properties
@given(config=configs, script=scripts)
def test_the_same_script_gives_the_same_decisions(config: PolicyConfig,
                                                  script: Script) -> None:
    first = play(script, LeadWorkerPolicy(config))
    second = play(script, LeadWorkerPolicy(config))
    assert (first.turns, first.reasons, first.log, first.states) == (
        second.turns, second.reasons, second.log, second.states)


@properties
@given(config=configs, script=scripts)
def test_undone_turns_leave_no_trace(config: PolicyConfig, script: Script) -> None:
    played = play(script, LeadWorkerPolicy(config))
    never = play([t for t in script if not (isinstance(t, Turn) and t.undone)],
                 LeadWorkerPolicy(config))
    assert played.log == never.log
    assert played.policy.state == never.policy.state
    assert [t for t in played.turns if not t.startswith("(")] == never.turns


@properties
@given(config=configs, before=scripts, after=scripts)
def test_restore_returns_exactly_the_snapshot(config: PolicyConfig, before: Script,
                                              after: Script) -> None:
    policy = LeadWorkerPolicy(config)
    play(before, policy)
    snapshot = policy.snapshot()
    then = policy.config
    first = play(after, policy)
    policy.restore(snapshot)
    policy.configure(then)  # settings are not part of the state: put them back too
    assert policy.state == snapshot
    again = play(after, policy)
    assert (again.turns, again.log, again.states) == (first.turns, first.log, first.states)


@properties
@given(config=configs, script=scripts)
def test_reset_is_a_fresh_policy(config: PolicyConfig, script: Script) -> None:
    policy = LeadWorkerPolicy(config)
    play(script, policy)
    policy.reset()
    fresh = LeadWorkerPolicy(policy.config)
    assert policy.state == fresh.state
    assert policy.describe() == fresh.describe()
    replay, new = play(script, policy), play(script, fresh)
    assert (replay.turns, replay.log) == (new.turns, new.log)
