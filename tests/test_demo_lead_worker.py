"""notebooks/lead_worker.ipynb runs offline and shows the lead/worker story it tells."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from execute_notebooks import execute_notebook, offline_env  # noqa: E402

NOTEBOOK = ROOT / "notebooks" / "lead_worker.ipynb"
TIMING = re.compile(r"\d+\.\d+ s\b")


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def texts(notebook: nbformat.NotebookNode) -> list[str]:
    """Per code cell, all its outputs' text in every static format (a widget's view is a
    reference to a fresh model id on every run, not content)."""
    shown = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        parts = []
        for output in cell.outputs:
            parts.append(output.get("text", ""))
            parts.extend(str(v) for k, v in output.get("data", {}).items() if k != WIDGET_VIEW)
        shown.append("\n".join(parts))
    return shown


def test_lead_worker_notebook_tells_the_whole_story():
    first = execute_notebook(NOTEBOOK, offline_env())
    shown = texts(first)
    assert not any(o.output_type == "error" for c in first.cells if c.cell_type == "code"
                   for o in c.outputs)
    timeline = next(t for t in shown if "goose_nb timeline" in t)
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", timeline, re.MULTILINE)
    assert [marks.strip() for _, marks in rows] == [
        "L L", "L L", "⇄ W W", "W✗ W✗ ⇄ L L", "L", "⇄ W W"]
    assert "now:** worker; 0 failures of 2" in timeline
    turn_4 = next(t for t in shown if "month-over-month" not in t and "2 failed steps" in t)
    assert "**LEAD · fallback**" in turn_4 and "KeyError" in turn_4 and "NameError" in turn_4
    assert any("⇄ lead → worker: recovered" in t for t in shown)
    usage = next(t for t in shown if "Usage by model" in t)
    assert re.search(r"saved \\?\$0\.\d{4} \(\d+%\)", usage)
    settings = next(t for t in shown if "lead/worker settings" in t)
    assert "%goose config GOOSE_PROVIDER=replay" in settings
    assert "12.5" in shown[-1] and "30.7" in shown[-1]  # the agent's table is kernel state
    saved = nbformat.writes(first)
    assert not re.search(r"sk-[A-Za-z0-9]{8,}", saved)

    second = execute_notebook(NOTEBOOK, offline_env())
    assert [TIMING.sub("T s", t) for t in texts(second)] == \
        [TIMING.sub("T s", t) for t in shown]
