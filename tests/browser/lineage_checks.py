"""One notebook that uses every lineage and export command, and the checks of what a front
end shows for it: the same cells and the same checks for JupyterLab and for Notebook 7.

The turn's model (the test's own server) makes ``df`` and then ``total`` in two python
calls; a cell of the user's then changes ``df``; ``%goose why df``, ``%goose export
--check``, ``%goose export --file`` and ``session.lineage("total")`` show their results;
``%goose export`` last asks the front end for a new cell below itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from browser.labpage import PANEL, LabServer, NotebookPage, clip, squash

TESTS = Path(__file__).resolve().parents[1]

#: the first cell: the test's model server, queued with the turn's two calls
SETUP = f"""\
import os
import sys
sys.path.insert(0, {str(TESTS)!r})
from model_server import ModelServer, openai_reply, python_call
model_server = ModelServer().__enter__()
model_server.queue(openai_reply(tool_calls=[python_call("c1", "df = {{'a': [1, 2, 3]}}")]),
                   openai_reply(tool_calls=[python_call("c2", "total = sum(df['a'])")]),
                   openai_reply("done"))
os.environ.update(GOOSE_PROVIDER="openai", GOOSE_MODEL="gpt-test",
                  OPENAI_HOST=model_server.url,
                  OPENAI_API_KEY="sk-test-0123456789abcdef0123")
%load_ext goose_nb"""

TURN = "%%goose\nMake df and total."
USER_CHANGE = "df['b'] = [0]"
WHY = "%goose why df"
CHECK = "%goose export --check"
SCRIPT = "analysis_export.py"
FILE = f"%goose export --file {SCRIPT}"
AS_DATA = ("import goose_nb\n"
           "[(s.turn, s.step, str(s.model)) for s in "
           "goose_nb.current_session().lineage('total').steps]")
EXPORT = "%goose export"

CELLS = [SETUP, TURN, USER_CHANGE, WHY, CHECK, FILE, AS_DATA, EXPORT]

#: the turn's two calls as ``%goose export`` writes them (lineage/export.py's export_cell)
EXPORTED = ("# turn 1, step 1 — openai/gpt-test\n"
            "df = {'a': [1, 2, 3]}\n"
            "\n"
            "# turn 1, step 2 — openai/gpt-test\n"
            "total = sum(df['a'])")

#: every cell of the notebook shown, as the front end draws it: its kind, the text of its
#: CodeMirror editor (its lines joined), its execution prompt, its number of outputs
CELLS_JS = """(panel) => [...document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell')]
  .map(c => ({code: c.classList.contains('jp-CodeCell'),
              source: [...c.querySelectorAll('.jp-InputArea-editor .cm-content .cm-line')]
                      .map(l => l.textContent).join('\\n'),
              prompt: (c.querySelector('.jp-InputPrompt')?.textContent || '').trim(),
              outputs: c.querySelectorAll('.jp-Cell-outputArea .jp-OutputArea-output').length,
              active: c.classList.contains('jp-mod-active')}))"""


def index_of(page: NotebookPage, source: str) -> int:
    """The index of the cell written as ``source``."""
    for index in range(len(page.notebook["cells"])):
        if page.source(index) == source:
            return index
    raise AssertionError(f"{page.name} has no cell written as {source!r}")


def check_lineage_notebook(page: NotebookPage, server: LabServer, front_end: str,
                           console_errors: Callable[[], list[str]]) -> None:
    """Check what ``front_end`` shows for ``CELLS``, run with Run All Cells in ``page``;
    ``console_errors`` gives the page's console errors that count."""

    def console() -> str:
        found = console_errors()
        return (f" Browser console errors: {[clip(e, 300) for e in found]}" if found
                else " No browser console errors.")

    def said(source: str) -> str:
        return " ".join(squash(t) for t in page.output_texts(index_of(page, source)))

    # the turn: one collapsible block per python call
    turn = index_of(page, TURN)
    blocks = page.outputs(turn).locator("details").filter(
        has=page.page.locator("summary", has_text="python"))
    summaries = [squash(s) for s in blocks.locator("summary").all_text_contents()]
    assert blocks.count() == 2, (
        f"{front_end} shows {blocks.count()} <details> blocks whose summary names python in "
        f"the turn (summaries {summaries}); expected 2, one per call. "
        + page.described_outputs(turn) + console())

    # %goose why df: both steps, newest first, each folded with its code; the user's cell
    why = index_of(page, WHY)
    steps = page.outputs(why).locator("details")
    heads = [squash(s) for s in steps.locator("summary").all_text_contents()]
    assert heads == ["turn 1 · step 1 · openai/gpt-test · cell [2]"], (
        f"%goose why df in {front_end} shows the step heads {heads}: expected the one step "
        f"that made df, 'turn 1 · step 1 · openai/gpt-test · cell [2]'. "
        + page.described_outputs(why) + console())
    code = steps.first.locator("pre, code").first
    assert steps.first.get_attribute("open") is None and not code.is_visible(), (
        f"%goose why df in {front_end}: the step's code is not folded (open="
        f"{steps.first.get_attribute('open')!r}, code visible: {code.is_visible()})")
    steps.first.locator("summary").click()
    assert code.is_visible() and "df = {'a': [1, 2, 3]}" in squash(code.text_content()), (
        f"%goose why df in {front_end}: clicking the step shows {code.text_content()!r}, "
        "not the call's code")
    change = index_of(page, USER_CHANGE) + 1  # Run All Cells in a fresh kernel: [1], [2], …
    assert f"Changed since by your own cell(s) [{change}]" in said(WHY), (
        f"%goose why df in {front_end} does not name cell [{change}], the user's change "
        f"of df: {page.described_outputs(why)}")

    # --check: the calls rerun on the variables before the turn give the agent's values
    assert "The exported code reproduces the agent's variables." in said(CHECK), (
        f"%goose export --check in {front_end}: {page.described_outputs(index_of(page, CHECK))}"
        + console())
    assert re.search(r"total\s*✓ reproduced", said(CHECK)), (
        f"%goose export --check in {front_end} has no 'total ✓ reproduced' row: "
        f"{page.described_outputs(index_of(page, CHECK))}")

    # --file: a script in the notebook's folder, imports first, that runs on its own
    script = server.root / SCRIPT
    assert f"Wrote 2 call(s) of turn 1 to {SCRIPT}." in said(FILE), (
        f"%goose export --file in {front_end}: {page.described_outputs(index_of(page, FILE))}")
    written = script.read_text(encoding="utf-8")
    assert written.startswith('"""') and written.rstrip().endswith(EXPORTED), (
        f"{script} reads {written!r}; expected a docstring, then {EXPORTED!r}")
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60, check=False)
    assert ran.returncode == 0, f"python {script} failed: {ran.stderr[-800:]}"

    # session.lineage(): the same as data
    assert "[(1, 2, 'openai/gpt-test')]" in said(AS_DATA), (
        f"session.lineage('total') in {front_end}: "
        f"{page.described_outputs(index_of(page, AS_DATA))}")

    # %goose export: a new code cell right below it, holding the two calls (the front end
    # inserts it when the cell's execute reply, with its set_next_input payload, comes in;
    # give the model a moment to reach the DOM)
    export = index_of(page, EXPORT)
    deadline = time.monotonic() + 10
    cells = page.page.evaluate(CELLS_JS, PANEL)
    while len(cells) == len(CELLS) and time.monotonic() < deadline:
        page.page.wait_for_timeout(200)
        cells = page.page.evaluate(CELLS_JS, PANEL)
    shown = [{k: (clip(v, 200) if isinstance(v, str) else v) for k, v in c.items()}
             for c in cells]
    assert len(cells) == len(CELLS) + 1, (
        f"after Run All Cells {front_end} shows {len(cells)} cells, written with "
        f"{len(CELLS)}: it did not insert the cell that %goose export asks for "
        f"(set_next_input, replace=False). The cells: {shown}. The export cell's output: "
        f"{clip(said(EXPORT))}" + console())
    assert all(c["code"] for c in cells), f"not every cell is a code cell: {shown}"
    assert [c["source"] for c in cells[:len(CELLS)]] == CELLS, (
        f"the written cells are no longer in their places (the new cell went elsewhere "
        f"than directly below %goose export): {shown}")
    new = cells[export + 1]
    assert new["source"].rstrip("\n") == EXPORTED, (
        f"the cell below %goose export reads {new['source']!r}; expected {EXPORTED!r}. "
        f"The cells: {shown}")
    # Run All Cells runs the cells it was started on: the inserted cell is left unrun
    assert new["prompt"] == "[ ]:" and new["outputs"] == 0, (
        f"the inserted cell shows the prompt {new['prompt']!r} and {new['outputs']} "
        f"output(s): expected it left unrun, '[ ]:' and no output. The cells: {shown}")
    assert "2 call(s) of turn 1, as a new cell below" in said(EXPORT), (
        "the export cell's output does not say '2 call(s) of turn 1, as a new cell "
        "below': " + page.described_outputs(export) + console())
    page.cell(export + 1).scroll_into_view_if_needed()
    page.screenshot("inserted")
