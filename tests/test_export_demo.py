"""``%goose export`` on a demo's real turns: the lead_worker notebook, run offline in a real
kernel, exports its agent's work as the new cell a front end would insert (the
``set_next_input`` payload of the execute reply) and as a script; each, run in a fresh
kernel or interpreter after the notebook's own data cell, gives the same ``growth`` the
agent made."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
from execute_notebooks import notebook_client, offline_env
from notebook_checks import NOTEBOOKS, assert_no_errors, cell_for, code_cells

GROWTH = "print(growth.to_json())"


def test_the_exported_lead_worker_demo_reproduces_growth(tmp_path: Path) -> None:
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder, ignore=shutil.ignore_patterns("*.ipynb_checkpoints"))
    notebook = nbformat.read(folder / "lead_worker.ipynb", as_version=4)
    notebook.cells += [nbformat.v4.new_code_cell("%goose export all"),
                       nbformat.v4.new_code_cell("%goose export all --file exported.py"),
                       nbformat.v4.new_code_cell(GROWTH)]
    payloads: list[dict[str, Any]] = []

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        if cell.source == "%goose export all":
            payloads.extend(execute_reply["content"].get("payload", []))

    client = notebook_client(notebook, folder)
    client.on_cell_executed = on_cell_executed
    client.execute(env=offline_env())
    assert_no_errors(notebook)
    agents_growth = cell_for(notebook, GROWTH).outputs[0].text.strip()
    data_cell = next(c.source for c in code_cells(notebook)
                     if c.source.startswith("import pandas"))

    # the cell: what JupyterLab and Notebook 7 insert below the export cell
    [payload] = payloads
    assert payload["source"] == "set_next_input" and payload["replace"] is False
    exported = payload["text"]
    assert exported.startswith("# turn 2, step ") and "growth" in exported
    fresh = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)
                                            for source in (data_cell, exported, GROWTH)])
    notebook_client(fresh, folder).execute(env=offline_env())
    assert_no_errors(fresh)
    assert cell_for(fresh, GROWTH).outputs[0].text.strip() == agents_growth

    # the script, in a fresh interpreter
    said = "".join(str(o.get("data", {}).get("text/plain", ""))
                   for o in cell_for(notebook, "%goose export all --file").outputs)
    # three calls changed variables, in turns 2-4 (the others only looked, or ran none)
    assert said == "Wrote 3 call(s) of turns 2, 3, 4 to exported.py."
    script = (folder / "exported.py").read_text()
    assert "# turn" in script and "growth" in script
    path = tmp_path / "fresh.py"
    path.write_text(f"{data_cell}\n\n{script}\n\n{GROWTH}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            cwd=folder, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == agents_growth
