"""notebooks/subagents.ipynb and notebooks/recipes.ipynb run offline, show what their Markdown
promises, leak nothing key-shaped, and give the same outputs on every run."""

from __future__ import annotations

import re

import nbformat
import pytest
import yaml
from notebook_checks import (
    API_KEY,
    NOTEBOOKS,
    assert_no_errors,
    cell_for,
    masked,
    run_offline,
    shown,
)

SHIPPED = ["code-reviewer", "data-profiler", "chart-maker", "test-writer"]


@pytest.fixture(scope="module")
def subagents() -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    return run_offline("subagents"), run_offline("subagents")


@pytest.fixture(scope="module")
def recipes() -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    return run_offline("recipes"), run_offline("recipes")


def test_subagents_cassette_can_replay_in_parallel():
    """Parallel subagents interleave their calls: every (model, last message) pair and
    every tool call id must be unique for each to find its own steps."""
    cassette = yaml.safe_load((NOTEBOOKS / "cassettes" / "subagents.yaml").read_text("utf-8"))
    keys, ids = [], []
    for interaction in cassette["interactions"]:
        last = interaction["request"]["last_message"]
        said = tuple(last["tool_call_ids"]) if last["role"] == "tool" else \
            " ".join(last["text"].split())
        keys.append((interaction["request"]["model"], last["role"], said))
        ids += [call["id"] for call in interaction["response"].get("tool_calls", [])]
    assert len(keys) == len(set(keys)) and len(ids) == len(set(ids))


def test_subagents_notebook_runs_parallel_sequential_words_and_recipe(subagents):
    notebook, _ = subagents
    assert_no_errors(notebook)
    parallel = shown(cell_for(notebook, "%%goose_subagents --parallel"))
    assert "Subagents (parallel): 3 of 3 succeeded" in parallel
    assert parallel.count("| ✓ success | openai/gpt-4o-mini |") == 3
    assert "order lines: 85, revenue: 20,661.36" in parallel  # the subagents' code ran
    assert "order lines: 79, revenue: 16,125.29" in parallel
    assert "order lines: 91, revenue: 20,450.33" in parallel

    returned = cell_for(notebook, "summary = _").outputs[0].text
    assert ("{'total_tasks': 3, 'successful_tasks': 3, 'failed_tasks': 0, "
            "'execution_time_seconds': ") in returned
    assert "task_1: success - North" in returned and "task_3: success - East" in returned

    sequential = shown(cell_for(notebook, "%%goose_subagents --sequential"))
    assert "Subagents (sequential): 2 of 2 succeeded" in sequential
    assert "| products | ✓ success |" in sequential and "| weekdays | ✓ success |" in sequential
    assert "Notebook A5      101   4066" in sequential and "Wednesday    54" in sequential

    words = shown(cell_for(notebook, "%%goose_subagents\nUse 2 subagents"))
    assert "✓ <code>dynamic_task__create_task</code>" in words
    assert "✓ <code>subagent__execute_task</code>" in words
    assert '"total_tasks": 2' in words and '"successful_tasks": 2' in words
    assert "Subagents (parallel): 2 of 2 succeeded" in words
    assert "Office chair    7909.65" in words and "USB-C hub      10144.83" in words
    assert "| July–December | USB-C hub | 10,144.83 |" in words  # the parent's report

    recipe = shown(cell_for(notebook, "%%goose_subagents\n- recipe: data-profiler"))
    assert "Subagents (sequential): 1 of 1 succeeded" in recipe
    assert "| task_1 | ✓ success |" in recipe and "recipe data-profiler" in recipe
    assert "✓ <code>list_variables</code>" in recipe and "✗" not in recipe
    profile = cell_for(notebook, "import json").outputs[0].text
    assert profile == "320 rows × 5 columns, 0 missing values\nrows match the DataFrame: True\n"


def test_recipes_notebook_lists_shows_profiles_and_charts(recipes):
    pd = pytest.importorskip("pandas")
    notebook, _ = recipes
    assert_no_errors(notebook)
    listing = shown(cell_for(notebook, "%goose_recipe list"))
    for name in SHIPPED:
        assert re.search(rf"\| {name} \| [^|]+ \| built-in: goose_nb/recipes/builtin/{name}"
                         r"\.yaml \|", listing), name

    show = shown(cell_for(notebook, "%goose_recipe show data-profiler"))
    assert "### DataFrame Profiler (data-profiler)" in show
    assert "at most 10 steps" in show and "| variable | string | required |" in show

    run = shown(cell_for(notebook, "profile = %goose_recipe run data-profiler"))
    assert "**▶ Recipe data-profiler — DataFrame Profiler**" in run
    assert "✓ <code>list_variables</code>" in run and "✓ <code>python</code>" in run
    rows = len(pd.read_csv(NOTEBOOKS / "data" / "sales.csv"))
    used = cell_for(notebook, "print(f\"rows: {profile['rows']}").outputs[0].text
    assert used.startswith(f"rows: {rows} (len(sales) = {rows}), columns: 5\n")
    assert "missing per column: {'date': 0, 'region': 0," in used

    chart = cell_for(notebook, "%goose_recipe run chart-maker")
    assert "kind=line" in shown(chart) and "✓ <code>python</code>" in shown(chart)
    images = [o for o in chart.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1 and len(images[0].data["image/png"]) > 10_000
    assert not [o for o in chart.outputs if o.output_type == "execute_result"]  # None back


@pytest.mark.parametrize("fixture", ["subagents", "recipes"])
def test_demo_notebooks_leak_no_key_and_replay_identically(fixture, request):
    first, second = request.getfixturevalue(fixture)
    for notebook in (first, second):
        assert not API_KEY.search(nbformat.writes(notebook))
    assert masked(first) == masked(second)
