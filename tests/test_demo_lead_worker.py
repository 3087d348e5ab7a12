"""notebooks/lead_worker.ipynb runs offline and shows the lead/worker story it tells."""

from __future__ import annotations

import re

import nbformat
from notebook_checks import API_KEY, assert_no_errors, code_cells, masked, run_offline, shown


def texts(notebook: nbformat.NotebookNode) -> list[str]:
    return [shown(cell) for cell in code_cells(notebook)]


def test_lead_worker_notebook_tells_the_whole_story():
    first = run_offline("lead_worker")
    outputs = texts(first)
    assert_no_errors(first)
    timeline = next(t for t in outputs if "goose_nb timeline" in t)
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", timeline, re.MULTILINE)
    assert [marks.strip() for _, marks in rows] == [
        "L L", "L L", "⇄ W W", "W✗ W✗ ⇄ L L", "L", "⇄ W W"]
    assert "now:** worker; 0 failures of 2" in timeline
    turn_4 = next(t for t in outputs if "month-over-month" not in t and "2 failed steps" in t)
    assert "**LEAD · fallback**" in turn_4 and "KeyError" in turn_4 and "NameError" in turn_4
    assert any("⇄ lead → worker: recovered" in t for t in outputs)
    usage = next(t for t in outputs if "Usage by model" in t)
    assert re.search(r"saved \\?\$0\.\d{4} \(\d+%\)", usage)
    settings = next(t for t in outputs if "lead/worker settings" in t)
    assert "%goose config GOOSE_PROVIDER=replay" in settings
    assert "12.5" in outputs[-1] and "30.7" in outputs[-1]  # the agent's table is kernel state
    assert not API_KEY.search(nbformat.writes(first))
    assert masked(run_offline("lead_worker")) == masked(first)
