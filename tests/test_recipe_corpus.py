"""Every file of the shared corpus of real Goose recipes (``goose-recipes/`` of
``GOOSE_NB_CORPUS``, 88 files from Goose's public cookbook and repository).

Each file either loads and renders (with its defaults, and placeholder values for the
parameters that have none), or fails with the one-line reason listed in ``EXPECTED_FAILURES``.
The list is explicit in both directions: a recipe that starts failing, or an expected
failure that starts loading, fails this test.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from corpus import require_corpus

from goose_nb.errors import RecipeError
from goose_nb.recipes import Recipe, RecipeWarning, read_recipe

CORPUS = require_corpus("goose-recipes")
FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file())

#: file -> what the one-line error says: only what makes a recipe impossible to run
EXPECTED_FAILURES: dict[str, str] = {
    # not recipes, or not valid YAML
    "load-test-generator.yaml":  # another schema (parameters with name/type/required)
        "line 4: the recipe: missing field `title` (and 17 more problems)",
    "quick-note.yaml": "line 17: mapping values are not allowed here (not valid YAML)",
    "smart-task-organizer.yaml":
        "line 48: expected ',' or ']', but got '<scalar>' (not valid YAML)",
    # a template variable nobody declared
    "subrecipes/analyze-openapi.yaml":
        "template variables without a parameter definition: output_dir",
    # the website catalog's entry for clean-up-feature-flag.yaml (which loads): its
    # prompt uses the recipe's parameters without declaring them
    "clean-up-feature-flag.json":
        "template variables without a parameter definition: feature_flag_key, repo_dir",
}

#: files that load with warnings, and a fragment of one of them
EXPECTED_WARNINGS: dict[str, str] = {
    **{name: "unknown key 'council_instructions' ignored" for name in (
        "flutter-pr-code-review.yaml", "flutter-review.yaml",
        "javascript-react-pr-code-review.yaml", "js-review.yaml", "php-pr-code-review.yaml",
        "php-review.yaml")},
    **{name: "top-level max_turns is read as settings.max_turns" for name in (
        "extra/builtin-subrecipes/investigator.yaml", "extra/builtin-subrecipes/planner.yaml")},
    "clean-up-feature-flag.yaml": "parameters[0] (feature_flag_key): unknown key 'value'",
    "daily-standup-report-generator.yaml": "'github_owner' is required but has a default",
    **{name: "no file" for name in (
        "ab-test-framework-generator.yaml", "data-analysis-pipeline.yaml",
        "openapi-to-locust.yaml", "rpi-iterate.yaml", "rpi-plan.yaml", "rpi-research.yaml",
        "technical-debt-tracker.yaml")},
    # Goose's rules that are warnings here: bare extension names, an optional parameter
    # without a default (it is empty), parameters no template uses (Goose: "Unnecessary
    # parameter definitions")
    "github-pr-summarizer.yaml": "extension 'github' is a bare name",
    "pull-request-generator.yaml": "optional parameters without a default are empty "
                                   "unless given: push_pr",
    "generate-commit-message.yaml": "parameters the templates never use are ignored: "
                                    "commit_format",
    "swagger-to-markdown.yaml": "never use are ignored: output_folder",
    "subrecipes/chart-generator.yaml": "never use are ignored: analysis_results",
    "subrecipes/data-cleaner.yaml": "never use are ignored: validation_results",
    "subrecipes/generate-locustfile.yaml": "never use are ignored: api_analysis, taskset_files",
    "subrecipes/generate-support-files.yaml": "never use are ignored: api_analysis",
    "subrecipes/generate-task-sets.yaml":
        "never use are ignored: api_analysis, openapi_spec_path",
    "subrecipes/statistical-analyzer.yaml": "never use are ignored: test_hypotheses",
}

PLACEHOLDERS = {"number": "1", "boolean": "true", "date": "2025-01-01"}


def load(name: str) -> tuple[Recipe, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recipe = read_recipe(CORPUS / name)
    return recipe, [str(w.message) for w in caught if w.category is RecipeWarning]


def placeholder_values(recipe: Recipe, tmp_path: Path) -> dict[str, str]:
    """A value for every parameter without a default, of the kind it asks for."""
    sample = tmp_path / "input.txt"
    sample.write_text("sample file content\n", encoding="utf-8")
    values = {}
    for param in recipe.parameters:
        if param.default is not None:
            continue
        if param.input_type == "select":
            values[param.key] = (param.options or [""])[0]
        elif param.input_type == "file":
            values[param.key] = str(sample)
        else:
            values[param.key] = PLACEHOLDERS.get(param.input_type, f"<{param.key}>")
    return values


def test_the_corpus_is_complete():
    assert len(FILES) == 88
    assert set(EXPECTED_FAILURES) <= set(FILES) and set(EXPECTED_WARNINGS) <= set(FILES)


@pytest.mark.parametrize("name", [n for n in FILES if n not in EXPECTED_FAILURES])
def test_valid_recipes_load_and_render(name, tmp_path):
    recipe, warned = load(name)
    rendered = recipe.render(placeholder_values(recipe, tmp_path))
    assert rendered.instructions or rendered.prompt
    recipe.turn_options(rendered, default_provider="openai")
    if name in EXPECTED_WARNINGS:
        assert any(EXPECTED_WARNINGS[name] in w for w in warned), warned
    else:
        assert warned == []


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES))
def test_invalid_recipes_fail_with_one_clear_line(name):
    with pytest.raises(RecipeError) as caught:
        load(name)
    message = str(caught.value)
    assert message.startswith(str(CORPUS / name))
    assert EXPECTED_FAILURES[name] in message
    assert "\n" not in message


def test_the_counts_in_the_readme():
    loaded = len(FILES) - len(EXPECTED_FAILURES)
    assert (loaded, len(EXPECTED_FAILURES)) == (83, 5)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"{loaded} of {len(FILES)} corpus recipes load and render" in readme
