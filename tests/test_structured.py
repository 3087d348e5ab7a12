"""Runs that must answer with JSON matching a schema, and runs pinned to one model."""

from __future__ import annotations

import pytest
from model_server import openai_reply

from goose_nb.agent.turns import TurnOptions
from goose_nb.errors import GooseError
from goose_nb.events import Notice
from goose_nb.messages import ModelRef
from goose_nb.structured import parse_json_answer

SCHEMA = {
    "type": "object",
    "properties": {"rows": {"type": "integer"}, "columns": {"type": "array"}},
    "required": ["rows", "columns"],
}


def test_a_matching_answer_is_parsed(model_server, make_session):
    model_server.queue(openai_reply('```json\n{"rows": 3, "columns": ["a", "b"]}\n```'))
    session = make_session(model_server, "openai")
    record = session.ask("Describe df.", TurnOptions(response_schema=SCHEMA))
    assert record.structured == {"rows": 3, "columns": ["a", "b"]}
    system = model_server.requests[0].json["messages"][0]["content"]
    assert '"required": [' in system and "only a JSON value" in system


def test_a_wrong_answer_is_asked_again_once(model_server, make_session):
    model_server.queue(openai_reply("It has 3 rows."),
                       openai_reply('{"rows": 3, "columns": []}'))
    session = make_session(model_server, "openai")
    record = session.ask("Describe df.", TurnOptions(response_schema=SCHEMA))
    assert record.structured == {"rows": 3, "columns": []}
    again = model_server.requests[1].json["messages"][-1]
    assert again["role"] == "user" and "not JSON" in again["content"]
    assert any(isinstance(e, Notice) for e in session.events)


def test_a_second_miss_fails_naming_the_problem(model_server, make_session):
    model_server.queue(openai_reply('{"rows": "three"}'), openai_reply('{"rows": 3}'))
    session = make_session(model_server, "openai")
    with pytest.raises(GooseError, match="'columns' is a required property"):
        session.ask("Describe df.", TurnOptions(response_schema=SCHEMA))
    assert session.history == []


def test_an_invalid_schema_is_refused_before_any_call(model_server, make_session):
    session = make_session(model_server, "openai")
    with pytest.raises(GooseError, match="not a valid JSON schema"):
        session.ask("x", TurnOptions(response_schema={"type": "no-such-type"}))
    assert model_server.requests == []


def test_a_pinned_model_bypasses_lead_worker(model_server, make_session):
    model_server.queue(openai_reply("pinned"))
    session = make_session(model_server, "openai", GOOSE_LEAD_MODEL="lead-m",
                           GOOSE_MODEL="worker-m")
    session.ask("x", TurnOptions(model=ModelRef(provider="openai", model="recipe-m"),
                                 temperature=0.2, instructions="Be terse."))
    body = model_server.requests[0].json
    assert body["model"] == "recipe-m" and body["temperature"] == 0.2
    assert body["messages"][0]["content"].endswith("Be terse.")
    assert session.policy.state.turn == 0  # the policy did not see the pinned run


@pytest.mark.parametrize("text", ['{"a": 1}', '```json\n{"a": 1}\n```', '```\n{"a": 1}\n```'])
def test_parse_json_answer_accepts_plain_and_fenced(text):
    assert parse_json_answer(text) == {"a": 1}
