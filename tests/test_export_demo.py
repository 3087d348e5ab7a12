"""``%goose export`` on a demo's real turns: the lead_worker notebook, run offline in a real
kernel, exports its agent's work to a script; that script, run in a fresh interpreter after
the notebook's own data cell, gives the same ``growth`` the agent made."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from execute_notebooks import execute_notebook, offline_env
from notebook_checks import NOTEBOOKS, assert_no_errors, cell_for, code_cells


def test_the_exported_lead_worker_demo_reproduces_growth(tmp_path: Path) -> None:
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder, ignore=shutil.ignore_patterns("*.ipynb_checkpoints"))
    path = folder / "lead_worker.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells += [nbformat.v4.new_code_cell("%goose export all --file exported.py"),
                       nbformat.v4.new_code_cell("print(growth.to_json())")]
    nbformat.write(notebook, path)
    ran = execute_notebook(path, offline_env())
    assert_no_errors(ran)
    said = "".join(str(o.get("data", {}).get("text/plain", ""))
                   for o in cell_for(ran, "%goose export all").outputs)
    # turn 5 ran no tool; three calls changed variables (the others only looked)
    assert said == "Wrote 3 call(s) of turns 2, 3, 4 to exported.py."  # the turns they are from
    agents_growth = cell_for(ran, "print(growth.to_json())").outputs[0].text.strip()
    script = (folder / "exported.py").read_text()
    assert "# turn" in script and "growth" in script
    data_cell = next(c.source for c in code_cells(ran) if c.source.startswith("import pandas"))
    fresh = tmp_path / "fresh.py"
    fresh.write_text(f"{data_cell}\n\n{script}\n\nprint(growth.to_json())\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(fresh)], capture_output=True, text=True,
                            cwd=folder, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == agents_growth
