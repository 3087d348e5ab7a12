"""The bad-input corpus: every kind of mistake a user makes, met the way the user meets it.

Each case gives goose_nb one bad input -- a ``%goose config KEY=VALUE``, an environment
variable, a broken ``config.yaml``, a wrong magic argument, a broken recipe, a broken
cassette, a broken prices file, a wrong argument to the ``Session`` API -- through the magics
in IPython's shell (``run_cell``) or, where the input is an API argument, through ``Session``,
against the local model server (nothing goes to a real network). Each case asserts:

1. the error is ONE line: no newline in the message and no traceback text ("Traceback",
   ``File "``) anywhere in the cell's output; it is the right kind (``UsageError`` from a
   magic; ``ConfigError``, ``GooseError``, ``RecipeError`` from the API), it names the
   problem and the fix (a distinctive fragment per case: the setting, the value, the file,
   the line), and it never shows the API key;
2. the NEXT cell works: right after the bad one, a good ``%%goose`` cell is answered by the
   local model server -- or, for input that stays wrong until it is changed (the
   environment, config.yaml, a recipe or cassette file), fixing that input as the message
   says makes the next cell work.

A broken prices file is not an error: the turn answers, and a one-line warning "costs are
not shown: ..." naming the file is shown once (the next turn does not repeat it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import OPENAI_KEY, register_goose
from conftest import run_cell as run
from IPython.core.error import UsageError
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from model_server import ModelServer, openai_reply

from goose_nb.config import MAX_CONFIG_BYTES
from goose_nb.errors import ConfigError, GooseError, RecipeError
from goose_nb.events import Notice
from goose_nb.magics.goose import GooseMagics
from goose_nb.session import Session, load_recipe

SECRET = "sk-test-BADINPUTSECRET0123456789abcdef"
#: what the local server answers to the good cell that follows every bad one
ANSWER = "The next cell answers."
#: what a traceback wall would show in a cell's output
TRACEBACK_TEXT = ("Traceback", 'File "')

RECIPE_HEAD = "version: 1.0.0\ntitle: Bad input\ndescription: A recipe of the bad-input corpus\n"
#: a good recipe in the recipe folder, for the cases whose arguments are wrong
HELLO = RECIPE_HEAD + """\
prompt: Say hello to {{ name }}.
parameters:
  - key: name
    input_type: string
    requirement: required
    description: who to greet
"""


# fixtures and checks -------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.fixture
def recipes(tmp_path: Path) -> Path:
    """The folder GOOSE_RECIPE_PATH names, holding the good ``hello`` recipe."""
    folder = tmp_path / "my-recipes"
    folder.mkdir()
    (folder / "hello.yaml").write_text(HELLO, encoding="utf-8")
    return folder


@pytest.fixture
def start(shell: InteractiveShell, server: ModelServer, recipes: Path, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., GooseMagics]]:
    """``start(**env)``: a freshly registered extension in a notebook folder of its own
    (an empty home, no config.yaml), the worker on the local server, ``env`` on top (a
    ``None`` value leaves that variable unset)."""
    notebook = tmp_path / "notebook"
    notebook.mkdir()
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(notebook)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    started: list[GooseMagics] = []

    def start_goose(**env: str | None) -> GooseMagics:
        values = {"GOOSE_PROVIDER": "openai", "GOOSE_MODEL": "gpt-test",
                  "GOOSE_RECIPE_PATH": str(recipes), **env}
        magics = register_goose(shell, server, tmp_path, monkeypatch, SECRET,
                                **{k: v for k, v in values.items() if v is not None})
        started.append(magics)
        return magics

    yield start_goose
    for magics in started:
        magics.session.close()


@pytest.fixture
def goose(start: Callable[..., GooseMagics]) -> GooseMagics:
    return start()


def one_line_usage_error(result: ExecutionResult, output: str, *fragments: str) -> str:
    """The cell failed with a one-line ``UsageError`` holding every fragment, and showed
    no traceback and no key."""
    error = result.error_in_exec
    assert isinstance(error, UsageError), f"{type(error).__name__}: {error}\n{output}"
    message = str(error)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    for text in TRACEBACK_TEXT:
        assert text not in output, output
    assert SECRET not in output
    return message


def one_line_error(error: BaseException, *fragments: str) -> str:
    """An API error of one line holding every fragment, showing no key."""
    message = str(error)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert OPENAI_KEY not in message and SECRET not in message
    return message


def cell_answers(shell: InteractiveShell, server: ModelServer, prompt: str = "hello") -> str:
    """A good ``%%goose`` cell is answered by the local server; returns its output."""
    server.queue(openai_reply(ANSWER))
    result, output = run(shell, f"%%goose\n{prompt}")
    assert result.error_in_exec is None, f"{result.error_in_exec}\n{output}"
    assert ANSWER in output
    assert server.requests[-1].json["messages"][-1]["content"] == prompt
    return output


def runs(shell: InteractiveShell, source: str) -> str:
    """A cell that must succeed (a fix, a reload); returns its output."""
    result, output = run(shell, source)
    assert result.error_in_exec is None, f"{source}: {result.error_in_exec}\n{output}"
    return output


# %goose config KEY=VALUE ----------------------------------------------------------------

NOT_VALID = "(from notebook) is not valid"
WHOLE = "expected a whole number >= "

CONFIG_CASES = [
    pytest.param("GOOSE_NB_STREAM_IDLE_TIMEOUT=0",
                 f"GOOSE_NB_STREAM_IDLE_TIMEOUT=0 {NOT_VALID}: {WHOLE}1",
                 "GOOSE_NB_STREAM_IDLE_TIMEOUT=5", id="idle-timeout-zero"),
    pytest.param("GOOSE_NB_STEP_TIMEOUT=abc", f"GOOSE_NB_STEP_TIMEOUT=abc {NOT_VALID}: {WHOLE}1",
                 "GOOSE_NB_STEP_TIMEOUT=30", id="step-timeout-not-a-number"),
    pytest.param("GOOSE_NB_MAX_ANSWER_CHARS=-1",
                 f"GOOSE_NB_MAX_ANSWER_CHARS=-1 {NOT_VALID}: {WHOLE}1",
                 "GOOSE_NB_MAX_ANSWER_CHARS=1000", id="max-answer-chars-negative"),
    pytest.param("GOOSE_NB_RENDER_TIMEOUT=0", f"GOOSE_NB_RENDER_TIMEOUT=0 {NOT_VALID}: {WHOLE}1",
                 "GOOSE_NB_RENDER_TIMEOUT=2", id="render-timeout-zero"),
    pytest.param("GOOSE_LEAD_TURNS=x", f"GOOSE_LEAD_TURNS=x {NOT_VALID}: {WHOLE}0",
                 "GOOSE_LEAD_TURNS=0", id="lead-turns-letter"),
    pytest.param("GOOSE_LEAD_FAILURE_THRESHOLD=0",
                 f"GOOSE_LEAD_FAILURE_THRESHOLD=0 {NOT_VALID}: {WHOLE}1",
                 "GOOSE_LEAD_FAILURE_THRESHOLD=1", id="failure-threshold-zero"),
    pytest.param("GOOSE_MAX_STEPS=2.5", f"GOOSE_MAX_STEPS=2.5 {NOT_VALID}: {WHOLE}1",
                 "GOOSE_MAX_STEPS=5", id="max-steps-fraction"),
    pytest.param("GOOSE_MAX_TOKENS=1_000", f"GOOSE_MAX_TOKENS=1_000 {NOT_VALID}: {WHOLE}1",
                 "GOOSE_MAX_TOKENS=1000", id="max-tokens-underscore"),
    pytest.param("GOOSE_CONTEXT_LIMIT=٣٢٠٠٠", f"GOOSE_CONTEXT_LIMIT=٣٢٠٠٠ {NOT_VALID}",
                 "GOOSE_CONTEXT_LIMIT=32000", id="context-limit-arabic-digits"),
    pytest.param("GOOSE_SUBAGENT_TIMEOUT=5m", f"GOOSE_SUBAGENT_TIMEOUT=5m {NOT_VALID}: {WHOLE}1",
                 "GOOSE_SUBAGENT_TIMEOUT=300", id="subagent-timeout-with-unit"),
    pytest.param("NOT_A_KEY=1", "unknown setting NOT_A_KEY; `%goose config` lists the keys",
                 "GOOSE_MODEL=gpt-test", id="unknown-key"),
    pytest.param("GOOSE_MODE=yolo",
                 f"GOOSE_MODE=yolo {NOT_VALID}: choose one of auto, approve, smart_approve, chat",
                 "GOOSE_MODE=auto", id="mode-unknown"),
    pytest.param("GOOSE_PROVIDER=gemini",
                 "unknown GOOSE_PROVIDER=gemini (from notebook): choose one of openai, "
                 "anthropic, ollama, replay", "GOOSE_PROVIDER=openai", id="provider-unknown"),
    pytest.param("GOOSE_NB_WORKSPACE=/no/such/folder",
                 "GOOSE_NB_WORKSPACE=/no/such/folder (from notebook) is not a folder; give an "
                 "existing folder", "GOOSE_NB_WORKSPACE={tmp}", id="workspace-missing-folder"),
    pytest.param("GOOSE_NB_SHOW_COST=maybe",
                 f"GOOSE_NB_SHOW_COST=maybe {NOT_VALID}: use true/false, yes/no or 1/0",
                 "GOOSE_NB_SHOW_COST=no", id="show-cost-maybe"),
    pytest.param("OPENAI_HOST=ftp://x", "OPENAI_HOST=ftp://x (from notebook) is not a valid URL",
                 "OPENAI_HOST={server}", id="openai-host-ftp"),
    pytest.param("OPENAI_HOST=http://[::1", "OPENAI_HOST=http://[::1 (from notebook) is not a "
                 "valid URL", "OPENAI_HOST={server}", id="openai-host-unclosed-bracket"),
    pytest.param("ANTHROPIC_HOST=https://api.anthropic.com:port",
                 "ANTHROPIC_HOST=https://api.anthropic.com:port (from notebook) is not a valid "
                 "URL", "ANTHROPIC_HOST=https://api.anthropic.com", id="anthropic-host-bad-port"),
    pytest.param('"GOOSE_MODEL={two_lines}"',
                 "GOOSE_MODEL='gpt-4o\\nmini' (from notebook) is not valid: it holds a line break",
                 "GOOSE_MODEL=gpt-test", id="model-with-a-newline"),
]


@pytest.mark.parametrize(("assignment", "fragment", "fix"), CONFIG_CASES)
def test_a_bad_config_value_is_refused_and_the_session_goes_on(
        goose, shell, server, tmp_path, monkeypatch, assignment, fragment, fix):
    monkeypatch.setitem(shell.user_ns, "two_lines", "gpt-4o\nmini")
    result, output = run(shell, f"%goose config {assignment}")
    one_line_usage_error(result, output, fragment)
    cell_answers(shell, server)  # the bad value was refused: nothing changed
    fix = fix.format(tmp=tmp_path, server=server.url)
    key = fix.split("=", 1)[0]
    assert re.search(rf"\| {key} \| [^|]+ \| notebook \|", runs(shell, f"%goose config {fix}"))
    cell_answers(shell, server, "hello again")


# environment variables -------------------------------------------------------------------

ENV_CASES = [
    pytest.param({"GOOSE_LEAD_TURNS": "abc"},
                 "GOOSE_LEAD_TURNS=abc (from environment) is not valid: expected a whole "
                 "number >= 0", {"GOOSE_LEAD_TURNS": "1"}, id="lead-turns-abc"),
    pytest.param({"GOOSE_NB_STREAM_IDLE_TIMEOUT": "0"},
                 "GOOSE_NB_STREAM_IDLE_TIMEOUT=0 (from environment)",
                 {"GOOSE_NB_STREAM_IDLE_TIMEOUT": "5"}, id="idle-timeout-zero"),
    pytest.param({"GOOSE_NB_STEP_TIMEOUT": "ten"}, "GOOSE_NB_STEP_TIMEOUT=ten (from environment)",
                 {"GOOSE_NB_STEP_TIMEOUT": "10"}, id="step-timeout-word"),
    pytest.param({"GOOSE_NB_MAX_ANSWER_CHARS": "-1"},
                 "GOOSE_NB_MAX_ANSWER_CHARS=-1 (from environment)",
                 {"GOOSE_NB_MAX_ANSWER_CHARS": "5000"}, id="max-answer-chars-negative"),
    pytest.param({"GOOSE_NB_RENDER_TIMEOUT": "0"}, "GOOSE_NB_RENDER_TIMEOUT=0 (from environment)",
                 {"GOOSE_NB_RENDER_TIMEOUT": "3"}, id="render-timeout-zero"),
    pytest.param({"GOOSE_MODE": "yolo"},
                 "GOOSE_MODE=yolo (from environment) is not valid: choose one of auto",
                 {"GOOSE_MODE": "chat"}, id="mode-unknown"),
    pytest.param({"GOOSE_PROVIDER": "gemini"},
                 "unknown GOOSE_PROVIDER=gemini (from environment): choose one of openai",
                 {"GOOSE_PROVIDER": "openai"}, id="provider-unknown"),
    pytest.param({"GOOSE_NB_WORKSPACE": "/no/such/folder"},
                 "GOOSE_NB_WORKSPACE=/no/such/folder (from environment) is not a folder",
                 {"GOOSE_NB_WORKSPACE": "{tmp}"}, id="workspace-missing-folder"),
    pytest.param({"GOOSE_NB_SHOW_COST": "maybe"},
                 "GOOSE_NB_SHOW_COST=maybe (from environment) is not valid: use true/false",
                 {"GOOSE_NB_SHOW_COST": "TRUE"}, id="show-cost-maybe"),
    pytest.param({"OPENAI_HOST": "http://[::1"},
                 "OPENAI_HOST=http://[::1 (from environment) is not a valid URL",
                 {"OPENAI_HOST": "{server}"}, id="openai-host-unclosed-bracket"),
    pytest.param({"OPENAI_HOST": "ftp://x"},
                 "OPENAI_HOST=ftp://x (from environment) is not a valid URL: write it as "
                 "https://host[:port]", {"OPENAI_HOST": "{server}"}, id="openai-host-ftp"),
    pytest.param({"OPENAI_HOST": "http://127.0.0.1 :8000"},
                 "OPENAI_HOST=http://127.0.0.1 :8000 (from environment) is not a valid URL",
                 {"OPENAI_HOST": "{server}"}, id="openai-host-with-a-space"),
    pytest.param({"ANTHROPIC_HOST": "not a url"},
                 "ANTHROPIC_HOST=not a url (from environment) is not a valid URL",
                 {"ANTHROPIC_HOST": "https://api.anthropic.com"}, id="anthropic-host-words"),
    pytest.param({"OLLAMA_HOST": ":::"}, "OLLAMA_HOST=::: (from environment) is not a valid URL",
                 {"OLLAMA_HOST": "localhost:11434"}, id="ollama-host-colons"),
    pytest.param({"GOOSE_MODEL": "gpt-4o\nmini"},
                 "GOOSE_MODEL='gpt-4o\\nmini' (from environment) is not valid: it holds a line "
                 "break", {"GOOSE_MODEL": "gpt-test"}, id="model-with-a-newline"),
]


@pytest.mark.parametrize(("env", "fragment", "fix"), ENV_CASES)
def test_a_bad_environment_value_fails_every_cell_until_it_is_fixed(
        start, shell, server, tmp_path, monkeypatch, env, fragment, fix):
    start(**env)
    for _ in range(2):  # reported by every cell, not once
        result, output = run(shell, "%%goose\nhello")
        one_line_usage_error(result, output, fragment)
    assert server.requests == []
    for name, value in fix.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path, server=server.url))
    runs(shell, "%goose reload")
    cell_answers(shell, server)


API_ENV_CASES = [
    pytest.param({"GOOSE_LEAD_TURNS": "-1"}, "GOOSE_LEAD_TURNS=-1 (from environment)",
                 ("GOOSE_LEAD_TURNS", "2"), id="lead-turns-negative"),
    pytest.param({"OPENAI_HOST": "ftp://x"}, "OPENAI_HOST=ftp://x (from environment)",
                 ("OPENAI_HOST", "{server}"), id="openai-host-ftp"),
    pytest.param({"GOOSE_MODEL": "gpt\nx"}, "GOOSE_MODEL='gpt\\nx' (from environment)",
                 ("GOOSE_MODEL", "gpt-test"), id="model-with-a-newline"),
    pytest.param({"GOOSE_LEAD_PROVIDER": "gemini"},
                 "unknown GOOSE_LEAD_PROVIDER=gemini (from environment)",
                 ("GOOSE_LEAD_PROVIDER", "openai"), id="lead-provider-unknown"),
]


@pytest.mark.parametrize(("env", "fragment", "fix"), API_ENV_CASES)
def test_a_bad_environment_given_to_a_session_is_a_config_error_until_overridden(
        model_server, make_session, env, fragment, fix):
    session = make_session(model_server, **{"GOOSE_MODEL": "gpt-test", **env})
    with pytest.raises(ConfigError) as info:
        session.ask("hello")
    one_line_error(info.value, fragment)
    assert session.history == [] and model_server.requests == []
    session.set_override(fix[0], fix[1].format(server=model_server.url))
    model_server.queue(openai_reply(ANSWER))
    assert session.ask("hello").answer == ANSWER


# config.yaml -------------------------------------------------------------------------------

CONFIG_FILE_CASES = [
    pytest.param(b"GOOSE_MODEL: caf\xe9\n", "is not UTF-8 text (byte 16); save it as UTF-8",
                 id="not-utf8"),
    pytest.param(b"#" * (MAX_CONFIG_BYTES + 1), f"is {MAX_CONFIG_BYTES + 1:,} bytes, more than "
                 "a config file needs", id="too-large"),
    pytest.param(b"GOOSE_MODEL: gpt-4o\nGOOSE_PROVIDER: [openai\n",
                 ", line 3: expected ',' or ']', but got '<stream end>'; fix the file or set "
                 "GOOSE_CONFIG_PATH", id="invalid-yaml"),
    pytest.param(b"- GOOSE_MODEL: gpt-4o\n- GOOSE_PROVIDER: openai\n",
                 ": expected a mapping of KEY: value at the top level, got list; fix the file "
                 "or set GOOSE_CONFIG_PATH", id="a-list"),
    pytest.param(b"GOOSE_LEAD_TURNS: -3\n", "GOOSE_LEAD_TURNS=-3 (from {path}) is not valid",
                 id="negative-lead-turns"),
    pytest.param(b"GOOSE_LEAD_TURNS: true\n",
                 "GOOSE_LEAD_TURNS=True (from {path}) is not valid", id="boolean-lead-turns"),
    pytest.param(b"GOOSE_NB_SHOW_COST: maybe\n",
                 "GOOSE_NB_SHOW_COST=maybe (from {path}) is not valid", id="show-cost-maybe"),
    pytest.param(b"GOOSE_MODE: [auto]\n", "GOOSE_MODE=['auto'] (from {path}) is not valid",
                 id="mode-a-list"),
    pytest.param(b"OLLAMA_HOST: 'http://localhost:11434 '\nANTHROPIC_HOST: ftp://a\n",
                 "ANTHROPIC_HOST=ftp://a (from {path}) is not a valid URL",
                 id="anthropic-host-ftp"),
    pytest.param(None, ": Is a directory", id="a-folder"),
]


@pytest.mark.parametrize(("content", "fragment"), CONFIG_FILE_CASES)
def test_a_broken_config_yaml_names_the_file_until_it_is_fixed(
        start, shell, server, tmp_path, monkeypatch, content, fragment):
    config = tmp_path / "goose" / "my-config.yaml"  # GOOSE_CONFIG_PATH may name any file
    if content is None:
        config.mkdir(parents=True)
    else:
        config.parent.mkdir()
        config.write_bytes(content)
    start(GOOSE_CONFIG_PATH=str(config))
    result, output = run(shell, "%%goose\nhello")
    one_line_usage_error(result, output, str(config), fragment.format(path=config))
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text("GOOSE_MODEL: gpt-test\nGOOSE_LEAD_TURNS: 1\n", encoding="utf-8")
    monkeypatch.setenv("GOOSE_CONFIG_PATH", str(fixed))
    runs(shell, "%goose reload")
    cell_answers(shell, server)


# magic arguments ------------------------------------------------------------------------

MAGIC_CASES = [
    pytest.param("%goose frobnicate", "unknown %goose command 'frobnicate'; try: overview",
                 id="goose-unknown-subcommand"),
    pytest.param("%goose config GOOSE_MODEL", "expected KEY=VALUE, got 'GOOSE_MODEL'",
                 id="goose-config-without-equals"),
    pytest.param("%goose config =gpt-4o", "expected KEY=VALUE, got '=gpt-4o'",
                 id="goose-config-without-key"),
    pytest.param("%goose config 'GOOSE_MODEL=gpt", "cannot parse", id="goose-config-open-quote"),
    pytest.param("%goose log nonsense",
                 "usage: %goose log LEVEL, with LEVEL one of trace, debug, info, warn, warning,"
                 " error, off",
                 id="goose-log-nonsense"),
    pytest.param("%goose record", "usage: %goose record PATH.yaml", id="goose-record-no-path"),
    pytest.param("%goose settings now", "%goose settings takes no arguments",
                 id="goose-settings-argument"),
    pytest.param("%%goose --model gpt-4o\nhello", "%%goose takes only --budget DOLLARS (got "
                 "'--model gpt-4o')", id="goose-cell-with-arguments"),
    pytest.param("%%goose --budget\nhello", "--budget needs an amount of dollars above 0",
                 id="goose-budget-without-amount"),
    pytest.param("%%goose\n   \n\t\n", "the %%goose cell is empty: write your prompt",
                 id="goose-empty-cell"),
    pytest.param("%goose_recipe run", "usage: %goose_recipe run NAME [--budget DOLLARS] "
                 "key=value",
                 id="recipe-run-without-name"),
    pytest.param("%goose_recipe run no-such-recipe", "no recipe named 'no-such-recipe': looked "
                 "for no-such-recipe, no-such-recipe.yaml", id="recipe-run-missing-recipe"),
    pytest.param("%goose_recipe run ./nowhere/r.yaml", "no recipe file at ./nowhere/r.yaml",
                 id="recipe-run-missing-path"),
    pytest.param("%goose_recipe run hello name", "expected key=value, got 'name'",
                 id="recipe-run-key-without-value"),
    pytest.param("%goose_recipe run hello =Ann", "expected key=value, got '=Ann'",
                 id="recipe-run-value-without-key"),
    pytest.param("%goose_recipe run hello --unknown-flag", "unknown flag '--unknown-flag': "
                 "%goose_recipe run takes only --budget DOLLARS; give the recipe's parameters "
                 "as key=value",
                 id="recipe-run-unknown-flag"),
    pytest.param("%goose_recipe cook hello", "unknown %goose_recipe command 'cook'; try: list",
                 id="recipe-unknown-subcommand"),
    pytest.param("%goose_recipe show", "usage: %goose_recipe show NAME",
                 id="recipe-show-without-name"),
    pytest.param("%%goose_recipe list\nbody", "only `%%goose_recipe run NAME ...` takes a cell "
                 "body", id="recipe-cell-body-on-list"),
    pytest.param("%%goose_subagents --timeout x\n- a task",
                 "--timeout 'x' is not a duration: use seconds or a suffix, e.g. 90s or 7m",
                 id="subagents-timeout-x"),
    pytest.param("%%goose_subagents --timeout 0s\n- a task",
                 "--timeout must be more than 0 seconds", id="subagents-timeout-zero"),
    pytest.param("%%goose_subagents --timeout\n- a task", "--timeout needs a value; usage:",
                 id="subagents-timeout-without-value"),
    pytest.param("%%goose_subagents --max-turns 0\n- a task",
                 "--max-turns needs a whole number of at least 1, not '0'",
                 id="subagents-max-turns-zero"),
    pytest.param("%%goose_subagents --max-concurrency two\n- a task",
                 "--max-concurrency needs a whole number of at least 1, not 'two'",
                 id="subagents-max-concurrency-word"),
    pytest.param("%%goose_subagents --paralel\n- a task", "unknown flag --paralel; usage:",
                 id="subagents-misspelt-flag"),
    pytest.param("%%goose_subagents --parallel\n  \n", "no tasks given; usage:",
                 id="subagents-no-tasks"),
    pytest.param("%%goose_subagents\n# the regions\n- North: rows: 3\n- South",
                 "the task list is not valid YAML at line 2 (mapping values are not allowed "
                 "here); quote an item", id="subagents-task-list-not-yaml"),
    pytest.param("%%goose_subagents\n- prompt: count the rows\n  max_turns: 0",
                 "task 1 of the list is not valid: max_turns: Input should be greater than or "
                 "equal to 1",
                 id="subagents-task-max-turns-zero"),
    pytest.param("%%goose_subagents\n- a task\n- promt: typo in the key",
                 "task 2 of the list is not valid: promt: Extra inputs are not permitted",
                 id="subagents-task-unknown-key"),
    pytest.param("%%goose_subagents\n- prompt: wait\n  timeout: soon",
                 "task 1 of the list is not valid: timeout: timeout 'soon' is not a duration",
                 id="subagents-task-timeout-word"),
    pytest.param("%goose_plan frobnicate", "usage: %%goose_plan (a request in the cell), or "
                 "%goose_plan run | show | edit | discard", id="plan-unknown-subcommand"),
    pytest.param("%goose_plan run", "there is no plan to run: write a request in a "
                 "%%goose_plan cell first", id="plan-run-without-plan"),
    pytest.param("%%goose_plan now\nclean the data", "%%goose_plan takes no arguments but `set`",
                 id="plan-cell-with-arguments"),
    pytest.param("%%goose_plan\n  \n", "the %%goose_plan cell is empty: write your request",
                 id="plan-empty-cell"),
    pytest.param("%%goose_plan set\njust some words", "the plan needs numbered steps (1. …)",
                 id="plan-set-without-steps"),
]


@pytest.mark.parametrize(("source", "fragment"), MAGIC_CASES)
def test_a_bad_magic_argument_is_one_line_and_the_next_cell_works(
        goose, shell, server, source, fragment):
    result, output = run(shell, source)
    one_line_usage_error(result, output, fragment)
    assert server.requests == []  # refused before anything was sent
    cell_answers(shell, server)


# the Session API -----------------------------------------------------------------------


def _empty_prompt(session: Session) -> Any:
    return session.ask("  \n ")


def _plan_without_plan(session: Session) -> Any:
    return session.run_plan()


def _no_tasks(session: Session) -> Any:
    return session.run_subagents([])


def _misspelt_task_key(session: Session) -> Any:
    return session.run_subagents([{"promt": "count the rows"}])


def _negative_timeout(session: Session) -> Any:
    return session.run_subagents(["count the rows"], timeout=-5)


def _timeout_in_words(session: Session) -> Any:
    return session.run_subagents(["count the rows"], timeout="soon")  # type: ignore[arg-type]


def _zero_turns(session: Session) -> Any:
    return session.run_subagents(["count the rows"], max_turns=0)


def _unknown_override(session: Session) -> Any:
    return session.set_override("GOOSE_MODLE", "gpt-4o")


def _bad_override(session: Session) -> Any:
    return session.set_override("GOOSE_LEAD_TURNS", "three")


def _missing_recipe(session: Session) -> Any:
    return load_recipe("no-such-recipe", recipe_path="")


API_CASES = [
    pytest.param(_empty_prompt, GooseError, "the prompt is empty", id="ask-empty-prompt"),
    pytest.param(_plan_without_plan, GooseError, "there is no plan to run",
                 id="run-plan-without-plan"),
    pytest.param(_no_tasks, GooseError, "no subagent tasks given", id="run-subagents-no-tasks"),
    pytest.param(_misspelt_task_key, GooseError, "task 1 of the list is not valid: promt: "
                 "Extra inputs are not permitted", id="run-subagents-misspelt-key"),
    pytest.param(_negative_timeout, GooseError, "timeout must be more than 0 seconds, not -5",
                 id="run-subagents-negative-timeout"),
    pytest.param(_timeout_in_words, GooseError, "timeout 'soon' is not a duration: use seconds "
                 "or a suffix", id="run-subagents-timeout-in-words"),
    pytest.param(_zero_turns, GooseError, "max_turns must be a whole number of at least 1, "
                 "not 0", id="run-subagents-zero-turns"),
    pytest.param(_unknown_override, ConfigError, "unknown setting GOOSE_MODLE",
                 id="override-unknown-key"),
    pytest.param(_bad_override, ConfigError, "GOOSE_LEAD_TURNS=three (from notebook)",
                 id="override-bad-value"),
    pytest.param(_missing_recipe, RecipeError, "no recipe named 'no-such-recipe'",
                 id="load-recipe-missing"),
]


@pytest.mark.parametrize(("call", "kind", "fragment"), API_CASES)
def test_a_bad_api_argument_is_one_line_and_the_session_goes_on(
        model_server, make_session, tmp_path, monkeypatch, call, kind, fragment):
    monkeypatch.chdir(tmp_path)
    session = make_session(model_server, GOOSE_MODEL="gpt-test")
    with pytest.raises(GooseError) as info:
        call(session)
    assert isinstance(info.value, kind), repr(info.value)
    one_line_error(info.value, fragment)
    assert model_server.requests == []  # refused before anything was sent
    model_server.queue(openai_reply(ANSWER))
    assert session.ask("hello").answer == ANSWER


def test_a_session_given_a_bad_override_is_refused_at_once(model_server, make_session):
    with pytest.raises(ConfigError) as info:
        Session({"GOOSE_NB_STREAM_IDLE_TIMEOUT": "0"}, environ={})
    one_line_error(info.value, "GOOSE_NB_STREAM_IDLE_TIMEOUT=0 (from notebook)")
    session = make_session(model_server, GOOSE_MODEL="gpt-test")
    model_server.queue(openai_reply(ANSWER))
    assert session.ask("hello").answer == ANSWER


# recipes ------------------------------------------------------------------------------------


def param_block(key: str, input_type: str = "string", requirement: str = "required",
                extra: str = "") -> str:
    return (f"  - key: {key}\n    input_type: {input_type}\n    requirement: {requirement}\n"
            f"    description: {key}\n{extra}")


RECIPE_CASES = [
    pytest.param("broken.yaml", RECIPE_HEAD + "prompt: [unclosed\n", "broken",
                 "broken.yaml, line 5: expected ',' or ']', but got '<stream end>' (not valid "
                 "YAML)", id="invalid-yaml"),
    pytest.param("broken.json", '{"title": "x",\n "prompt": }', "broken.json",
                 "broken.json, line 2: not valid JSON", id="invalid-json"),
    pytest.param("listy.yaml", "- title: x\n- prompt: y\n", "listy",
                 "listy.yaml: expected a mapping of recipe fields (title, description, "
                 "instructions, prompt, ...), got list", id="not-a-mapping"),
    pytest.param("empty.yaml", RECIPE_HEAD, "empty",
                 "empty.yaml: a recipe needs at least one of `instructions` or `prompt`",
                 id="no-instructions-no-prompt"),
    pytest.param("undeclared.yaml", RECIPE_HEAD + "prompt: Greet {{ who }}.\n", "undeclared",
                 "undeclared.yaml: template variables without a parameter definition: who",
                 id="undeclared-parameter"),
    pytest.param("requirement.yaml", RECIPE_HEAD + "prompt: Greet {{ who }}.\nparameters:\n"
                 + param_block("who", requirement="maybe"), "requirement",
                 "requirement.yaml, line 8: parameters[0].requirement: Input should be "
                 "'required', 'optional' or 'user_prompt', got 'maybe'", id="bad-requirement"),
    pytest.param("hello.yaml", None, "hello",
                 "hello.yaml: missing required parameter(s) name; give them as name=VALUE",
                 id="missing-required-parameter"),
    pytest.param("hello.yaml", None, "hello colour=red",
                 "hello.yaml: unknown parameter(s) colour; the recipe's parameters: name",
                 id="unknown-parameter"),
    pytest.param("count.yaml", RECIPE_HEAD + "prompt: Count to {{ n }}.\nparameters:\n"
                 + param_block("n", "number"), "count n=abc",
                 "count.yaml: parameter 'n' must be a number, got 'abc'", id="number-given-abc"),
    pytest.param("flag.yaml", RECIPE_HEAD + "prompt: Verbose {{ v }}.\nparameters:\n"
                 + param_block("v", "boolean"), "flag v=maybe",
                 "flag.yaml: parameter 'v' must be true or false, got 'maybe'",
                 id="boolean-given-maybe"),
    pytest.param("pick.yaml", RECIPE_HEAD + "prompt: Use {{ c }}.\nparameters:\n"
                 + param_block("c", "select", extra="    options: [red, green]\n"), "pick c=blue",
                 "pick.yaml: parameter 'c' must be one of red, green; got 'blue'",
                 id="select-outside-options"),
    pytest.param("escape.yaml", RECIPE_HEAD + "prompt: \"{{ ''.__class__.__mro__ }}\"\n",
                 "escape", "escape.yaml: prompt: refused by the template sandbox",
                 id="sandbox-escape"),
    pytest.param("huge.yaml", RECIPE_HEAD + "prompt: \"{% for i in range(2000) %}"
                 "{{ 'x' * 1000 }}{% endfor %}\"\n", "huge",
                 "huge.yaml: prompt: the template renders to more than 1,000,000 characters; "
                 "simplify it", id="renders-past-a-million-characters"),
    pytest.param("outside.yaml", RECIPE_HEAD + "prompt: '{% include \"../secret.txt\" %}'\n",
                 "outside", "outside.yaml: prompt: refused by the template sandbox: "
                 "'../secret.txt' is outside the recipe's folder", id="include-outside-folder"),
    pytest.param("absolute.yaml", RECIPE_HEAD + "prompt: '{% include \"/etc/hostname\" %}'\n",
                 "absolute", "'/etc/hostname' is outside the recipe's folder",
                 id="include-absolute-path"),
    pytest.param("nofile.yaml", RECIPE_HEAD + "prompt: '{% include \"part.md\" %}'\n", "nofile",
                 "nofile.yaml: prompt: include 'part.md' not found in the recipe's folder",
                 id="include-missing-file"),
    pytest.param("unclosed.yaml", RECIPE_HEAD + "prompt: '{% if true %}yes'\n", "unclosed",
                 "unclosed.yaml, line 4: template error", id="template-syntax-error"),
    pytest.param("latin1.yaml", (RECIPE_HEAD + "prompt: caf\xe9\n").encode("latin-1"), "latin1",
                 "latin1.yaml: not UTF-8 text (byte", id="not-utf8"),
    pytest.param("extends.yaml", "{% extends 'base.yaml' %}\n" + RECIPE_HEAD, "extends",
                 "extends.yaml: whole-file template inheritance ({% extends %}) is not supported",
                 id="whole-file-extends"),
    pytest.param("provider.yaml", RECIPE_HEAD + "prompt: Hi.\nsettings:\n  goose_provider: "
                 "gemini\n  goose_model: gemini-pro\n", "provider",
                 "provider.yaml: settings.goose_provider 'gemini' is not supported by goose_nb",
                 id="unsupported-provider"),
]


@pytest.mark.parametrize(("file", "content", "arguments", "fragment"), RECIPE_CASES)
def test_a_broken_recipe_is_one_line_naming_the_file(
        goose, shell, server, recipes, tmp_path, file, content, arguments, fragment):
    (tmp_path / "secret.txt").write_text("TOP SECRET", encoding="utf-8")
    if content is not None:
        path = recipes / file
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    result, output = run(shell, f"%goose_recipe run {arguments}")
    message = one_line_usage_error(result, output, str(recipes / file), fragment)
    assert "TOP SECRET" not in output and "TOP SECRET" not in message
    assert server.requests == []
    cell_answers(shell, server)


def test_a_template_whose_loops_never_end_stops_at_the_render_timeout(
        goose, shell, server, recipes):
    (recipes / "forever.yaml").write_text(
        RECIPE_HEAD + "prompt: \"{% for i in range(100000) %}{% for j in range(100000) %}"
        "{% endfor %}{% endfor %}\"\n", encoding="utf-8")
    runs(shell, "%goose config GOOSE_NB_RENDER_TIMEOUT=1")
    result, output = run(shell, "%goose_recipe run forever")
    one_line_usage_error(result, output, str(recipes / "forever.yaml"),
                         "prompt: the template ran past 1 s", "GOOSE_NB_RENDER_TIMEOUT")
    cell_answers(shell, server)


# cassettes -----------------------------------------------------------------------------------


def cassette_text(prompt: str, answer: str = ANSWER, model: str = "demo-model") -> str:
    return ("scripted: true\ninteractions:\n"
            f"  - request: {{model: {model}, last_message: {{role: user, text: '{prompt}'}}}}\n"
            f"    response: {{model: {model}, text: '{answer}'}}\n")


LONG = "Summarise the quarterly sales table for the board, region by region, " * 2

CASSETTE_CASES = [
    pytest.param(None, "hello", None, "does not exist; check GOOSE_NB_CASSETTE",
                 id="missing-file"),
    pytest.param("folder", "hello", None, "(Is a directory); check GOOSE_NB_CASSETTE",
                 id="a-folder"),
    pytest.param(b"scripted: true\nnote: caf\xe9\n", "hello", None,
                 "(not UTF-8 text); check GOOSE_NB_CASSETTE", id="not-utf8"),
    pytest.param(b"scripted: false\ninteractions: [\n  {oops\n", "hello", None,
                 ", line 4 is not valid YAML (expected ',' or '}', but got '<stream end>'); "
                 "fix the file, or re-record it with GOOSE_NB_RECORD", id="invalid-yaml"),
    pytest.param(b"interactions: []\n", "hello", None, "has no 'scripted:' header: recorded "
                 "cassettes say 'scripted: false'", id="no-scripted-header"),
    pytest.param(b"", "hello", None, "has no 'scripted:' header", id="empty-file"),
    pytest.param(b"format: goose_nb-cassette/9\nscripted: false\nsteps: []\n", "hello", None,
                 "is in format 'goose_nb-cassette/9', which goose_nb does not read",
                 id="unknown-format"),
    pytest.param(b"scripted: true\ninteractions:\n  - request: {model: m, last_message: "
                 b"{role: user, text: hello}}\n", "hello", None, ": interactions.0.response: Field "
                 "required; fix the file, or re-record it with GOOSE_NB_RECORD",
                 id="interaction-without-response"),
    pytest.param(b"scripted: perhaps\n", "hello", None,
                 ": scripted: Input should be a valid boolean, unable to interpret input; fix "
                 "the file", id="scripted-not-a-boolean"),
    pytest.param(cassette_text(LONG + "in euros").encode(), LONG + "in dollars", None,
                 "region, in euros'", id="prompt-differs"),
    pytest.param(cassette_text("hello", model="gpt-recorded").encode(), "hello", "gpt-other",
                 "step 1: expected model gpt-recorded and last message user: 'hello', but got "
                 "model gpt-other", id="model-differs"),
]


@pytest.mark.parametrize(("content", "prompt", "model", "fragment"), CASSETTE_CASES)
def test_a_broken_cassette_is_one_line_until_a_good_one_is_given(
        start, shell, tmp_path, content, prompt, model, fragment):
    cassette = tmp_path / "cassettes" / "demo.yaml"
    cassette.parent.mkdir()
    if content == "folder":
        cassette.mkdir()
    elif content is not None:
        cassette.write_bytes(content)
    start(GOOSE_PROVIDER="replay", GOOSE_NB_CASSETTE=str(cassette), GOOSE_MODEL=model)
    result, output = run(shell, f"%%goose\n{prompt}")
    message = one_line_usage_error(result, output, str(cassette), fragment)
    if prompt.startswith(LONG):  # both sides shown from just before where they differ
        assert "region, in euros'" in message and "region, in dollars'" in message
    good = tmp_path / "good.yaml"
    good.write_text(cassette_text("hello", model=model or "demo-model"), encoding="utf-8")
    runs(shell, f"%goose config GOOSE_NB_CASSETTE={good}")
    assert ANSWER in runs(shell, "%%goose\nhello")


def test_asking_past_the_end_of_a_cassette_says_how_many_steps_it_holds(
        start, shell, tmp_path, server):
    cassette = tmp_path / "demo.yaml"
    cassette.write_text(cassette_text("hello"), encoding="utf-8")
    start(GOOSE_PROVIDER="replay", GOOSE_NB_CASSETTE=str(cassette), GOOSE_MODEL=None)
    assert ANSWER in runs(shell, "%%goose\nhello")
    result, output = run(shell, "%%goose\nand one more")
    one_line_usage_error(result, output, f"cassette {cassette} has no step 2 (it holds 1)",
                         "re-record it with GOOSE_NB_RECORD")
    runs(shell, "%goose config GOOSE_PROVIDER=openai GOOSE_NB_CASSETTE=")
    cell_answers(shell, server)


def test_replay_without_a_cassette_names_the_setting(start, shell, server):
    start(GOOSE_PROVIDER="replay")
    result, output = run(shell, "%%goose\nhello")
    one_line_usage_error(result, output, "GOOSE_PROVIDER=replay needs a cassette: set "
                         "GOOSE_NB_CASSETTE=path.yaml")
    runs(shell, "%goose config GOOSE_PROVIDER=openai")
    cell_answers(shell, server)


@pytest.mark.parametrize(("line", "target", "reason"), [
    pytest.param("%goose config GOOSE_NB_RECORD={target}", "plain.txt/c.yaml",
                 "{tmp}/plain.txt is a file, not a folder", id="config-path-under-a-file"),
    pytest.param("%goose record {target}", "", "Is a directory", id="record-to-a-folder"),
])
def test_recording_to_an_unwritable_path_names_the_setting(
        goose, shell, server, tmp_path, line, target, reason):
    (tmp_path / "plain.txt").write_text("not a folder", encoding="utf-8")
    path = tmp_path / target
    runs(shell, line.format(target=path))
    result, output = run(shell, "%%goose\nhello")
    one_line_usage_error(result, output, f"cannot write cassette {path} "
                         f"({reason.format(tmp=tmp_path)}); check GOOSE_NB_RECORD")
    assert server.requests == []  # refused before the model was asked: no answer lost
    runs(shell, "%goose record off")
    cell_answers(shell, server)


# prices ---------------------------------------------------------------------------------

PRICE_CASES = [
    pytest.param(None, "GOOSE_NB_PRICES: {path} does not exist; create it or unset "
                 "GOOSE_NB_PRICES", id="missing-file"),
    pytest.param("folder", "GOOSE_NB_PRICES: cannot read {path}: Is a directory", id="a-folder"),
    pytest.param(b"gpt-test: {input: 1.0, output: [2\n", "{path}, line 2: expected ',' or ']', "
                 "but got '<stream end>'; fix the file or unset GOOSE_NB_PRICES",
                 id="invalid-yaml"),
    pytest.param(b"gpt-test: {input: -1.0, output: 2.0}\n",
                 "{path}, line 1: gpt-test input=-1.0 is not a price; use a number >= 0",
                 id="negative-price"),
    pytest.param(b"- gpt-test\n- gpt-4o\n", "{path}: expected a mapping of \"provider/model\"",
                 id="a-list"),
    pytest.param(b"gpt-test: 5\n", "{path}, line 1: the price of gpt-test is not a mapping",
                 id="price-not-a-mapping"),
    pytest.param(b"gpt-test: {input: 1.0}\n", "{path}, line 1: the price of gpt-test has no "
                 "output", id="no-output-price"),
    pytest.param(b"gpt-test: {inptu: 1.0, output: 2.0}\n",
                 "{path}, line 1: unknown field inptu in the price of gpt-test",
                 id="unknown-field"),
    pytest.param(b"gpt-test: {input: 1.0, output: 2.0}\n# caf\xe9\n",
                 "GOOSE_NB_PRICES: {path} is not UTF-8 text (byte 41); save it as UTF-8",
                 id="not-utf8"),
]


@pytest.mark.parametrize(("content", "fragment"), PRICE_CASES)
def test_a_broken_prices_file_warns_once_and_the_turns_answer(
        start, shell, server, tmp_path, monkeypatch, content, fragment):
    prices = tmp_path / "prices.yaml"
    if content == "folder":
        prices.mkdir()
    elif content is not None:
        prices.write_bytes(content)
    magics = start(GOOSE_NB_PRICES=str(prices))
    warning = f"costs are not shown: {fragment.format(path=prices)}"
    first = cell_answers(shell, server)
    for text in TRACEBACK_TEXT:
        assert text not in first
    assert warning in first, first
    notices = [e.text for e in magics.session.events
               if isinstance(e, Notice) and "costs are not shown" in e.text]
    assert len(notices) == 1 and "\n" not in notices[0], notices
    second = cell_answers(shell, server, "hello again")
    assert "costs are not shown" not in second  # said once, not every turn
    good = tmp_path / "good-prices.yaml"
    good.write_text("gpt-test: {input: 1.0, output: 2.0}\n", encoding="utf-8")
    monkeypatch.setenv("GOOSE_NB_PRICES", str(good))
    runs(shell, "%goose reload")
    third = cell_answers(shell, server, "priced now")
    assert "costs are not shown" not in third and "$" in third
