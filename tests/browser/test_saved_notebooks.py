"""goose_nb's outputs in a notebook saved with them and opened by someone else, untrusted.

A colleague who opens a notebook another person ran sees the outputs saved in it, in a
notebook JupyterLab does not trust: its HTML (and the HTML inside Markdown) goes through
JupyterLab's sanitizer. The notebooks here are written by the test, run in the suite's
JupyterLab (``lab``), saved from its File menu, and their saved files copied into a second
JupyterLab server, the colleague's: a server of its own, with its own notebook-signing key
and signature database. (A copy in the same server is not untrusted: the server trusts a
notebook whose content's digest it signed, whatever its file name.) The copies are opened
there without running them and read back from the DOM.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser.labpage import LabServer, NotebookPage, clip, squash
from browser.test_jupyterlab import (
    EXTENSIONS_SETUP,
    MCP_STUB,
    THINKING_SETUP,
    code_cell,
    write_notebook,
)

pytestmark = pytest.mark.timeout(600)

SAVED_EXTENSIONS = "browser_saved_extensions.ipynb"
SAVED_THINKING = "browser_saved_thinking.ipynb"
PICTURE_TURN = "%%goose\nshow me a picture"
THINKING_TURN = "%%goose\nName a pelican."

#: the trust indicator of JupyterLab's status bar: its title, e.g. "Notebook not trusted:
#: 0 of 3 code cells trusted." (@jupyterlab/notebook-extension's trust status item)
TRUST_TITLE_JS = """() => {
  const item = document.querySelector('.jp-StatusItem-trust');
  return item ? item.title : null;
}"""


@pytest.fixture(scope="module")
def colleague(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A second JupyterLab, as a colleague's: it never signed the notebooks saved in ``lab``."""
    server = LabServer(tmp_path_factory.mktemp("colleague"))
    yield server
    server.stop()


def run_and_save(lab: LabServer, browser: Any, name: str, cells: list[str]) -> Path:
    """``cells`` as the notebook ``name``, run with Run All Cells and saved with File > Save
    Notebook; its file, once it holds the outputs."""
    write_notebook(lab, name, cells)
    page = NotebookPage(lab, browser, name)
    try:
        page.run_all()
        page.menu("File", "Save Notebook")
        deadline = time.monotonic() + 30
        while True:
            saved = json.loads((lab.root / name).read_text(encoding="utf-8"))
            counts = [c.get("execution_count") for c in saved["cells"]
                      if c["cell_type"] == "code"]
            if all(counts) and saved["cells"][-1].get("outputs"):
                return lab.root / name
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{name}: 30 s after File > Save Notebook, the file on disk has execution "
                    f"counts {counts} and {len(saved['cells'][-1].get('outputs', []))} outputs "
                    f"in its last cell; the page shows {page.state()['prompts']}")
            page.page.wait_for_timeout(250)
    finally:
        page.close()
        lab.shut_down_sessions(name)


def bundles(notebook: dict[str, Any], start: str) -> list[str]:
    """Each output of the code cell whose source starts with ``start``, as saved: its
    output type and the MIME types of its data."""
    for cell in notebook["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and source.startswith(start):
            return [f"{o['output_type']} {sorted(o.get('data', {}))}" for o in cell["outputs"]]
    raise AssertionError(f"the saved notebook has no code cell starting with {start!r}")


def saved_markdown(notebook: dict[str, Any], start: str, needle: str) -> str:
    """The saved text/markdown of the cell ``start``'s output that holds ``needle``."""
    for cell in notebook["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] != "code" or not source.startswith(start):
            continue
        for output in cell["outputs"]:
            text = output.get("data", {}).get("text/markdown", "")
            text = "".join(text) if isinstance(text, list) else text
            if needle in text:
                return text
    return "(no text/markdown output holds it)"


def open_untrusted(colleague: LabServer, browser: Any, saved: Path,
                   name: str) -> NotebookPage:
    """The saved notebook file ``saved``, copied as it is into the colleague's server as
    ``name``, opened there (not run) once the server and the page both say it is not
    trusted."""
    shutil.copyfile(saved, colleague.root / name)
    model = colleague.api("GET", f"/api/contents/{name}?content=1")
    marks = [c["metadata"].get("trusted") for c in model["content"]["cells"]
             if c["cell_type"] == "code"]
    assert marks and all(mark is False for mark in marks), (
        f"the colleague's server marks the code cells of {name} trusted={marks}: the copy is "
        "not an untrusted notebook, and the test would check the trusted rendering")
    page = NotebookPage(colleague, browser, name, saved_outputs=True)
    deadline = time.monotonic() + 15
    title = page.page.evaluate(TRUST_TITLE_JS)
    while not (title or "").startswith("Notebook not trusted") and time.monotonic() < deadline:
        page.page.wait_for_timeout(250)
        title = page.page.evaluate(TRUST_TITLE_JS)
    if not (title or "").startswith("Notebook not trusted: 0 of"):
        page.close()
        raise AssertionError(
            f"{name} opened in the colleague's JupyterLab, whose status bar trust item reads "
            f"{title!r} (expected 'Notebook not trusted: 0 of N code cells trusted.'): the "
            "test would not be checking an untrusted notebook")
    return page


def thinking_problems(page: NotebookPage, saved: dict[str, Any]) -> list[str]:
    """What is wrong with the thinking block of the untrusted copy (nothing: [])."""
    turn = code_cell(page, THINKING_TURN)
    outputs = page.outputs(turn)
    where = (f"; the saved outputs of the turn: {bundles(saved, THINKING_TURN)}; "
             + page.described_outputs(turn))
    blocks = page.blocks(outputs, re.compile(r"^\s*💭 thinking"))
    if blocks.count() != 1:
        return [f"untrusted, the turn shows {blocks.count()} <details> blocks whose summary "
                f"starts with '💭 thinking' ({outputs.locator('details').count()} <details> in "
                f"all); goose_nb saved: "
                f"{clip(saved_markdown(saved, THINKING_TURN, '💭 thinking'), 600)}" + where]
    block = blocks.first
    summary = block.locator("summary").first
    said = squash(summary.text_content())
    shown = clip(block.evaluate("(d) => d.outerHTML"), 1200)
    mime = block.evaluate("(d) => d.closest('.jp-OutputArea-output')?.dataset.mimeType || ''")
    problems = []
    if not said.startswith("💭 thinking") or "3 words" not in said:
        problems.append(f"untrusted, the thinking block's summary reads {said!r}: expected "
                        f"'💭 thinking · 3 words'; its HTML as rendered ({mime}): {shown}")
    if block.get_attribute("open") is not None or block.evaluate("(d) => d.open") is not False:
        problems.append(f"untrusted, the thinking block is open before it is clicked "
                        f"({mime}): {shown}")
    pres = block.locator("pre")
    if pres.count() != 1:
        return [*problems, f"untrusted, the thinking block holds {pres.count()} <pre> elements "
                f"(goose_nb writes its thinking in one); its HTML as rendered ({mime}): {shown}"]
    pre = pres.first
    thought = squash(pre.text_content())
    if pre.is_visible():
        problems.append(f"untrusted, the thinking {thought!r} is visible before the block is "
                        f"opened ({mime}): {shown}")
    did_open = page.open_details(block)
    opened = clip(block.evaluate("(d) => d.outerHTML"), 1200)
    if not did_open:
        return [*problems, f"untrusted, a click on the summary {said!r} did not open the "
                f"thinking block ({mime}): {opened}"]
    page.screenshot("thinking-open")
    pre.scroll_into_view_if_needed()
    if not pre.is_visible() or thought != "Pelicans scoop fish.":
        problems.append(f"untrusted, the opened thinking block's <pre> is "
                        f"{'' if pre.is_visible() else 'not '}visible and reads {thought!r} "
                        f"(expected 'Pelicans scoop fish.'); its HTML as rendered ({mime}): "
                        f"{opened}")
    answer = outputs.get_by_text("Scoop.", exact=True)
    if answer.count() != 1 or not answer.first.is_visible():
        problems.append(f"untrusted, {answer.count()} elements of the turn's outputs read "
                        f"exactly 'Scoop.' (the answer), or it is not visible" + where)
    return problems


def image_problems(page: NotebookPage, saved: dict[str, Any]) -> list[str]:
    """What is wrong with the stub__pictures block's image in the untrusted copy."""
    turn = code_cell(page, PICTURE_TURN)
    outputs = page.outputs(turn)
    where = (f"; the saved outputs of the turn: {bundles(saved, PICTURE_TURN)}; "
             + page.described_outputs(turn))
    blocks = page.blocks(outputs, "stub__pictures")
    if blocks.count() != 1:
        return [f"untrusted, the turn shows {blocks.count()} <details> blocks whose summary "
                f"names stub__pictures" + where]
    block = blocks.first
    mime = block.evaluate("(d) => d.closest('.jp-OutputArea-output')?.dataset.mimeType || ''")
    saved_img = re.findall(r"<img\b[^>]*>", saved_markdown(saved, PICTURE_TURN, "<img"))
    written = clip(saved_img[0], 160) if saved_img else "(no <img> in the saved Markdown)"
    if not page.open_details(block):
        return [f"untrusted, a click on the stub__pictures summary did not open its block "
                f"({mime}): {clip(block.evaluate('(d) => d.outerHTML'), 1200)}"]
    shown = clip(block.evaluate("(d) => d.innerHTML"), 1500)
    images = block.locator("img")
    if images.count() != 1:
        return [f"untrusted, the opened stub__pictures block holds {images.count()} <img> "
                f"elements: JupyterLab's sanitizer removed the <img> goose_nb wrote ({written}) "
                f"in the output's {mime}. Its HTML as rendered: {shown}" + where]
    image = images.first
    attributes = image.evaluate(
        "(i) => Object.fromEntries([...i.attributes].map(a => [a.name, a.value.slice(0, 60)]))")
    src = image.get_attribute("src")
    deadline = time.monotonic() + 10
    decoded = image.evaluate("(i) => ({complete: i.complete, width: i.naturalWidth, "
                             "height: i.naturalHeight})")
    while decoded["width"] == 0 and src and time.monotonic() < deadline:
        page.page.wait_for_timeout(200)
        decoded = image.evaluate("(i) => ({complete: i.complete, width: i.naturalWidth, "
                                 "height: i.naturalHeight})")
    page.screenshot("picture-open")
    if not (src or "").startswith("data:image/png;base64,"):
        return [f"untrusted, the tool's <img> is left with the attributes {attributes} (src "
                f"{clip(src or '', 80)!r}): JupyterLab's sanitizer removed the src "
                f"data:image/png;base64 URL goose_nb wrote ({written}) in the output's "
                f"{mime}, so the image does not show (naturalWidth {decoded['width']}). "
                f"Its HTML as rendered: {shown}" + where]
    if decoded["width"] == 0:
        return [f"untrusted, the tool's <img> keeps its data URL src but did not decode "
                f"({decoded}; {mime}): {shown}"]
    image.scroll_into_view_if_needed()
    if not image.is_visible():
        return [f"untrusted, the tool's <img> decodes ({decoded}) but is not visible ({mime})"]
    return []


def test_saved_outputs_read_well_when_reopened_untrusted(lab: LabServer, colleague: LabServer,
                                                          browser: Any) -> None:
    thinking = run_and_save(lab, browser, SAVED_THINKING, [THINKING_SETUP, THINKING_TURN])
    pictures = run_and_save(lab, browser, SAVED_EXTENSIONS, [
        EXTENSIONS_SETUP,
        f"%goose extensions add stub -- {sys.executable} {MCP_STUB}",
        PICTURE_TURN])

    problems = []
    for path, check in [(thinking, thinking_problems), (pictures, image_problems)]:
        copy = "colleague_" + path.name
        page = open_untrusted(colleague, browser, path, copy)
        try:
            page.screenshot()
            saved = json.loads(path.read_text(encoding="utf-8"))
            problems += [f"{copy}: {p}" for p in check(page, saved)]
        finally:
            page.close()
            colleague.shut_down_sessions(copy)
    assert not problems, "\n".join(problems)
