"""Budgets (``budget.py``) through a real session and the local model server: a step that
would pass the budget is never sent, the lead hands a step to the worker when only the
worker fits, parallel subagents share a cell's budget and skip what cannot fit, and a model
with no known price cannot be budgeted.

Prices are the test's own (``GOOSE_NB_PRICES``: $1 per million tokens, in and out) and the
output limit is large (``GOOSE_MAX_TOKENS=100000``), so each step reserves about $0.10 and
the scripted usage (40,000 tokens out) costs about $0.04: the third step of a $0.18 budget
is the first that cannot fit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import OPENAI_KEY, register_goose, run_cell
from model_server import ReceivedRequest, Reply, openai_reply, python_call

from goose_nb.errors import GooseError
from goose_nb.events import ModelSwitched, Notice, TurnFinished
from goose_nb.subagents.run import subagent_limits

HEAVY = (2_000, 40_000)  # tokens in, out: about $0.042 a step


@pytest.fixture
def prices(tmp_path: Path) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text("cheap-m: {input: 1.0, output: 1.0}\n"
                    "lead-m: {input: 1.0, output: 3.0}\n", encoding="utf-8")
    return path


def priced(make_session: Any, model_server: Any, prices: Path, **env: str) -> Any:
    session = make_session(model_server, "openai", GOOSE_MODEL="cheap-m",
                           GOOSE_NB_PRICES=str(prices), GOOSE_MAX_TOKENS="100000", **env)
    session.namespace = {}
    return session


def tool_step(number: int) -> Reply:
    return openai_reply(tool_calls=[python_call(f"c{number}", f"x{number} = {number}")],
                        usage=HEAVY)


def warnings(events: list[Any]) -> list[str]:
    return [e.text for e in events if isinstance(e, Notice) and e.level == "warning"]


def test_the_step_that_would_overrun_is_never_sent(model_server, make_session, prices,
                                                   tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = priced(make_session, model_server, prices)
    model_server.queue(tool_step(1), tool_step(2), openai_reply("done"))
    heard: list[Any] = []
    with session.listening(heard.append):
        record = session.ask("Work.", budget=0.18)
    assert len(model_server.requests) == 2  # the third step was not sent
    assert record.stopped_by_budget and [s.step for s in record.steps] == [1, 2]
    [notice] = warnings(heard)
    assert notice.startswith("Budget: the next step on openai/cheap-m could cost up to $0.1")
    assert "more than is left of the cell budget $0.1800, $0.0840 spent" in notice
    assert "the turn stops here, before sending it" in notice
    finished = next(e for e in heard if isinstance(e, TurnFinished))
    assert finished.budget_left == "$0.0960 of $0.1800 budget left"
    # the turn is kept as far as it got: the next cell goes on from its tool results
    assert session.namespace["x2"] == 2
    assert session.ask("Go on.", budget=1.0).answer == "done"
    assert [m["role"] for m in model_server.requests[2].json["messages"]][-3:] == [
        "assistant", "tool", "user"]


def test_the_session_budget_counts_every_cell(model_server, make_session, prices):
    session = priced(make_session, model_server, prices, GOOSE_NB_BUDGET="0.15")
    model_server.queue(openai_reply("one", usage=HEAVY), openai_reply("two", usage=HEAVY))
    session.ask("first")  # reserves ~$0.10 of $0.15, spends $0.042
    record = session.ask("second")  # $0.108 left: fits
    assert record.answer == "two"
    third = session.ask("third")  # $0.066 left: does not
    assert third.stopped_by_budget and len(model_server.requests) == 2
    budget = session.session_budget
    assert (round(budget.spent, 4), budget.limit, budget.reserved) == (0.084, 0.15, 0.0)


def test_the_lead_hands_a_step_to_the_worker_when_only_the_worker_fits(
        model_server, make_session, prices):
    # the lead's output price is 3x: its reservation is ~$0.30, the worker's ~$0.10
    session = priced(make_session, model_server, prices, GOOSE_LEAD_MODEL="lead-m")
    model_server.queue(openai_reply("on the worker"))
    heard: list[Any] = []
    with session.listening(heard.append):
        record = session.ask("hello", budget=0.2)
    assert model_server.models_asked() == ["cheap-m"]
    assert record.answer == "on the worker" and record.steps[0].role == "worker"
    switches = [str(e) for e in heard if isinstance(e, ModelSwitched)]
    assert switches == ["lead → worker: budget"]


def test_a_lead_step_within_the_budget_reads_the_history_once(model_server, make_session,
                                                             prices, monkeypatch):
    """The lead's estimate decides whether it may run and is then what the step holds:
    one count of the history for both, not one each."""
    import goose_nb.agent.loop as loop

    counted: list[int] = []
    count = loop.billed_input_ceiling
    monkeypatch.setattr(loop, "billed_input_ceiling",
                        lambda *args: counted.append(1) or count(*args))
    session = priced(make_session, model_server, prices, GOOSE_LEAD_MODEL="lead-m")
    model_server.queue(tool_step(1), openai_reply("on the lead"))
    record = session.ask("hello", budget=5.0)
    assert [s.role for s in record.steps] == ["lead", "lead"]
    assert len(counted) == 2  # one a step


def test_parallel_subagents_share_the_budget_and_skip_what_cannot_fit(
        model_server, make_session, prices, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = priced(make_session, model_server, prices, GOOSE_SUBAGENT_MAX_CONCURRENCY="1")
    model_server.responder = lambda request: openai_reply("done", usage=HEAVY)
    summary = session.run_subagents(["one", "two", "three", "four"], parallel=True,
                                    budget=0.20)
    results = summary.model_dump()["task_results"]
    assert [r["status"] for r in results] == ["success", "success", "success", "failed"]
    assert results[3]["error"] == "skipped: budget"
    assert len(model_server.requests) == 3


def test_parallel_reservations_never_overrun_together(model_server, make_session, prices,
                                                      tmp_path, monkeypatch):
    """All four start at once: each reserves before it sends, so only what the budget
    holds is sent, even though none has spent anything yet."""
    monkeypatch.chdir(tmp_path)
    session = priced(make_session, model_server, prices)

    def slow(request: ReceivedRequest) -> Reply:
        reply = openai_reply("done", usage=HEAVY)
        reply.delay = 0.3
        return reply

    model_server.responder = slow
    limits = subagent_limits(session.settings, "parallel", budget=0.25)
    summary = session.run_subagents(["a", "b", "c", "d"], limits=limits)
    statuses = [r.status for r in summary.task_results]
    assert statuses.count("success") == 2 and len(model_server.requests) == 2
    assert [r.error for r in summary.task_results if r.status != "success"] == [
        "skipped: budget"] * 2


def test_an_unpriced_model_with_a_budget_stops_headless(model_server, make_session, prices):
    session = make_session(model_server, "openai", GOOSE_MODEL="mystery-model",
                           GOOSE_NB_PRICES=str(prices))
    heard: list[Any] = []
    with session.listening(heard.append):
        record = session.ask("hello", budget=1.0)
    assert record.stopped_by_budget and model_server.requests == []
    assert warnings(heard) == [
        "Budget: the price of openai/mystery-model is not known, so a step on it cannot be "
        "budgeted; the turn stops here. Give its price in GOOSE_NB_PRICES, or run without a "
        "budget."]
    model_server.queue(openai_reply("unbudgeted"))
    assert session.ask("hello").answer == "unbudgeted"  # without a budget it runs


@pytest.mark.parametrize(("answer", "sent"), [("y", 2), ("n", 0)])
def test_an_unpriced_model_with_a_budget_asks_once_a_turn_where_someone_can_answer(
        model_server, make_session, prices, monkeypatch, answer, sent):
    asked: list[str] = []
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or answer)
    session = make_session(model_server, "openai", GOOSE_MODEL="mystery-model",
                           GOOSE_NB_PRICES=str(prices))
    session.namespace = {}
    question = ("Budget: the price of openai/mystery-model is not known, so a step on it "
                "cannot be budgeted. Run this turn's steps on it anyway, outside the "
                "budget? [y/N] ")
    model_server.queue(openai_reply(tool_calls=[python_call("c1", "x = 1")]),
                       openai_reply("two steps"))
    record = session.ask("hello", budget=1.0)
    assert asked == [question]  # the turn's second step is not asked again
    assert len(model_server.requests) == sent and record.stopped_by_budget is (sent == 0)
    if answer == "y":  # a new turn asks again
        model_server.queue(openai_reply("again"))
        session.ask("and again", budget=1.0)
        assert asked == [question, question]


def test_the_magics_take_a_budget_and_refuse_a_bad_one(shell, model_server, tmp_path,
                                                       monkeypatch, prices):
    magics = register_goose(shell, model_server, tmp_path, monkeypatch, OPENAI_KEY,
                            GOOSE_PROVIDER="openai", GOOSE_MODEL="cheap-m",
                            GOOSE_NB_PRICES=str(prices), GOOSE_MAX_TOKENS="100000")
    try:
        model_server.queue(openai_reply("fine", usage=HEAVY))
        result, shown = run_cell(shell, "%%goose --budget 0.5\nhello")
        assert result.error_in_exec is None, shown
        assert "of $0.5000 budget left" in shown
        for line, message in [
            ("%%goose --budget lots\nhello",
             "--budget needs an amount of dollars above 0, e.g. 0.10 (got 'lots')"),
            ("%%goose --budget -1\nhello", "--budget needs an amount of dollars above 0"),
            ("%%goose --verbose\nhello", "%%goose takes only --budget DOLLARS"),
            ("%%goose_subagents --budget 0\n- a task", "--budget needs an amount"),
        ]:
            result, _ = run_cell(shell, line)
            assert str(result.error_in_exec).startswith(message), (line, result.error_in_exec)
        result, shown = run_cell(shell, "%goose config GOOSE_NB_BUDGET=0.25")
        _, shown = run_cell(shell, "%goose usage")
        assert "Budget: $0.0420 of $0.2500 spent, $0.2080 left (GOOSE_NB_BUDGET)." in shown
        result, _ = run_cell(shell, "%goose config GOOSE_NB_BUDGET=free")
        assert "GOOSE_NB_BUDGET=free (from notebook) is not valid: an amount of dollars" in \
            str(result.error_in_exec)
    finally:
        magics.session.close()


def test_the_python_api_checks_the_amount(model_server, make_session, prices):
    session = priced(make_session, model_server, prices)
    with pytest.raises(GooseError, match="budget needs an amount of dollars above 0"):
        session.ask("hello", budget=0)
    with pytest.raises(GooseError, match="GOOSE_NB_BUDGET"):
        make_session(model_server, "openai", GOOSE_NB_BUDGET="-3").ask("x")
