"""What every demo-notebook test needs: running a notebook offline, reading its outputs,
and comparing two runs once the parts that change by nature (timings, widget ids) are
masked."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
sys.path.insert(0, str(ROOT / "scripts"))

from execute_notebooks import execute_notebook, offline_env  # noqa: E402

TIMING = re.compile(r"\d+\.\d+ s\b")
# a subagent summary's run time, printed by a notebook and in a parent's tool result
RUN_TIME = re.compile(r"""(["']execution_time_seconds["']: )\d+(?:\.\d+)?""")
API_KEY = re.compile(r"sk-[A-Za-z0-9]{8,}")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def run_offline(name: str) -> nbformat.NotebookNode:
    """Execute ``notebooks/NAME.ipynb`` in a fresh kernel on the replay provider."""
    return execute_notebook(NOTEBOOKS / f"{name}.ipynb", offline_env())


def code_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def cell_for(notebook: nbformat.NotebookNode, source_start: str) -> nbformat.NotebookNode:
    """The one code cell whose source starts with ``source_start``."""
    found = [c for c in code_cells(notebook) if c.source.startswith(source_start)]
    assert len(found) == 1, f"{len(found)} cells start with {source_start!r}"
    return found[0]


def shown(cell: nbformat.NotebookNode) -> str:
    """All of a cell's outputs in every static format (a widget's view is a reference to a
    fresh model id on every run, not content)."""
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text", ""))
        parts.extend(str(v) for k, v in output.get("data", {}).items() if k != WIDGET_VIEW)
        parts.extend(output.get("traceback", []))
    return "\n".join(parts)


def masked(notebook: nbformat.NotebookNode) -> list[str]:
    """Per code cell, its outputs with timings masked: what must not change between runs."""
    return [RUN_TIME.sub(r"\1T", TIMING.sub("T s", shown(cell)))
            for cell in code_cells(notebook)]


def assert_no_errors(notebook: nbformat.NotebookNode) -> None:
    errors = [o for c in code_cells(notebook) for o in c.outputs if o.output_type == "error"]
    stderr = [o.text for c in code_cells(notebook) for o in c.outputs
              if o.output_type == "stream" and o.name == "stderr"]
    assert not errors and not stderr, (errors, stderr)
