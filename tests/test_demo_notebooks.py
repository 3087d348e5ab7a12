"""notebooks/exploratory_data.ipynb and notebooks/planning.ipynb run offline, show what their
Markdown promises, leak nothing key-shaped, and give the same outputs on every run."""

from __future__ import annotations

import nbformat
import pytest
from notebook_checks import (
    API_KEY,
    NOTEBOOKS,
    assert_no_errors,
    cell_for,
    code_cells,
    masked,
    run_offline,
    shown,
)


@pytest.fixture(scope="module")
def exploratory() -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    return run_offline("exploratory_data"), run_offline("exploratory_data")


@pytest.fixture(scope="module")
def planning() -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    return run_offline("planning"), run_offline("planning")


def test_sales_csv_is_a_plausible_dataset():
    pd = pytest.importorskip("pandas")
    sales = pd.read_csv(NOTEBOOKS / "data" / "sales.csv", parse_dates=["date"])
    assert list(sales.columns) == ["date", "region", "product", "units", "unit_price"]
    assert 200 <= len(sales) <= 600
    assert not sales.isna().any().any()
    assert (sales["units"] > 0).all() and (sales["unit_price"] > 0).all()
    assert sales["date"].dt.year.eq(2025).all()


def test_exploratory_notebook_inspects_computes_and_plots(exploratory):
    notebook, _ = exploratory
    assert_no_errors(notebook)
    first = shown(cell_for(notebook, "%%goose\nWhat is in `sales`?"))
    assert "✓ <code>list_variables</code>" in first and "✓ <code>python</code>" in first
    assert "320 rows × 5 columns" in first  # the tool really looked at the DataFrame
    assert "0 missing values, 0 duplicate rows" in first  # and the code really ran
    assert "✗" not in first

    summaries = shown(cell_for(notebook, "%%goose\nAdd a revenue column"))
    assert "North    20661.36" in summaries and "total: 71,697.60" in summaries
    assert "| North | 20,661.36 | 28.8% |" in summaries

    plot_cell = cell_for(notebook, "%%goose\nPlot monthly revenue")
    images = [o for o in plot_cell.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1 and len(images[0].data["image/png"]) > 10_000
    assert "✓ <code>python</code>" in shown(plot_cell)

    after = cell_for(notebook, "best = monthly.idxmax()")
    assert after.outputs[0].text == ("Best month: 2025-08, revenue 8,028.31\n"
                                     "Months above 6,000: 6 of 12\n")
    status = shown(cell_for(notebook, "%goose status"))
    assert "| turns | 3 |" in status and "gpt-4o-mini" in status and "| lead |" not in status

    why = shown(cell_for(notebook, "%goose why sales"))
    ran_in = cell_for(notebook, "%%goose\nAdd a revenue column").execution_count
    assert f"turn 2 · step 1 · openai/gpt-4o-mini · cell [{ran_in}]" in why  # the kernel's
    assert 'sales["revenue"] = sales["units"] * sales["unit_price"]' in why
    exported = shown(cell_for(notebook, "%goose export all"))
    assert "2 call(s) of turns 2, 3, as a new cell below" in exported  # turn 1 only read
    assert "# turn 2, step 1 — openai/gpt-4o-mini" in exported
    assert "# turn 3, step 1 — openai/gpt-4o-mini" in exported


def test_planning_notebook_asks_plans_runs_and_ticks(planning):
    notebook, _ = planning
    assert_no_errors(notebook)
    cells = [c for c in code_cells(notebook) if c.source.startswith("%%goose_plan")]
    assert len(cells) == 2
    questions = shown(cells[0])
    assert "The planner has questions:" in questions
    assert "1. Should cancelled orders" in questions and "3. How many customers" in questions
    assert "`openai/o3`" in questions

    plan = shown(cells[1])
    assert "**Plan: Top 3 customers by total spend**" in plan
    assert plan.count("[ ]") == 3 and "[x]" not in plan
    assert "%goose_plan run" in plan

    run = shown(cell_for(notebook, "%goose_plan run"))
    assert "**LEAD** · `openai/gpt-4o`" in run and "WORKER" not in run
    assert run.count("✓ <code>python</code>") == 3 and "✗" not in run
    assert "12 -> 9 rows" in run and "same total as clean: True" in run
    assert "1. [x] Make `clean`" in run and "2. [x] Sum `amount`" in run
    assert "3. [x] Put the top 3" in run and "[ ]" not in run

    assert "2. [x] Sum `amount` per customer" in run and "`%goose export plan_step_2`" in run

    top3 = shown(cell_for(notebook, "top3"))
    assert "Cobalt" in top3 and "630.0" in top3 and "Ember" not in top3

    step = shown(cell_for(notebook, "%goose export plan_step_2"))
    assert "1 call(s) of plan step 2, as a new cell below" in step
    assert 'spend = clean.groupby("customer")["amount"].sum()' in step
    assert "clean = " not in step and "top3 = " not in step  # steps 1 and 3 are not in it

    status = shown(cell_for(notebook, "%goose status"))
    assert "| lead | replay / gpt-4o |" in status and "| worker | replay / gpt-4o-mini |" in status
    assert "| plan | Top 3 customers by total spend (3 of 3 steps done) |" in status
    assert "tokens · openai/o3" in status


@pytest.mark.parametrize("fixture", ["exploratory", "planning"])
def test_demo_notebooks_leak_no_key_and_replay_identically(fixture, request):
    first, second = request.getfixturevalue(fixture)
    for notebook in (first, second):
        assert not API_KEY.search(nbformat.writes(notebook))
    assert masked(first) == masked(second)
