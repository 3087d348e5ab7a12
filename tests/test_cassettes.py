"""Record against the real server, replay with no server; mismatches fail loudly."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import ANTHROPIC_KEY, OPENAI_KEY, simple_request
from model_server import anthropic_reply, error_reply, openai_reply

from goose_nb.errors import CassetteError, ConfigError
from goose_nb.events import AnswerDelta
from goose_nb.messages import TextDelta

PROMPTS = ("What is the capital of France?", "And of Italy?")
ANSWERS = ("The capital of France is Paris.", "Rome is the capital of Italy.")


def record(model_server, make_session, path, provider="openai", **env):
    """Record two turns into ``path``: the second calls a tool, then answers (3 calls)."""
    reply = {"openai": openai_reply, "anthropic": anthropic_reply}[provider]
    model_server.queue(
        reply(ANSWERS[0], usage=(11, 7)),
        reply("Let me look.", [("call_1", "list_variables", '{"name": "capital"}')],
              usage=(23, 9)),
        reply(ANSWERS[1], usage=(40, 8)),
    )
    session = make_session(model_server, provider, GOOSE_NB_RECORD=str(path), **env)
    for prompt in PROMPTS:
        session.ask(prompt)
    return session


def replay_session(make_session, path, **env):
    return make_session(None, "replay", GOOSE_NB_CASSETTE=str(path), **env)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_recording_writes_every_call_without_secrets(model_server, make_session, tmp_path,
                                                     provider):
    path = tmp_path / "c.yaml"
    record(model_server, make_session, path, provider)
    assert len(model_server.requests) == 3
    text = path.read_text(encoding="utf-8")
    for secret in (OPENAI_KEY, ANTHROPIC_KEY, "SECRETVALUE"):
        assert secret not in text
    data = yaml.safe_load(text)
    assert data["scripted"] is False
    assert len(data["interactions"]) == 3
    first, second, third = data["interactions"]
    assert first["request"]["provider"] == provider
    assert first["request"]["last_message"] == {"role": "user", "text": PROMPTS[0]}
    assert second["request"]["last_message"] == {"role": "user", "text": PROMPTS[1]}
    assert first["request"]["url"].startswith(model_server.url)
    headers = {k.lower(): v for k, v in first["request"]["headers"].items()}
    auth = "authorization" if provider == "openai" else "x-api-key"
    assert headers[auth] == "[redacted]"
    assert first["response"]["text"] == ANSWERS[0]
    assert first["response"]["usage"]["input_tokens"] == 11
    assert second["response"]["tool_calls"][0]["name"] == "list_variables"
    assert second["response"]["tool_calls"][0]["arguments"] == {"name": "capital"}
    assert third["request"]["last_message"] == {"role": "tool", "tool_call_ids": ["call_1"]}
    assert third["response"]["text"] == ANSWERS[1]


def test_recording_scrubs_a_key_echoed_in_an_answer(model_server, make_session, tmp_path):
    path = tmp_path / "c.yaml"
    model_server.queue(openai_reply(f"your key is {OPENAI_KEY} ok"))
    make_session(model_server, "openai", GOOSE_NB_RECORD=str(path)).ask("what is my key?")
    assert OPENAI_KEY not in path.read_text(encoding="utf-8")


def test_recording_keeps_only_the_successful_attempt(model_server, make_session, tmp_path):
    path = tmp_path / "c.yaml"
    model_server.queue(error_reply(500), openai_reply("fine"))
    make_session(model_server, "openai", GOOSE_NB_RECORD=str(path)).ask("hello")
    assert len(model_server.requests) == 2
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [i["response"]["text"] for i in data["interactions"]] == ["fine"]


def test_recording_creates_missing_folders(model_server, make_session, tmp_path):
    path = tmp_path / "notebooks" / "cassettes" / "demo.yaml"
    model_server.queue(openai_reply("fine"))
    make_session(model_server, "openai", GOOSE_NB_RECORD=str(path)).ask("hello")
    assert path.is_file()


def test_recording_to_an_unwritable_path_names_the_variable(model_server, make_session,
                                                            tmp_path):
    model_server.queue(openai_reply("fine"))
    session = make_session(model_server, "openai", GOOSE_NB_RECORD=str(tmp_path))  # a folder
    with pytest.raises(CassetteError, match="GOOSE_NB_RECORD"):
        session.ask("hello")
    assert session.history == []
    assert model_server.requests == []  # refused before the model was asked (and paid)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_replay_gives_the_recorded_answers_with_no_server(model_server, make_session, tmp_path,
                                                          provider):
    path = tmp_path / "c.yaml"
    recorded = record(model_server, make_session, path, provider)
    session = replay_session(make_session, path)
    first = session.ask(PROMPTS[0])
    second = session.ask(PROMPTS[1])
    assert first.answer == ANSWERS[0]
    assert second.answer == ANSWERS[1]
    assert [m.role for m in session.history] == [m.role for m in recorded.history] == [
        "user", "assistant", "user", "assistant", "tool", "assistant"]
    calls = session.history[3].tool_calls
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("call_1", "list_variables", {"name": "capital"})]
    assert session.history[4].tool_results == recorded.history[4].tool_results
    assert session.usage.total().input_tokens == 11 + 23 + 40
    assert session.usage.total().output_tokens == 7 + 9 + 8
    assert len(model_server.requests) == 3  # only the recording talked to the server


def test_replay_streams_the_answer(model_server, make_session, tmp_path):
    path = tmp_path / "c.yaml"
    record(model_server, make_session, path)
    session = replay_session(make_session, path)

    async def stream() -> list[str]:
        provider = await session.provider("replay")
        request = simple_request(model="gpt-4o", prompt=PROMPTS[0])  # as recorded
        return [e.text async for e in provider.stream(request) if isinstance(e, TextDelta)]

    assert len(session.runtime.run(stream())) > 1  # in pieces, as the model sent it
    # the session's listeners hear the pieces that arrived between two deliveries joined
    session = replay_session(make_session, path)
    events: list = []
    session.subscribe(events.append)
    session.ask(PROMPTS[0])
    assert "".join(e.text for e in events if isinstance(e, AnswerDelta)) == ANSWERS[0]


def test_replay_ignores_whitespace_differences(model_server, make_session, tmp_path):
    path = tmp_path / "c.yaml"
    record(model_server, make_session, path)
    session = replay_session(make_session, path)
    assert session.ask("  What is the capital   of\nFrance?  ").answer == ANSWERS[0]


def test_replay_mismatched_prompt_names_step_expected_and_asked(model_server, make_session,
                                                                tmp_path):
    path = tmp_path / "c.yaml"
    record(model_server, make_session, path)
    session = replay_session(make_session, path)
    session.ask(PROMPTS[0])
    with pytest.raises(CassetteError) as info:
        session.ask("What is the capital of Spain?")
    message = str(info.value)
    assert "step 2" in message
    assert "And of Italy?" in message  # expected
    assert "capital of Spain" in message  # asked
    assert str(path) in message
    # the failed turn left no trace in the history, and the right prompt still replays
    assert len(session.history) == 2
    assert session.ask(PROMPTS[1]).answer == ANSWERS[1]


def test_a_mismatch_late_in_a_long_prompt_shows_where_the_two_differ(make_session, tmp_path):
    head = "Summarise the quarterly sales table for the board, region by region, " * 2
    path = tmp_path / "demo.yaml"
    path.write_text(
        "scripted: true\ninteractions:\n"
        f"  - request: {{model: m, last_message: {{role: user, text: '{head}in euros'}}}}\n"
        "    response: {model: m, text: Done.}\n", encoding="utf-8")
    with pytest.raises(CassetteError) as info:
        replay_session(make_session, path).ask(head + "in dollars")
    message = str(info.value)
    # both sides are shown from shortly before the first difference, not cut alike at 80
    assert "region, in euros'" in message and "region, in dollars'" in message, message
    assert "\n" not in message


def test_a_cassette_in_an_unknown_format_says_so(make_session, tmp_path):
    path = tmp_path / "future.yaml"
    path.write_text("format: goose_nb-cassette/9\nscripted: false\nsteps: []\n",
                    encoding="utf-8")
    with pytest.raises(CassetteError) as info:
        replay_session(make_session, path).ask("Hi")
    assert str(info.value) == (
        f"cassette {path} is in format 'goose_nb-cassette/9', which goose_nb does not read "
        "(it reads goose_nb-cassette/1); re-record it with GOOSE_NB_RECORD")


def test_replay_mismatched_model_names_both_models(model_server, make_session, tmp_path):
    path = tmp_path / "c.yaml"
    record(model_server, make_session, path, GOOSE_MODEL="gpt-recorded")
    session = replay_session(make_session, path, GOOSE_MODEL="gpt-other")
    with pytest.raises(CassetteError) as info:
        session.ask(PROMPTS[0])
    message = str(info.value)
    assert "step 1" in message
    assert "gpt-recorded" in message
    assert "gpt-other" in message
    assert session.history == []


def test_replay_uses_the_recorded_model_when_none_is_set(model_server, make_session, tmp_path):
    path = tmp_path / "c.yaml"
    record(model_server, make_session, path, GOOSE_MODEL="gpt-recorded")
    session = replay_session(make_session, path)
    assert session.ask(PROMPTS[0]).steps[0].model.model == "gpt-recorded"


def test_replay_past_the_end_is_a_clear_error(model_server, make_session, tmp_path):
    path = tmp_path / "c.yaml"
    record(model_server, make_session, path)
    session = replay_session(make_session, path)
    for prompt in PROMPTS:
        session.ask(prompt)
    with pytest.raises(CassetteError) as info:
        session.ask("One more?")
    message = str(info.value)
    assert "step 4" in message
    assert re.search(r"\b3\b", message.replace(str(path), ""))  # how many it holds
    assert "GOOSE_NB_RECORD" in message
    assert len(session.history) == 6


def test_scripted_cassette_replays(make_session, tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(
        "scripted: true\n"
        "interactions:\n"
        "  - request: {model: demo-model, last_message: {role: user, text: Hi}}\n"
        "    response: {model: demo-model, text: Hello from a script.}\n",
        encoding="utf-8",
    )
    assert replay_session(make_session, path).ask("Hi").answer == "Hello from a script."


def test_cassette_without_scripted_header_is_refused(make_session, tmp_path):
    path = tmp_path / "demo.yaml"
    path.write_text(
        "interactions:\n"
        "  - request: {model: m, last_message: {role: user, text: Hi}}\n"
        "    response: {model: m, text: Hello.}\n",
        encoding="utf-8",
    )
    with pytest.raises(CassetteError) as info:
        replay_session(make_session, path).ask("Hi")
    assert "scripted" in str(info.value)
    assert str(path) in str(info.value)


def test_invalid_yaml_cassette_names_the_line(make_session, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("scripted: false\ninteractions: [\n  {oops\n", encoding="utf-8")
    with pytest.raises(CassetteError) as info:
        replay_session(make_session, path).ask("Hi")
    assert str(path) in str(info.value)
    assert "line" in str(info.value)


def test_missing_cassette_names_the_variable(make_session, tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(CassetteError) as info:
        replay_session(make_session, path).ask("Hi")
    assert "GOOSE_NB_CASSETTE" in str(info.value)
    assert str(path) in str(info.value)


def test_a_missing_relative_cassette_says_which_folder_it_was_looked_for_in(
        make_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CassetteError) as info:
        replay_session(make_session, "cassettes/demo.yaml").ask("Hi")
    assert str(info.value) == (f"cassette cassettes/demo.yaml does not exist (a relative path, "
                               f"looked for in {tmp_path}); check GOOSE_NB_CASSETTE")


def test_cassette_that_is_a_folder_names_the_variable(make_session, tmp_path):
    with pytest.raises(CassetteError, match="GOOSE_NB_CASSETTE"):
        replay_session(make_session, tmp_path).ask("Hi")


def test_replay_without_a_cassette_is_a_config_error(make_session):
    session = make_session(None, "replay")
    with pytest.raises(ConfigError) as info:
        session.ask("Hi")
    assert "GOOSE_NB_CASSETTE" in str(info.value)
    assert session.history == []
