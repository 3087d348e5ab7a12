"""The magics in an in-process IPython shell, against the local model server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import register_goose
from conftest import run_cell as run
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from model_server import ModelServer, Reply, error_reply, openai_reply

from goose_nb.magics.goose import GooseMagics

SECRET = "sk-test-MAGICSECRET0123456789abcdef"


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.fixture
def goose(
    shell: InteractiveShell, server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GooseMagics]:
    """A freshly registered extension whose session reads an environment for ``server``
    (the provider auto-detected from the key)."""
    magics = register_goose(shell, server, tmp_path, monkeypatch, SECRET, GOOSE_MODEL="gpt-test")
    yield magics
    magics.session.close()


def test_cell_streams_answer_with_header_and_footer(goose, shell, server):
    server.queue(openai_reply("The **answer** is 42.", usage=(12, 7)))
    with capture_output() as captured:
        result = shell.run_cell("%%goose\nWhat is the answer?")
    assert result.error_in_exec is None
    output = captured.outputs[-1].data
    assert "The **answer** is 42." in output["text/markdown"]
    assert "`openai/gpt-test`" in output["text/markdown"]
    assert "12 in / 7 out tokens" in output["text/markdown"]
    assert output["text/plain"].startswith("[openai/gpt-test]")
    assert server.requests[0].json["messages"][-1] == {"role": "user",
                                                      "content": "What is the answer?"}


def test_history_carries_over_between_cells(goose, shell, server):
    server.queue(openai_reply("first"), openai_reply("second"))
    run(shell, "%%goose\none")
    run(shell, "%%goose\ntwo")
    sent = server.requests[1].json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[2]["content"] == "first"


def test_empty_cell_is_a_usage_error_and_session_keeps_working(goose, shell, server):
    result, text = run(shell, "%%goose\n   \n")
    assert isinstance(result.error_in_exec, UsageError)
    assert "empty" in str(result.error_in_exec)
    server.queue(openai_reply("fine"))
    result, text = run(shell, "%%goose\nhello")
    assert result.error_in_exec is None and "fine" in text


def test_config_masks_the_key_and_shows_sources(goose, shell):
    result, text = run(shell, "%goose config")
    assert result.error_in_exec is None
    assert SECRET not in text
    assert "sk-…cdef" in text
    assert "| GOOSE_MODEL | gpt-test | environment |" in text
    result, text = run(shell, "%goose config GOOSE_MODEL=gpt-other")
    assert "| GOOSE_MODEL | gpt-other | notebook |" in text


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("%goose config GOOSE_LEAD_TURNS=abc", "GOOSE_LEAD_TURNS=abc"),
        ("%goose config GOOSE_LEAD_TURNS=-1", "whole number >= 0"),
        ("%goose config GOOSE_PROVIDER=foo", "choose one of openai, anthropic, ollama, replay"),
        ("%goose config NOT_A_KEY=1", "unknown setting NOT_A_KEY"),
        ("%goose config GOOSE_MODEL", "expected KEY=VALUE"),
        ("%goose frobnicate", "unknown %goose command"),
        ("%goose log loud", "usage: %goose log LEVEL"),
        ("%goose record", "usage: %goose record"),
    ],
)
def test_bad_line_input_is_one_line_usage_error(goose, shell, line, fragment):
    result, _ = run(shell, line)
    assert isinstance(result.error_in_exec, UsageError)
    message = str(result.error_in_exec)
    assert fragment in message
    assert "\n" not in message


def test_bad_environment_value_is_reported_until_fixed(goose, shell, server, monkeypatch):
    monkeypatch.setenv("GOOSE_LEAD_TURNS", "abc")
    run(shell, "%goose reload")
    result, _ = run(shell, "%%goose\nhello")
    assert isinstance(result.error_in_exec, UsageError)
    assert "GOOSE_LEAD_TURNS=abc (from environment)" in str(result.error_in_exec)
    run(shell, "%goose config GOOSE_LEAD_TURNS=1")
    server.queue(openai_reply("works again"))
    result, text = run(shell, "%%goose\nhello")
    assert result.error_in_exec is None and "works again" in text


def test_unknown_provider_from_environment(goose, shell, monkeypatch):
    monkeypatch.setenv("GOOSE_PROVIDER", "gemini-ultra")
    run(shell, "%goose reload")
    result, _ = run(shell, "%%goose\nhello")
    assert "unknown GOOSE_PROVIDER=gemini-ultra" in str(result.error_in_exec)


def test_no_provider_configured_explains_how_to_configure(goose, shell, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")  # discard port: nothing answers
    run(shell, "%goose reload")
    result, _ = run(shell, "%%goose\nhello")
    message = str(result.error_in_exec)
    assert isinstance(result.error_in_exec, UsageError)
    assert "OPENAI_API_KEY" in message and "GOOSE_PROVIDER=replay" in message


def test_malformed_config_yaml_names_file_and_line(goose, shell, tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("GOOSE_MODEL: gpt-4o\nGOOSE_PROVIDER: [openai\n")
    monkeypatch.setenv("GOOSE_CONFIG_PATH", str(config))
    run(shell, "%goose reload")
    result, _ = run(shell, "%%goose\nhello")
    message = str(result.error_in_exec)
    assert str(config) in message and "line" in message


def test_401_names_the_key_variable_and_never_shows_the_key(goose, shell, server):
    server.queue(error_reply(401, f"Incorrect API key provided: {SECRET}"))
    result, text = run(shell, "%%goose\nhello")
    message = str(result.error_in_exec)
    assert isinstance(result.error_in_exec, UsageError)
    assert "OPENAI_API_KEY" in message
    assert SECRET not in message and SECRET not in text
    assert len(server.requests) == 1


def test_unreachable_server_names_the_host_variable(goose, shell, monkeypatch):
    monkeypatch.setenv("OPENAI_HOST", "http://127.0.0.1:9")
    run(shell, "%goose reload")
    goose.session.retry = type(goose.session.retry)(base_delay=0.01)
    result, _ = run(shell, "%%goose\nhello")
    message = str(result.error_in_exec)
    assert "OPENAI_HOST" in message and "gave up after 3 retries" in message


def test_failed_turn_leaves_history_as_it_was(goose, shell, server):
    server.queue(openai_reply("kept"))
    run(shell, "%%goose\none")
    server.queue(error_reply(400, "bad request"))
    result, _ = run(shell, "%%goose\ntwo")
    assert result.error_in_exec is not None
    assert [m.text for m in goose.session.history] == ["one", "kept"]
    assert [t.status for t in goose.session.turns] == ["ok", "error"]


def test_status_and_reset(goose, shell, server):
    server.queue(openai_reply("hi", usage=(30, 4)))
    run(shell, "%%goose\nhello")
    _, text = run(shell, "%goose status")
    assert "| turns | 1 |" in text and "30 in / 4 out" in text
    _, text = run(shell, "%goose")
    assert "goose_nb session" in text
    run(shell, "%goose reset")
    assert goose.session.history == [] and goose.session.turns == []
    _, text = run(shell, "%goose status")
    assert "| turns | 0 |" in text


def test_record_writes_a_scrubbed_cassette(goose, shell, server, tmp_path):
    cassette = tmp_path / "recorded.yaml"
    run(shell, f"%goose record {cassette}")
    server.queue(openai_reply("recorded answer"))
    run(shell, "%%goose\nplease record this")
    content = cassette.read_text()
    assert "recorded answer" in content and "please record this" in content
    assert "scripted: false" in content
    assert SECRET not in content
    run(shell, "%goose record off")
    assert goose.session.settings.record is None


def test_log_level_turns_on_goose_nb_logging(goose, shell):
    run(shell, "%goose log info")
    assert logging.getLogger("goose_nb").level == logging.INFO
    run(shell, "%goose log off")
    assert logging.getLogger("goose_nb").level > logging.CRITICAL


def test_help_lists_the_subcommands(goose, shell):
    doc = shell.find_line_magic("goose").__doc__
    for command in ("status", "config", "reset", "log", "record", "help"):
        assert f"%goose {command}" in doc
    _, text = run(shell, "%goose help")
    assert "%goose config KEY=VALUE" in text
    # dedented as a whole: the subcommands sit 4 spaces in, as in the docstring's layout
    assert "\n    %goose status " in text and "\n        %goose" not in text


def test_retried_stream_shows_only_the_final_answer(goose, shell, server):
    broken = openai_reply("partial partial partial", done=False)
    broken.chunks = broken.chunks[:2]
    goose.session.retry = type(goose.session.retry)(base_delay=0.01)
    server.queue(broken, Reply(**vars(openai_reply("complete answer"))))
    result, text = run(shell, "%%goose\nhello")
    assert result.error_in_exec is None
    assert "complete answer" in text and "partial" not in text
    assert "1 retry" in text


def test_costs_in_footer_and_usage_with_savings(goose, shell, server, monkeypatch):
    monkeypatch.setenv("GOOSE_MODEL", "gpt-4o-mini")
    monkeypatch.setenv("GOOSE_LEAD_MODEL", "gpt-4o")
    monkeypatch.setenv("GOOSE_LEAD_TURNS", "1")
    run(shell, "%goose reload")
    server.queue(openai_reply("planned", usage=(1000, 500)),
                 openai_reply("done", usage=(4000, 2000)))
    _, first = run(shell, "%%goose\nPlan it.")
    _, second = run(shell, "%%goose\nDo it.")
    assert "**LEAD** · `openai/gpt-4o`" in first
    assert "**WORKER** · `openai/gpt-4o-mini`" in second
    assert "⇄ lead → worker: initial turns done" in second
    assert "`$0." in first  # the footer's cost, as code: never read as maths
    _, usage = run(shell, "%goose usage")
    assert "openai/gpt-4o-mini" in usage and "worker" in usage
    assert "saved" in usage
    _, overview = run(shell, "%goose")
    assert "goose_nb timeline" in overview and "saved" in overview
    _, status = run(shell, "%goose status")
    assert "| lead/worker | worker; 0 failures of 2 |" in status


def test_show_cost_false_hides_every_money_figure(goose, shell, server, monkeypatch):
    monkeypatch.setenv("GOOSE_MODEL", "gpt-4o-mini")
    monkeypatch.setenv("GOOSE_LEAD_MODEL", "gpt-4o")
    monkeypatch.setenv("GOOSE_NB_SHOW_COST", "false")
    run(shell, "%goose reload")
    server.queue(openai_reply("fine", usage=(1000, 500)))
    _, turn = run(shell, "%%goose\nhello")
    _, usage = run(shell, "%goose usage")
    assert "$" not in turn and "$" not in usage
    assert "1,000" in usage  # tokens stay


def test_a_turn_that_failed_before_any_answer_shows_no_cost(goose, shell, server, monkeypatch):
    monkeypatch.setenv("GOOSE_MODEL", "gpt-4o-mini")  # a model with a known price
    run(shell, "%goose reload")
    server.queue(error_reply(400, "bad request"))
    result, text = run(shell, "%%goose\nhello")
    assert result.error_in_exec is not None
    assert "failed ·" in text  # the footer is there ...
    assert "$" not in text  # ... with no cost figure: nothing was priced


def test_with_lead_worker_off_the_session_view_says_nothing_of_it(goose, shell, server):
    server.queue(openai_reply("one"), openai_reply("two"))
    run(shell, "%%goose\nfirst")
    run(shell, "%%goose\nsecond")
    for command in ("%goose", "%goose timeline", "%goose status", "%goose usage"):
        _, text = run(shell, command)
        lowered = text.lower()
        for word in ("lead", "worker", "fallback"):
            assert word not in lowered, (command, word, text)
    _, timeline = run(shell, "%goose timeline")
    assert "· = step, ✗ = failed step" in timeline
