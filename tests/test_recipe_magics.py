"""``%goose_recipe`` in an in-process IPython shell, against the local model server."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import register_goose
from conftest import run_cell as run
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from model_server import ModelServer, openai_reply

from goose_nb.magics.recipes import RecipeMagics

SECRET = "sk-test-RECIPESECRET0123456789abcdef"

PINNED = """\
version: 1.0.0
title: Pinned Helper
description: Answers with a pinned model
instructions: You are the {{ persona }} assistant. Answer in one line.
prompt: Say hello to {{ name }}.
parameters:
  - key: persona
    input_type: string
    requirement: optional
    default: cheerful
    description: Tone
  - key: name
    input_type: string
    requirement: required
    description: Who to greet
settings:
  goose_provider: openai
  goose_model: pinned-model
  temperature: 0.3
  max_turns: 2
"""

PROFILE = {"variable": "df", "rows": 3, "columns": 2,
           "dtypes": {"a": "int64", "b": "object"}, "missing": {"a": 0, "b": 1},
           "notes": ["b has one missing value"]}


@pytest.fixture
def server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A notebook folder with a ``recipes/`` folder, as the current folder; an empty home."""
    folder = tmp_path / "project"
    (folder / "recipes").mkdir(parents=True)
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GOOSE_RECIPE_PATH", raising=False)
    (folder / "recipes" / "pinned.yaml").write_text(PINNED, encoding="utf-8")
    return folder


@pytest.fixture
def magics(shell: InteractiveShell, server: ModelServer, project: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[RecipeMagics]:
    """Both magics registered, sharing one session whose environment is for ``server``."""
    goose = register_goose(shell, server, tmp_path, monkeypatch, SECRET,
                           GOOSE_PROVIDER="openai", GOOSE_MODEL="gpt-test")
    recipes = RecipeMagics(shell, goose)
    shell.register_magics(recipes)
    yield recipes
    goose.session.close()


def test_run_sends_instructions_prompt_and_pinned_model(magics, shell, server):
    server.queue(openai_reply("Hello, Ada!"))
    result, text = run(shell, "%goose_recipe run pinned name=Ada")
    assert result.error_in_exec is None
    assert result.result is None  # no schema: the answer is shown once, not echoed
    body = server.requests[0].json
    system, user = body["messages"][0], body["messages"][-1]
    assert system["role"] == "system"
    assert system["content"].endswith("You are the cheerful assistant. Answer in one line.")
    assert user == {"role": "user", "content": "Say hello to Ada."}
    assert body["model"] == "pinned-model" and body["temperature"] == 0.3
    assert "Hello, Ada!" in text and "Recipe pinned — Pinned Helper" in text
    assert magics.session.turns[-1].steps[0].model.model == "pinned-model"


def test_the_data_profiler_returns_the_parsed_dict(magics, shell, server):
    shell.user_ns["df"] = {"a": [1, 2, 3], "b": ["x", None, "z"]}
    server.queue(openai_reply("```json\n" + json.dumps(PROFILE) + "\n```"))
    result, _ = run(shell, "profile = %goose_recipe run data-profiler variable=df")
    assert result.error_in_exec is None
    assert shell.user_ns["profile"] == PROFILE
    body = server.requests[0].json
    assert body["messages"][-1]["content"] == "Profile the DataFrame `df`."
    system = body["messages"][0]["content"]
    assert "You profile a pandas (or polars) DataFrame" in system
    assert "only a JSON value matching this JSON schema" in system
    assert body["model"] == "gpt-test"  # no model pinned: the session's


def test_a_wrong_json_answer_is_asked_again_then_parsed(magics, shell, server):
    shell.user_ns["df"] = {"a": [1]}
    server.queue(openai_reply("It has 3 rows."), openai_reply(json.dumps(PROFILE)))
    result, _ = run(shell, "profile = %goose_recipe run data-profiler variable=df")
    assert result.error_in_exec is None and shell.user_ns["profile"] == PROFILE
    assert len(server.requests) == 2


def test_a_cell_body_joins_the_prompt(magics, shell, server):
    server.queue(openai_reply("ok"))
    result, _ = run(shell, "%%goose_recipe run pinned name=Bo\nAlso mention the weather.")
    assert result.error_in_exec is None
    assert server.requests[0].json["messages"][-1]["content"] == \
        "Say hello to Bo.\n\nAlso mention the weather."


def test_a_recipe_run_joins_the_conversation(magics, shell, server):
    server.queue(openai_reply("Hello, Cy!"), openai_reply("You asked me to greet Cy."))
    run(shell, "%goose_recipe run pinned name=Cy")
    run(shell, "%%goose\nWhat did I ask?")
    sent = server.requests[1].json
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    assert sent["model"] == "gpt-test"  # the pin applied to the recipe's run only
    assert "cheerful assistant" not in sent["messages"][0]["content"]


def test_list_shows_name_title_and_where(magics, shell, project, tmp_path):
    (project / "notes.yaml").write_text("just: config\n", encoding="utf-8")
    result, text = run(shell, "%goose_recipe list")
    assert result.error_in_exec is None
    assert "| pinned | Pinned Helper | ./recipes: ./recipes/pinned.yaml |" in text
    assert ("| data-profiler | DataFrame Profiler | built-in: "
            "goose_nb/recipes/builtin/data-profiler.yaml |") in text
    assert "1 other YAML/JSON file(s) are not valid recipes (./notes.yaml)" in text


def test_show_lists_parameters_settings_and_templates(magics, shell):
    result, text = run(shell, "%goose_recipe show pinned")
    assert result.error_in_exec is None
    assert "| name | string | required | — | Who to greet |" in text
    assert "| persona | string | optional | cheerful | Tone |" in text
    assert "model openai/pinned-model (lead/worker bypassed), temperature 0.3, at most 2 " \
           "steps" in text
    assert "Say hello to {{ name }}." in text


def test_goose_recipe_path_from_the_notebook_config_is_used(magics, shell, server, tmp_path):
    extra = tmp_path / "shared-recipes"
    extra.mkdir()
    (extra / "shared.yaml").write_text("title: Shared\ndescription: d\nprompt: shared prompt\n",
                                       encoding="utf-8")
    run(shell, f"%goose config GOOSE_RECIPE_PATH={extra}")
    _, text = run(shell, "%goose_recipe list")
    assert "| shared | Shared | GOOSE_RECIPE_PATH:" in text
    server.queue(openai_reply("done"))
    result, _ = run(shell, "%goose_recipe run shared")
    assert result.error_in_exec is None
    assert server.requests[0].json["messages"][-1]["content"] == "shared prompt"


def test_a_recipe_with_only_instructions_gets_a_default_prompt(magics, shell, server, project):
    (project / "recipes" / "coach.yaml").write_text(
        "title: Coach\ndescription: d\ninstructions: Coach the user.\n", encoding="utf-8")
    server.queue(openai_reply("Let's go."))
    result, _ = run(shell, "%goose_recipe run coach")
    assert result.error_in_exec is None
    assert server.requests[0].json["messages"][-1]["content"] == "Carry out the instructions."


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("%goose_recipe run ghost", "no recipe named 'ghost'"),
        ("%goose_recipe run pinned", "missing required parameter(s) name; give them as "
                                     "name=VALUE"),
        ("%goose_recipe run pinned name=A colour=red", "unknown parameter(s) colour"),
        ("%goose_recipe run pinned Ada", "expected key=value, got 'Ada'"),
        ("%goose_recipe run", "usage: %goose_recipe run NAME"),
        ("%goose_recipe show", "usage: %goose_recipe show NAME"),
        ("%goose_recipe frobnicate", "unknown %goose_recipe command 'frobnicate'"),
        ("%goose_recipe run 'unclosed", "cannot parse"),
        ("%goose_recipe run ./recipes/broken.yaml", "broken.yaml, line 2: mapping values are "
                                                    "not allowed here"),
    ],
)
def test_mistakes_are_one_line_usage_errors(magics, shell, server, project, line, fragment):
    (project / "recipes" / "broken.yaml").write_text("title: T\ndescription: a: b\n",
                                                      encoding="utf-8")
    result, _ = run(shell, line)
    assert isinstance(result.error_in_exec, UsageError)
    message = str(result.error_in_exec)
    assert fragment in message and "\n" not in message
    assert server.requests == []


def test_user_prompt_parameters_without_an_answer_are_missing(magics, shell, server, project):
    (project / "recipes" / "ask.yaml").write_text(textwrap.dedent("""\
        title: Ask
        description: d
        prompt: Topic {{ topic }}
        parameters:
          - key: topic
            input_type: string
            requirement: user_prompt
            description: The topic
        """), encoding="utf-8")
    result, _ = run(shell, "%goose_recipe run ask")  # input() is not available under pytest
    assert isinstance(result.error_in_exec, UsageError)
    assert "missing required parameter(s) topic" in str(result.error_in_exec)
    server.queue(openai_reply("ok"))
    result, _ = run(shell, "%goose_recipe run ask topic=joins")
    assert result.error_in_exec is None


def test_help_is_the_default(magics, shell):
    result, text = run(shell, "%goose_recipe")
    assert result.error_in_exec is None
    assert "%goose_recipe run NAME key=value" in text


def test_load_ext_registers_both_magics(shell):
    import goose_nb

    goose_nb.load_ipython_extension(shell)
    magics = shell.magics_manager.magics
    assert "goose_recipe" in magics["line"] and "goose_recipe" in magics["cell"]
    recipe_magics = magics["line"]["goose_recipe"].__self__
    goose_magics = magics["line"]["goose"].__self__
    assert recipe_magics._goose is goose_magics
