"""Recipes: the format, Goose's validation rules, rendering in the sandbox, the lookup order,
and the recipes shipped in ``recipes/``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import goose_nb
import goose_nb.session as session_module
from goose_nb.errors import RecipeError
from goose_nb.messages import ModelRef
from goose_nb.recipes import (
    RecipeWarning,
    RenderedRecipe,
    find_recipe,
    load_recipe,
    read_recipe,
    recipe_files,
    search_folders,
)
from goose_nb.recipes.lookup import BUILTIN_FOLDER, BUILTIN_LABEL
from goose_nb.recipes.templates import MAX_RENDERED_CHARS

REPO = Path(__file__).resolve().parents[1]

BASIC = """\
version: 1.0.0
title: Basic
description: A test recipe
instructions: You help with {{ topic }}.
prompt: Explain {{ topic }} at {{ level }} level.
parameters:
  - key: topic
    input_type: string
    requirement: required
    description: What to explain
  - key: level
    input_type: string
    requirement: optional
    default: beginner
    description: How deep
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def recipe_text(body: str, params: str = "") -> str:
    """A minimal valid header followed by ``body`` (and a parameters block)."""
    head = "version: 1.0.0\ntitle: T\ndescription: D\n"
    return head + textwrap.dedent(body) + (f"parameters:\n{textwrap.dedent(params)}"
                                           if params else "")


def param(key: str, *, input_type: str = "string", requirement: str = "required",
          extra: str = "") -> str:
    return (f"  - key: {key}\n    input_type: {input_type}\n    requirement: {requirement}\n"
            f"    description: the {key}\n{extra}")


def load_text(tmp_path: Path, text: str, name: str = "r.yaml", *, warn: bool = True):
    return read_recipe(write(tmp_path, name, text), warn=warn)


# the format ------------------------------------------------------------------------------


def test_a_yaml_recipe_loads_and_renders(tmp_path):
    recipe = load_text(tmp_path, BASIC)
    assert recipe.title == "Basic" and recipe.name == "r"
    assert recipe.template_variables == {"topic", "level"}
    rendered = recipe.render({"topic": "joins"})
    assert rendered == RenderedRecipe(
        instructions="You help with joins.", prompt="Explain joins at beginner level.",
        values={"topic": "joins", "level": "beginner"})


def test_a_json_recipe_loads(tmp_path):
    data = {"title": "J", "description": "d", "prompt": "Hi {{ who }}",
            "parameters": [{"key": "who", "input_type": "string", "requirement": "optional",
                            "default": "there", "description": "who"}]}
    recipe = read_recipe(write(tmp_path, "j.json", json.dumps(data)))
    assert recipe.render().prompt == "Hi there"
    assert recipe.version == "1.0.0"  # Goose's default


def test_crlf_and_bom_are_accepted(tmp_path):
    path = tmp_path / "crlf.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASIC.replace("\n", "\r\n").encode())
    assert read_recipe(path).render({"topic": "x"}).prompt == "Explain x at beginner level."


def test_numbers_and_booleans_where_text_is_expected_become_text(tmp_path):
    recipe = load_text(tmp_path, recipe_text("prompt: '{{ n }} {{ flag }}'\n",
                                             param("n", requirement="optional",
                                                   extra="    default: 10\n")
                                             + param("flag", requirement="optional",
                                                     extra="    default: true\n")))
    assert recipe.parameters[0].default == "10"
    assert recipe.render().prompt == "10 true"


def test_desktop_library_files_are_unwrapped(tmp_path):
    text = "name: Lib\nisGlobal: true\nrecipe:\n  title: Wrapped\n  description: d\n" \
           "  prompt: hello\n"
    with_warnings = load_text(tmp_path, text)
    assert with_warnings.title == "Wrapped" and with_warnings.warnings == ()


def test_unknown_keys_are_a_warning_not_an_error(tmp_path):
    text = recipe_text("prompt: '{{ a }}'\ncouncil_instructions: x\n",
                       param("a", extra="    value: legacy\n"))
    with pytest.warns(RecipeWarning) as caught:
        recipe = load_text(tmp_path, text)
    assert [str(w.message).split(": ", 1)[1] for w in caught] == list(recipe.warnings)
    assert recipe.warnings == ("unknown key 'council_instructions' ignored",
                               "parameters[0] (a): unknown key 'value' ignored")


def test_an_id_key_is_accepted(tmp_path):
    recipe = load_text(tmp_path, recipe_text("id: my-id\nprompt: hi\n"))
    assert recipe.id == "my-id" and recipe.warnings == ()


# Goose's validation rules ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "params", "message"),
    [
        ("description_only: x\n", "", "at least one of `instructions` or `prompt`"),
        ("prompt: '   '\ninstructions: ''\n", "", "at least one of `instructions` or `prompt`"),
        ("prompt: '{{ who }}'\n", "",
         "template variables without a parameter definition: who"),
        ("prompt: '{{ f }}'\n", param("f", input_type="file", requirement="optional",
                                      extra="    default: ~/.ssh/id_rsa\n"),
         "file parameters cannot have a default"),
        ("prompt: '{{ s }}'\n", param("s", input_type="select"),
         "select parameters need `options`: s"),
        ("prompt: '{{ a }}'\n", param("a") + param("a"), "defined more than once: a"),
        ("prompt: hi\nresponse:\n  json_schema: {type: not-a-type}\n", "",
         "response.json_schema is not a valid JSON schema"),
        ("prompt: hi\nretry:\n  max_retries: 0\n  checks: []\n", "",
         "retry.max_retries: Input should be greater than or equal to 1"),
        ("prompt: hi\nextensions:\n  - {type: command, name: x}\n", "",
         "extensions[0].type: Input should be 'builtin'"),
        ("prompt: hi\nextensions:\n  - {type: stdio, name: x}\n", "",
         "a stdio extension needs `cmd`"),
        ("prompt: hi\nextensions:\n  - {name: x}\n", "",
         "extensions[0]: missing field `type`"),
        ("prompt: hi\nparameters:\n  - {key: a, requirement: maybe, description: d}\n", "",
         "parameters[0].requirement: Input should be 'required', 'optional' or "
         "'user_prompt', got 'maybe'"),
    ],
)
def test_each_rule_is_a_one_line_error_naming_the_file(tmp_path, body, params, message):
    with pytest.raises(RecipeError) as caught:
        load_text(tmp_path, recipe_text(body, params))
    text = str(caught.value)
    assert message in text
    assert text.startswith(str(tmp_path / "r.yaml")) and "\n" not in text


def test_a_missing_field_names_it_and_its_line(tmp_path):
    path = write(tmp_path, "r.yaml", "title: T\nprompt: hi\n")
    with pytest.raises(RecipeError,
                       match=r"r\.yaml, line 1: the recipe: missing field `description`"):
        read_recipe(path)
    # another schema altogether: without a title, the missing title leads the message
    path = write(tmp_path, "s.yaml", "name: n\ndescription: D\nprompt: hi\n"
                                     "activities: [{name: a}]\n")
    with pytest.raises(RecipeError,
                       match=r"s\.yaml, line 1: the recipe: missing field `title` \(and 1 more"):
        read_recipe(path)
    path = write(tmp_path, "p.yaml", recipe_text("prompt: '{{ a }}'\n",
                                                 "  - key: a\n    requirement: required\n"))
    with pytest.raises(RecipeError,
                       match=r"p\.yaml, line 6: parameters\[0\]: missing field `description`"):
        read_recipe(path)


# what Goose refuses but a recipe can run with: warnings, as recipes on Goose's site have it


def test_unused_and_optional_parameters_without_defaults_are_warnings(tmp_path):
    recipe = load_text(tmp_path, recipe_text(
        "prompt: 'hello{{ a }}'\n", param("a", requirement="optional") + param("unused")),
        warn=False)
    assert recipe.warnings == (
        "optional parameters without a default are empty unless given: a",
        "parameters the templates never use are ignored: unused")
    assert recipe.render({"unused": "x"}).prompt == "hello"  # the optional one is empty
    assert recipe.render({"a": " world", "unused": "x"}).prompt == "hello world"


def test_an_optional_boolean_without_a_default_is_empty_not_a_bad_value(tmp_path):
    recipe = load_text(tmp_path, recipe_text(
        "prompt: 'push={{ p }}'\n", param("p", input_type="boolean", requirement="optional")),
        warn=False)
    assert recipe.render().prompt == "push="
    with pytest.raises(RecipeError, match="parameter 'p' must be true or false"):
        recipe.render({"p": "perhaps"})


def test_a_missing_title_is_the_file_name(tmp_path):
    path = write(tmp_path, "weekly-report.yaml", "description: D\nprompt: hi\n")
    recipe = read_recipe(path, warn=False)
    assert recipe.title == "weekly-report"
    assert recipe.warnings == ("no title; the file name 'weekly-report' is used",)


def test_a_top_level_max_turns_is_the_settings_max_turns(tmp_path):
    recipe = load_text(tmp_path, recipe_text("prompt: hi\nmax_turns: 4\n"), warn=False)
    assert recipe.warnings == ("top-level max_turns is read as settings.max_turns",)
    assert recipe.turn_options(recipe.render()).max_steps == 4
    both = load_text(tmp_path, recipe_text(
        "prompt: hi\nmax_turns: 4\nsettings:\n  max_turns: 2\n"), warn=False)
    assert both.turn_options(both.render()).max_steps == 2
    assert both.warnings == ("max_turns is given twice; settings.max_turns is used",)
    with pytest.raises(RecipeError, match=r"settings\.max_turns: Input should be greater"):
        load_text(tmp_path, recipe_text("prompt: hi\nmax_turns: 0\n"))


def test_bare_extension_names_are_kept_as_names(tmp_path):
    recipe = load_text(tmp_path, recipe_text(
        "prompt: hi\nextensions:\n  - github\n  - {type: stdio, name: t, cmd: uvx}\n"),
        warn=False)
    assert recipe.extension_names == ("github",)
    assert [c.name for c in recipe.extension_configs()] == ["t"]
    assert recipe.warnings == ("extension 'github' is a bare name: the run uses the "
                               "configured extension of that name",)


def test_an_author_given_as_text_is_the_contact(tmp_path):
    recipe = load_text(tmp_path, recipe_text("prompt: hi\nauthor: amitdev\n"))
    assert recipe.author is not None and recipe.author.contact == "amitdev"


def test_bad_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "bad.yaml", "title: T\ndescription: Action: create, list\n")
    with pytest.raises(RecipeError, match=r"bad\.yaml, line 2: mapping values are not allowed "
                                          r"here \(not valid YAML\)$"):
        read_recipe(path)


def test_bad_json_names_the_line(tmp_path):
    path = write(tmp_path, "bad.json", '{\n  "title": "T",\n  "prompt": \n}\n')
    with pytest.raises(RecipeError, match=r"bad\.json, line 4: not valid JSON"):
        read_recipe(path)


def test_json_validation_errors_name_the_line_too(tmp_path):
    path = write(tmp_path, "r.json", '{\n  "title": "T",\n  "description": "D",\n'
                                     '  "prompt": "hi",\n  "settings": {"max_turns": 0}\n}\n')
    with pytest.raises(RecipeError, match=r"r\.json, line 5: settings\.max_turns: Input "
                                          r"should be greater than or equal to 1"):
        read_recipe(path)


def test_a_huge_file_is_not_read_as_a_recipe(tmp_path):
    path = write(tmp_path, "data.yaml", "rows:\n" + "  - 1\n" * 200_000)
    with pytest.raises(RecipeError, match="too large for a recipe"):
        read_recipe(path)


def test_a_top_level_list_is_not_a_recipe(tmp_path):
    with pytest.raises(RecipeError, match="expected a mapping of recipe fields"):
        load_text(tmp_path, "- a\n- b\n")


def test_a_broken_template_names_the_line(tmp_path):
    text = recipe_text("prompt: |\n  one\n  {% if x %}never closed\n", param("x"))
    with pytest.raises(RecipeError, match=r"r\.yaml, line 6: template error: Unexpected end"):
        load_text(tmp_path, text)


def test_whole_file_inheritance_is_refused_clearly(tmp_path):
    with pytest.raises(RecipeError, match="whole-file template inheritance"):
        load_text(tmp_path, '{% extends "parent.yaml" %}\n{% block prompt %}x{% endblock %}\n')


def test_a_parameter_used_only_outside_the_prompt_counts_as_used(tmp_path):
    # Goose looks for template variables in the whole file (retry commands, extension args)
    text = recipe_text("prompt: hi\nretry:\n  max_retries: 1\n  checks:\n"
                       "    - {type: shell, command: 'test -f {{ out }}'}\n", param("out"))
    assert load_text(tmp_path, text).template_variables == {"out"}


# rendering --------------------------------------------------------------------------------


def test_missing_required_parameters_are_named(tmp_path):
    recipe = load_text(tmp_path, recipe_text("prompt: '{{ a }} {{ b }}'\n",
                                             param("a") + param("b")))
    with pytest.raises(RecipeError, match=r"missing required parameter\(s\) a, b; give them "
                                          r"as a=VALUE b=VALUE"):
        recipe.render()


def test_unknown_parameter_names_are_refused(tmp_path):
    recipe = load_text(tmp_path, BASIC)
    with pytest.raises(RecipeError, match=r"unknown parameter\(s\) topik; the recipe's "
                                          r"parameters: level, topic"):
        recipe.render({"topik": "x"})


@pytest.mark.parametrize(
    ("input_type", "extra", "value", "message"),
    [
        ("number", "", "ten", "must be a number, got 'ten'"),
        ("boolean", "", "maybe", "must be true or false, got 'maybe'"),
        ("select", "    options: [a, b]\n", "c", "must be one of a, b; got 'c'"),
    ],
)
def test_values_of_the_wrong_kind_are_refused(tmp_path, input_type, extra, value, message):
    recipe = load_text(tmp_path, recipe_text("prompt: '{{ p }}'\n",
                                             param("p", input_type=input_type, extra=extra)))
    with pytest.raises(RecipeError, match=f"parameter 'p' {message}"):
        recipe.render({"p": value})


def test_a_file_parameter_renders_the_files_text(tmp_path):
    recipe = load_text(tmp_path, recipe_text("prompt: 'Code: {{ src }}'\n",
                                             param("src", input_type="file")))
    code = write(tmp_path, "code.py", "print('hi')\n")
    assert recipe.render({"src": str(code)}).prompt == "Code: print('hi')"
    with pytest.raises(RecipeError, match="file parameter 'src': no file"):
        recipe.render({"src": str(tmp_path / "absent.py")})


def test_user_prompt_parameters_are_asked_for_or_missing(tmp_path):
    recipe = load_text(tmp_path, recipe_text("prompt: '{{ q }}'\n",
                                             param("q", requirement="user_prompt")))
    asked = []
    rendered = recipe.render(ask=lambda p: asked.append(p.key) or "answer")
    assert rendered.prompt == "answer" and asked == ["q"]
    with pytest.raises(RecipeError, match=r"missing required parameter\(s\) q"):
        recipe.render()
    with pytest.raises(RecipeError, match=r"missing required parameter\(s\) q"):
        recipe.render(ask=lambda p: None)  # no one could answer


def test_recipe_dir_is_the_recipes_folder(tmp_path):
    recipe = load_text(tmp_path / "sub", recipe_text("prompt: 'See {{ recipe_dir }}/x.md'\n"))
    assert recipe.render().prompt == f"See {tmp_path / 'sub'}/x.md"


def test_goose_template_quirks_render_as_goose_does(tmp_path):
    text = recipe_text(
        """\
        prompt: |
          {{#if style}}Use {{ style }}.{{/if}}
          Literal \\{\\{ key }} and {{'{{API_KEY}}'}} and {{hf model name}}.
          {{ n | default('2') }} {% if n is not defined %}never{% endif %}
          {% if "sql" in areas %}SQL{% endif %}
        """,
        param("style", requirement="optional", extra="    default: terse\n")
        + param("n", requirement="optional", extra="    default: '3'\n")
        + param("areas", requirement="optional", extra="    default: sql,xss\n"))
    lines = load_text(tmp_path, text).render().prompt.splitlines()
    assert lines == ["{{#if style}}Use terse.{{/if}}",
                     "Literal \\{\\{ key }} and {{API_KEY}} and {{hf model name}}.",
                     "3 ", "SQL"]


def test_parameter_values_cannot_change_the_recipes_structure(tmp_path):
    recipe = load_text(tmp_path, BASIC)
    value = "x\nsettings:\n  goose_model: evil\n{{ level }}"
    rendered = recipe.render({"topic": value})
    assert rendered.prompt == f"Explain {value} at beginner level."  # not re-rendered either
    assert recipe.settings is None


# the sandbox ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ self._TemplateReference__context }}",
        "{{ 'x' * 100000000 }}",
        "{{ 2 ** 100000000 }}",
    ],
)
def test_sandbox_escapes_are_refused(tmp_path, expression):
    recipe = load_text(tmp_path, recipe_text(f"prompt: \"{expression}\"\n"))
    with pytest.raises(RecipeError) as caught:
        recipe.render()
    message = str(caught.value)
    assert "prompt:" in message and "\n" not in message
    assert "refused by the template sandbox" in message or "undefined" in message


@pytest.mark.parametrize(
    "template",
    [
        # each range is within the sandbox's cap; nested, they are 10 billion turns
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        # no range at all: loops over a string the sandbox lets a template build
        "{% set s = 'x' * 100000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}",
        # the work is in a macro called in a loop
        "{% macro m() %}{% for j in range(100000) %}{% endfor %}{% endmacro %}"
        "{% for i in range(100000) %}{{ m() }}{% endfor %}",
    ],
    ids=["nested-ranges", "nested-string-loops", "macro-in-a-loop"],
)
def test_template_work_is_bounded_as_a_whole(tmp_path, template):
    recipe = load_text(tmp_path, recipe_text(f"prompt: \"{template}\"\n"))
    earlier_trace = sys.gettrace()
    with pytest.raises(RecipeError) as caught:
        recipe.render(time_limit=0.5)
    message = str(caught.value)
    assert "prompt: the template ran past 0.5 s" in message and "\n" not in message
    assert "GOOSE_NB_RENDER_TIMEOUT" in message
    assert sys.gettrace() is earlier_trace  # a debugger's tracer is back in place


def test_an_included_template_is_bounded_too(tmp_path):
    write(tmp_path, "loop.md", "{% for i in range(100000) %}{% for j in range(100000) %}"
                               "{% endfor %}{% endfor %}")
    recipe = read_recipe(write(tmp_path, "r.yaml", recipe_text(
        "instructions: ok\nprompt: '{% include \"loop.md\" %}'\n")))
    with pytest.raises(RecipeError, match=r"prompt: the template ran past 0\.5 s"):
        recipe.render(time_limit=0.5)


def test_a_field_rendering_past_the_size_cap_is_refused(tmp_path):
    recipe = load_text(tmp_path, recipe_text(
        "prompt: \"{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}\"\n"))
    with pytest.raises(RecipeError) as caught:
        recipe.render()
    assert str(caught.value).endswith(
        f"prompt: the template renders to more than {MAX_RENDERED_CHARS:,} characters; "
        "simplify it")


def test_the_time_limit_leaves_a_quick_render_untouched(tmp_path):
    recipe = load_text(tmp_path, recipe_text(
        "prompt: \"{% for i in range(1000) %}{{ i % 10 }}{% endfor %}\"\n"))
    assert recipe.render(time_limit=5).prompt == "0123456789" * 100


def test_includes_read_only_inside_the_recipes_folder(tmp_path):
    folder = tmp_path / "recipes"
    write(folder / "parts", "intro.md", "Shared intro.")
    write(tmp_path, "secret.txt", "TOP SECRET")
    (folder / "link").symlink_to(tmp_path)
    recipe = read_recipe(write(folder, "r.yaml", recipe_text(
        "prompt: '{% include \"parts/intro.md\" %} Go.'\n")))
    assert recipe.render().prompt == "Shared intro. Go."
    for target in ("../secret.txt", str(tmp_path / "secret.txt"), "link/secret.txt"):
        bad = read_recipe(write(folder, "bad.yaml", recipe_text(
            f"prompt: '{{% include \"{target}\" %}}'\n")))
        with pytest.raises(RecipeError, match=r"refused by the template sandbox: .*outside"):
            bad.render()
    missing = read_recipe(write(folder, "m.yaml", recipe_text(
        "prompt: '{% include \"nope.md\" %}'\n")))
    with pytest.raises(RecipeError, match=r"include 'nope\.md' not found in the recipe's folder"):
        missing.render()


# sub-recipes, settings, run options -------------------------------------------------------


def test_sub_recipe_paths_resolve_against_the_recipes_folder(tmp_path, monkeypatch):
    folder = tmp_path / "book"
    write(folder / "subs", "child.yaml", recipe_text("prompt: hi\n"))
    text = recipe_text(
        "prompt: '{{ depth }}'\nsub_recipes:\n"
        "  - name: child\n    path: ./subs/child.yaml\n    values: {depth: '{{ depth }}x'}\n"
        "  - name: gone\n    path: ./subs/gone.yaml\n",
        param("depth", requirement="optional", extra="    default: deep\n"))
    monkeypatch.chdir(tmp_path)  # not the recipe's folder
    with pytest.warns(RecipeWarning, match="sub-recipe 'gone': no file"):
        recipe = read_recipe(write(folder, "parent.yaml", text))
    child, gone = recipe.sub_recipes
    assert child.path == folder / "subs" / "child.yaml" and child.exists
    assert not gone.exists
    rendered = recipe.render()
    assert rendered.sub_recipes[0].values == {"depth": "deepx"}
    assert load_recipe(str(child.path)).title == "T"


def test_turn_options_carry_settings_and_schema(tmp_path):
    text = recipe_text(
        "instructions: Be brief.\nprompt: go\nsettings:\n  goose_provider: openai\n"
        "  goose_model: gpt-pinned\n  temperature: 0.2\n  max_turns: 4\n"
        "response:\n  json_schema: {type: object, required: [a]}\n")
    recipe = load_text(tmp_path, text)
    options = recipe.turn_options(recipe.render())
    assert options.instructions == "Be brief."
    assert options.model == ModelRef(provider="openai", model="gpt-pinned")
    assert (options.temperature, options.max_steps) == (0.2, 4)
    assert options.response_schema == {"type": "object", "required": ["a"]}


def test_a_model_without_provider_uses_the_given_default(tmp_path):
    recipe = load_text(tmp_path, recipe_text("prompt: go\nsettings: {goose_model: m}\n"))
    assert recipe.turn_options(recipe.render(), default_provider="ollama").model == \
        ModelRef(provider="ollama", model="m")
    with pytest.raises(RecipeError, match="no provider is known"):
        recipe.turn_options(recipe.render())
    other = load_text(tmp_path, recipe_text(
        "prompt: go\nsettings: {goose_provider: databricks, goose_model: m}\n"), "o.yaml")
    with pytest.raises(RecipeError, match="'databricks' is not supported by goose_nb"):
        other.turn_options(other.render())


def test_no_settings_means_a_plain_turn(tmp_path):
    recipe = load_text(tmp_path, BASIC)
    options = recipe.turn_options(recipe.render({"topic": "t"}))
    assert options.model is None and options.temperature is None
    assert options.max_steps is None and options.response_schema is None


# lookup ------------------------------------------------------------------------------------


@pytest.fixture
def places(tmp_path, monkeypatch):
    """A project folder as the current folder and an empty home, both in tmp_path."""
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("GOOSE_RECIPE_PATH", raising=False)
    # no kernel session: GOOSE_RECIPE_PATH comes from the environment
    monkeypatch.setattr(session_module, "_current", None)
    return project, home


def titled(title: str) -> str:
    return f"title: {title}\ndescription: d\nprompt: hi\n"


def test_lookup_follows_the_documented_order(places, tmp_path):
    project, home = places
    extra1, extra2 = tmp_path / "extra1", tmp_path / "extra2"
    locations = [
        (project, "current"),
        (project / "recipes", "recipes"),
        (extra1, "path1"),
        (extra2, "path2"),
        (project / ".goose" / "recipes", "goose"),
        (home / ".config" / "goose" / "recipes", "home"),
    ]
    for folder, title in locations:
        write(folder, "same.yaml", titled(title))
    recipe_path = os.pathsep.join([str(extra1), str(extra2)])
    for folder, title in locations:
        assert load_recipe("same", recipe_path=recipe_path).title == title
        (folder / "same.yaml").unlink()  # the next place wins once this one is gone
    with pytest.raises(RecipeError, match="no recipe named 'same'"):
        load_recipe("same", recipe_path=recipe_path)


def test_each_goose_recipe_path_entry_is_searched(places, tmp_path, monkeypatch):
    first, second = tmp_path / "one", tmp_path / "two"
    write(first, "a.yaml", titled("A"))
    write(second, "b.yml", titled("B"))
    monkeypatch.setenv("GOOSE_RECIPE_PATH", f"{first}{os.pathsep}{os.pathsep}{second}")
    assert load_recipe("a").title == "A" and load_recipe("b").title == "B"
    labels = [f.label for f in search_folders()]
    assert labels == ["current folder", "./recipes", "GOOSE_RECIPE_PATH", "GOOSE_RECIPE_PATH",
                      "./.goose/recipes", "~/.config/goose/recipes", "built-in"]


def test_names_are_tried_bare_then_yaml_yml_json(places):
    project, _ = places
    folder = project / "recipes"
    for suffix in ("", ".yaml", ".yml", ".json"):
        write(folder, f"x{suffix}", json.dumps({"title": suffix or "bare",
                                                "description": "d", "prompt": "p"}))
    for expected in ("bare", ".yaml", ".yml", ".json"):
        path, folder_found = find_recipe("x")
        assert read_recipe(path).title == expected and folder_found.label == "./recipes"
        path.unlink()


def test_an_explicit_path_is_used_as_is(places, tmp_path):
    project, _ = places
    write(project / "recipes", "r.yaml", titled("in recipes"))
    elsewhere = write(tmp_path / "elsewhere", "r.yaml", titled("elsewhere"))
    assert load_recipe(str(elsewhere)).title == "elsewhere"
    assert load_recipe(elsewhere).title == "elsewhere"
    assert load_recipe("./recipes/r").title == "in recipes"
    with pytest.raises(RecipeError, match=r"^no recipe file at \./nope/r \(the folder .*nope "
                                          r"does not exist\)$"):
        load_recipe("./nope/r")
    with pytest.raises(RecipeError, match=r"^no recipe file at \./recipes/gone\.yaml \(no such "
                                          r"file\)$"):
        load_recipe("./recipes/gone.yaml")
    with pytest.raises(RecipeError, match=r"\(tried \./recipes/gone and \./recipes/gone\.yaml, "
                                          r"\.yml, \.json\)$"):
        load_recipe("./recipes/gone")


def test_the_not_found_message_says_where_it_looked(places):
    with pytest.raises(RecipeError) as caught:
        load_recipe("ghost", recipe_path="")
    message = str(caught.value)
    assert "looked for ghost, ghost.yaml, ghost.yml and ghost.json in ., ./recipes, " \
           "./.goose/recipes, ~/.config/goose/recipes" in message
    assert "\n" not in message


def test_shipped_recipes_come_last(places):
    project, _ = places
    assert find_recipe("data-profiler")[1].label == BUILTIN_LABEL
    write(project, "data-profiler.yaml", titled("mine"))
    assert load_recipe("data-profiler").title == "mine"


def test_recipe_files_lists_in_order_and_marks_shadowed(places, tmp_path):
    project, home = places
    write(project / "recipes", "a.yaml", titled("A"))
    write(home / ".config" / "goose" / "recipes", "a.json", json.dumps(
        {"title": "A2", "description": "d", "prompt": "p"}))
    write(home / ".config" / "goose" / "recipes", "b.yaml", titled("B"))
    files = [(f.name, f.folder.label, f.shadowed_by is not None)
             for f in recipe_files(recipe_path="") if f.folder.label != BUILTIN_LABEL]
    assert files == [("a", "./recipes", False), ("a", "~/.config/goose/recipes", True),
                     ("b", "~/.config/goose/recipes", False)]


def test_the_sessions_recipe_path_is_the_default(places, tmp_path, monkeypatch, make_session):
    folder = tmp_path / "from-session"
    write(folder, "s.yaml", titled("S"))
    session = make_session(None, "openai", GOOSE_RECIPE_PATH=str(folder))
    monkeypatch.setattr(session_module, "_current", session)
    assert goose_nb.load_recipe("s").title == "S"


# the shipped recipes -----------------------------------------------------------------------


SHIPPED = {
    "code-reviewer": {"target": "clean_prices", "focus_area": "security"},
    "data-profiler": {"variable": "sales"},
    "chart-maker": {"variable": "sales", "what": "revenue by month", "kind": "line"},
    "test-writer": {"target": "clean_prices", "write_to": "tests/test_clean.py"},
}


@pytest.mark.parametrize(("name", "params"), list(SHIPPED.items()))
def test_shipped_recipes_load_cleanly_and_render(name, params, recwarn):
    recipe = read_recipe(BUILTIN_FOLDER / f"{name}.yaml")
    assert recipe.warnings == () and not recwarn.list
    assert recipe.parameters and recipe.instructions
    rendered = recipe.render(params)
    for value in params.values():
        assert value in rendered.prompt
    assert "{{" not in rendered.prompt + rendered.instructions
    recipe.turn_options(rendered)


def test_shipped_recipes_refuse_missing_parameters():
    with pytest.raises(RecipeError, match=r"missing required parameter\(s\) variable, what"):
        read_recipe(BUILTIN_FOLDER / "chart-maker.yaml").render()


def test_the_data_profiler_asks_for_json():
    recipe = read_recipe(BUILTIN_FOLDER / "data-profiler.yaml")
    schema = recipe.turn_options(recipe.render({"variable": "df"})).response_schema
    assert schema is not None
    assert set(schema["required"]) == {"variable", "rows", "columns", "dtypes", "missing",
                                       "notes"}


def test_the_code_reviewer_keeps_the_goose_docs_identity():
    recipe = read_recipe(BUILTIN_FOLDER / "code-reviewer.yaml")
    assert recipe.title == "Code Review Assistant"
    assert recipe.description.startswith("Specialized subagent for code quality and security")


def test_the_built_in_recipes_are_package_data_and_the_only_copies():
    assert Path(goose_nb.recipes.__file__).parent / "builtin" == BUILTIN_FOLDER
    assert sorted(p.stem for p in BUILTIN_FOLDER.glob("*.yaml")) == sorted(SHIPPED)
    # the repository holds each one once, in the package's folder
    names = {f"{name}.yaml" for name in SHIPPED}
    tops = [top for top in REPO.iterdir()
            if top.is_dir() and top.name not in {".git", ".nox", ".venv", "build", "output"}]
    copies = sorted(p for top in tops for p in top.rglob("*.yaml") if p.name in names)
    package_folder = REPO / "src" / "goose_nb" / "recipes" / "builtin"
    assert copies == sorted(package_folder / name for name in names)


# the public API --------------------------------------------------------------------------


def test_load_recipe_is_exported_lazily_and_jinja2_loads_on_first_use():
    assert goose_nb.load_recipe is session_module.load_recipe
    code = ("import sys, goose_nb, goose_nb.magics.recipes; "
            "from goose_nb import load_ipython_extension; "
            "assert 'jinja2' not in sys.modules and 'goose_nb.recipes' not in sys.modules; "
            f"goose_nb.load_recipe({str(BUILTIN_FOLDER / 'chart-maker.yaml')!r}); "
            "assert 'jinja2' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
