"""Lead/worker through a real session and the local model server (behaviour.md §2): which
model the server is asked for at every step, the events, the log, settings changed live,
and technical errors that must leave the session as it was."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from model_server import (
    ModelServer,
    anthropic_reply,
    error_reply,
    openai_reply,
    python_call,
    worked_example_replies,
)

from goose_nb.errors import ProviderUnavailableError
from goose_nb.events import (
    FallbackEnded,
    FallbackStarted,
    ModelSwitched,
    Notice,
    StepFailed,
    StepStarted,
    TurnStarted,
)
from goose_nb.messages import ModelRef
from goose_nb.session import Session

LEAD, WORKER = "lead-m", "worker-m"
LETTER = {"lead": "L", "worker": "W", None: "-"}



def unavailable() -> list:
    """Four 503s: the first try and the three retries of make_session's retry policy."""
    return [error_reply(503, "overloaded") for _ in range(4)]


@pytest.fixture
def lead_worker(model_server: ModelServer, make_session: Callable[..., Session], tmp_path,
                monkeypatch) -> Callable[..., Session]:
    """A session with lead-m as the lead and worker-m as the worker (both OpenAI unless
    told), whose python tool runs in a namespace of its own."""
    monkeypatch.chdir(tmp_path)

    def build(**env: str | None) -> Session:
        env = {"GOOSE_LEAD_MODEL": LEAD, "GOOSE_MODEL": WORKER, **env}
        session = make_session(model_server, "openai", **env)
        session.namespace = {}
        return session

    return build


def of(session: Session, kind: type) -> list:
    return [event for event in session.events if isinstance(event, kind)]


def roles(session: Session) -> str:
    """The role letters of the steps, turn by turn ("L · WWL · L · W")."""
    turns: dict[int, str] = {}
    for event in of(session, StepStarted):
        turns[event.turn] = turns.get(event.turn, "") + LETTER[event.role]
    return " · ".join(turns.values())


def switches(session: Session) -> list[str]:
    return [str(event) for event in of(session, ModelSwitched)]


def check_switch_events(session: Session) -> None:
    """Every ModelSwitched comes right before the StepStarted of the role it switches to,
    after a step of the role it switches from; every change of role has one."""
    previous = None
    for index, event in enumerate(session.events):
        if isinstance(event, ModelSwitched):
            following = next(e for e in session.events[index + 1:]
                             if isinstance(e, StepStarted))
            assert (event.from_role, event.to_role) == (previous, following.role)
        elif isinstance(event, StepStarted):
            before = session.events[index - 1]
            if previous is not None and previous != event.role:
                assert isinstance(before, ModelSwitched), (previous, event)
            previous = event.role


# --------------------------------------------------------------------------- worked examples


def test_worked_example_two_failing_worker_steps(lead_worker, model_server):
    session = lead_worker(GOOSE_LEAD_TURNS="1")
    model_server.queue(*worked_example_replies())
    for prompt in ["Load the data.", "Compute the ratio.", "Now the mean.", "And the median."]:
        assert session.ask(prompt).status == "ok"
    assert model_server.models_asked() == [LEAD, WORKER, WORKER, LEAD, LEAD, WORKER]
    assert roles(session) == "L · WWL · L · W"
    assert [e.reason for e in of(session, StepStarted)] == [
        "initial", "worker", "worker", "escalation", "fallback", "worker"]
    assert [(e.kind, e.detail) for e in of(session, StepFailed)] == [
        ("python_error", "ZeroDivisionError"), ("python_error", "NameError")]
    assert of(session, FallbackStarted) == [FallbackStarted(2)]
    assert len(of(session, FallbackEnded)) == 1
    assert switches(session) == ["lead → worker: initial turns done",
                                 "worker → lead: 2 failed steps", "lead → worker: recovered"]
    check_switch_events(session)
    assert session.policy is not None
    assert session.policy.describe() == "worker; 0 failures of 2"


def test_worked_example_two_corrections(lead_worker, model_server):
    session = lead_worker(GOOSE_LEAD_TURNS="1")
    model_server.queue(*(openai_reply(text) for text in ["Loaded.", "0.5", "0.25", "0.2"]))
    for prompt in ["Load the data.", "Compute the ratio.", "that's wrong, try again",
                   "no, still wrong"]:
        session.ask(prompt)
    assert model_server.models_asked() == [LEAD, WORKER, WORKER, LEAD]
    assert roles(session) == "L · W · W · L"
    assert of(session, StepStarted)[-1].reason == "fallback"
    assert of(session, FallbackStarted) == [FallbackStarted(2)]
    assert switches(session)[-1] == "worker → lead: 2 failures, the last a user correction"
    check_switch_events(session)
    assert session.policy.describe() == "fallback: 1 of 2 turns left"  # turn 4 was clean


def test_lead_on_anthropic_and_worker_on_openai(lead_worker, model_server):
    session = lead_worker(GOOSE_LEAD_PROVIDER="anthropic", GOOSE_LEAD_MODEL="claude-lead",
                          GOOSE_LEAD_TURNS="1")
    model_server.queue(
        anthropic_reply("Loaded."),
        openai_reply("", [python_call("a", "ratio = 1 / 0")]),
        openai_reply("", [python_call("b", "ratio = total / count")]),
        anthropic_reply("There are no rows, so no ratio."),
    )
    session.ask("Load the data.")
    record = session.ask("Compute the ratio.")
    assert record.answer == "There are no rows, so no ratio."
    assert [(r.path, r.json["model"]) for r in model_server.requests] == [
        ("/v1/messages", "claude-lead"),
        ("/v1/chat/completions", WORKER),
        ("/v1/chat/completions", WORKER),
        ("/v1/messages", "claude-lead"),
    ]
    assert [e.model for e in of(session, StepStarted)] == [
        ModelRef(provider="anthropic", model="claude-lead"),
        ModelRef(provider="openai", model=WORKER),
        ModelRef(provider="openai", model=WORKER),
        ModelRef(provider="anthropic", model="claude-lead"),
    ]
    # the lead takes over mid-turn with the worker's tool calls and their errors
    escalated = model_server.requests[-1].body.decode()
    assert "tool_result" in escalated
    assert "ZeroDivisionError" in escalated and "NameError" in escalated


# --------------------------------------------------------------------------- session state


def test_the_state_lasts_across_asks_and_reset_starts_over(lead_worker, model_server):
    session = lead_worker(GOOSE_LEAD_TURNS="1")
    model_server.queue(*(openai_reply(f"answer {n}") for n in range(4)))
    session.ask("one")
    session.ask("two")
    assert session.policy.state.turn == 2
    policy = session.policy
    session.reset()
    assert session.policy is policy
    assert session.policy.state.turn == 0
    session.ask("one again")
    session.ask("two again")
    assert model_server.models_asked() == [LEAD, WORKER, LEAD, WORKER]
    assert roles(session) == "L · W"  # reset forgot the events of before
    assert switches(session) == ["lead → worker: initial turns done"]


def test_reset_ends_a_fallback(lead_worker, model_server):
    session = lead_worker(GOOSE_LEAD_TURNS="0", GOOSE_LEAD_FAILURE_THRESHOLD="1")
    model_server.queue(openai_reply("", [python_call("a", "1 / 0")]), openai_reply("Sorry."),
                       openai_reply("Fresh start."))
    session.ask("Divide.")
    assert session.policy.state.in_fallback
    session.reset()
    session.ask("Hello.")
    assert model_server.models_asked() == [WORKER, LEAD, WORKER]


def test_a_setting_changed_live_applies_to_the_next_turn(lead_worker, model_server):
    session = lead_worker()  # 3 lead turns by default
    model_server.queue(
        openai_reply("Loaded."),
        openai_reply("0.5"),
        openai_reply("", [python_call("a", "1 / 0")]),
        openai_reply("Divided by zero, sorry."),
    )
    session.ask("Load the data.")
    policy = session.policy
    session.set_override("GOOSE_LEAD_TURNS", "1")
    assert session.policy is policy and policy.state.turn == 1  # the state is kept
    session.ask("Compute the ratio.")
    session.set_override("GOOSE_LEAD_FAILURE_THRESHOLD", "1")
    session.ask("Divide.")
    assert model_server.models_asked() == [LEAD, WORKER, WORKER, LEAD]
    assert switches(session) == ["lead → worker: initial turns done",
                                 "worker → lead: 1 failed step"]
    assert of(session, FallbackStarted) == [FallbackStarted(1)]


def test_turning_lead_worker_on_and_off_live(make_session, model_server):
    session = make_session(model_server, "openai", GOOSE_MODEL=WORKER)
    assert session.policy is None
    model_server.queue(openai_reply("one"), openai_reply("two"), openai_reply("three"))
    session.ask("one")
    session.set_override("GOOSE_LEAD_MODEL", LEAD)
    assert session.policy is not None
    session.ask("two")
    session.set_override("GOOSE_LEAD_MODEL", None)
    assert session.policy is None
    session.ask("three")
    assert model_server.models_asked() == [WORKER, LEAD, WORKER]
    assert [(e.role, e.reason) for e in of(session, StepStarted)] == [
        (None, None), ("lead", "initial"), (None, None)]


# --------------------------------------------------------------------------- technical errors


def test_a_turn_failing_on_both_models_leaves_the_session_as_it_was(lead_worker, model_server):
    session = lead_worker(GOOSE_LEAD_TURNS="1")
    model_server.queue(
        openai_reply("Loaded."),
        openai_reply("", [python_call("a", "1 / 0")]),
        openai_reply("Division by zero."),
    )
    session.ask("Load the data.")
    session.ask("Divide.")  # one worker failure: count 1
    before, history = session.policy.snapshot(), list(session.history)
    assert (before.failures, before.in_fallback) == (1, False)
    # the correction reaches the threshold, so the lead is asked; both models are down
    model_server.queue(*unavailable(), *unavailable())
    with pytest.raises(ProviderUnavailableError):
        session.ask("that's wrong, try again")
    assert model_server.models_asked()[3:] == [LEAD] * 4 + [WORKER] * 4
    assert session.policy.state == before
    assert session.history == history
    assert session.turns[-1].status == "error"
    assert any(isinstance(e, Notice) and e.level == "warning" for e in session.events)
    # run the cell again: the correction counts once, not twice
    model_server.queue(openai_reply("Here is the right answer."))
    assert session.ask("that's wrong, try again").status == "ok"
    assert model_server.models_asked()[-1] == LEAD
    state = session.policy.state
    assert (state.failures, state.in_fallback, state.fallback_left) == (2, True, 1)


def test_a_step_whose_worker_is_unavailable_is_tried_once_on_the_lead(lead_worker,
                                                                      model_server):
    session = lead_worker(GOOSE_LEAD_TURNS="0")
    model_server.queue(*unavailable(), openai_reply("Answered by the lead."),
                       openai_reply("Back on the worker."))
    record = session.ask("Hello.")
    assert record.status == "ok"
    assert record.answer == "Answered by the lead."
    assert model_server.models_asked() == [WORKER] * 4 + [LEAD]
    [notice] = of(session, Notice)
    assert notice.level == "warning"
    assert "worker-m is unavailable" in notice.text and "lead-m" in notice.text
    assert [(e.step, e.role) for e in of(session, StepStarted)] == [(1, "worker"), (1, "lead")]
    # a technical error is not a failure and not a switch of the policy
    assert of(session, FallbackStarted) == []
    assert session.policy.state.failures == 0
    assert not session.policy.state.in_fallback
    session.ask("Again.")
    assert model_server.models_asked()[-1] == WORKER


# --------------------------------------------------------------------------- logging


@pytest.fixture
def lead_worker_logger() -> Iterator[logging.Logger]:
    """The lead/worker logger, quiet at the start and put back as it was at the end."""
    logger = logging.getLogger("goose_nb.lead_worker")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield logger
    logger.setLevel(level)


def test_the_log_has_every_choice_and_every_switch(lead_worker, model_server, caplog):
    caplog.set_level(logging.INFO, logger="goose_nb.lead_worker")
    session = lead_worker(GOOSE_LEAD_TURNS="1")
    model_server.queue(
        openai_reply("Loaded."),
        openai_reply("", [python_call("a", "1 / 0")]),
        openai_reply("", [python_call("b", "undefined_name")]),
        openai_reply("Sorry."),
    )
    session.ask("Load the data.")
    session.ask("Compute the ratio.")
    records = [r for r in caplog.records if r.name == "goose_nb.lead_worker"]
    assert {r.levelno for r in records} == {logging.INFO}
    lines = [r.getMessage() for r in records]
    assert [line for line in lines if " step " in line or "→" in line] == [
        "turn 1 step 1: lead (initial) on openai/lead-m",
        "lead → worker: initial turns done",
        "turn 2 step 1: worker (worker) on openai/worker-m",
        "turn 2 step 2: worker (worker) on openai/worker-m",
        "worker → lead: 2 failed steps",
        "turn 2 step 3: lead (escalation) on openai/lead-m",
    ]
    assert any("FallbackStarted" in line for line in lines)


def test_rust_log_turns_the_lead_worker_log_on(lead_worker, model_server, caplog,
                                               lead_worker_logger):
    quiet = lead_worker()
    model_server.queue(openai_reply("one"), openai_reply("two"))
    quiet.ask("one")
    assert not [r for r in caplog.records if r.name == "goose_nb.lead_worker"]
    session = lead_worker(RUST_LOG="warn,goose::providers::lead_worker=info")
    assert lead_worker_logger.getEffectiveLevel() == logging.INFO
    session.ask("two")
    assert [r.getMessage() for r in caplog.records if r.name == "goose_nb.lead_worker"] == [
        "turn 1 step 1: lead (initial) on openai/lead-m"]


# --------------------------------------------------------------------------- off


def test_lead_worker_off_every_step_on_goose_model(make_session, model_server, tmp_path,
                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = make_session(model_server, "openai", GOOSE_MODEL=WORKER, GOOSE_LEAD_TURNS="1",
                           GOOSE_LEAD_FAILURE_THRESHOLD="1")
    session.namespace = {}
    assert session.policy is None
    model_server.queue(
        openai_reply("Loaded."),
        openai_reply("", [python_call("a", "1 / 0")]),
        openai_reply("", [python_call("b", "undefined_name")]),
        openai_reply("Sorry."),
        openai_reply("Fine."),
    )
    for prompt in ["Load the data.", "Compute the ratio.", "that's wrong, try again"]:
        session.ask(prompt)
    assert model_server.models_asked() == [WORKER] * 5
    steps = of(session, StepStarted)
    assert [(e.role, e.reason) for e in steps] == [(None, None)] * 5
    assert {e.model for e in steps} == {ModelRef(provider="openai", model=WORKER)}
    assert len(of(session, TurnStarted)) == 3
    assert not [e for e in session.events
                if isinstance(e, (ModelSwitched, FallbackStarted, FallbackEnded))]
