"""The demo notebooks in JupyterLab, in headless Chromium: what the page shows after a run.

Each notebook is opened at /lab/tree/NAME.ipynb, run with Run > Run All Cells (the
planning notebook up to its plan, whose Run button is then clicked), and checked on the
rendered DOM: the outputs as JupyterLab drew them, widgets included. A screenshot of each
notebook goes to tests/browser/screenshots/.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from browser.labpage import (
    NOTEBOOKS,
    LabServer,
    NotebookPage,
    Notebooks,
    assert_ran_clean,
    clip,
    squash,
)
from browser.lineage_checks import CELLS, check_lineage_notebook

pytestmark = pytest.mark.timeout(420)

LEAD_WORKER = "lead_worker.ipynb"
PLANNING = "planning.ipynb"
SUBAGENTS = "subagents.ipynb"


def code_cell(page: NotebookPage, start: str) -> int:
    """The index of the code cell whose source starts with ``start``."""
    for index in page.code_cells:
        if page.source(index).strip().startswith(start):
            return index
    raise AssertionError(f"{page.name} has no code cell starting with {start!r}")


def bold_texts(page: NotebookPage, index: int) -> list[dict[str, Any]]:
    """Every element of the cell's outputs that draws its text bold: its text and weight."""
    return list(page.outputs(index).evaluate_all(
        """(outputs) => outputs.flatMap(o => [...o.querySelectorAll('*')])
             .filter(e => e.children.length === 0 && e.textContent.trim()
                     && parseInt(getComputedStyle(e).fontWeight) >= 600)
             .map(e => ({text: e.textContent.trim().replace(/\\s+/g, ' '),
                         weight: getComputedStyle(e).fontWeight, tag: e.tagName}))"""))


# lead_worker.ipynb ------------------------------------------------------------------------

#: per turn (its prompt's start): the role badges its step headers show, in order of first
#: appearance, and the switch dividers it shows (lead_worker.yaml, GOOSE_LEAD_TURNS=2)
TURNS = [
    ("What is in `sales`?", ["LEAD"], []),
    ("Add a `revenue` column", ["LEAD"], []),
    ("Total revenue per region", ["WORKER"], ["⇄ lead → worker"]),
    ("Now the month-over-month growth", ["WORKER", "LEAD · fallback"], ["⇄ worker → lead"]),
    ("Which region grew fastest?", ["LEAD · fallback"], []),
    ("Which month had the highest revenue", ["WORKER"], ["⇄ lead → worker"]),
]


def test_lead_worker_role_badges_and_switch_dividers(notebooks: Notebooks) -> None:
    page = notebooks.get(LEAD_WORKER)
    problems = []
    for prompt, badges, switches in TURNS:
        index = code_cell(page, f"%%goose\n{prompt}")
        found = []
        bold = bold_texts(page, index)
        shown_badges = list(dict.fromkeys(b["text"] for b in bold
                                          if re.fullmatch(r"(LEAD|WORKER)( · \w+)?", b["text"])))
        shown_switches = list(dict.fromkeys(b["text"] for b in bold
                                            if b["text"].startswith("⇄")))
        if shown_badges != badges:
            found.append(f"bold role badges {shown_badges}, expected {badges}")
        if len(shown_switches) != len(switches) or not all(
                shown.startswith(expected)
                for shown, expected in zip(shown_switches, switches, strict=False)):
            found.append(f"bold switch dividers {shown_switches}, expected ones starting "
                         f"with {switches}")
        for text in [*badges, *switches]:
            element = page.outputs(index).locator("strong, b").filter(
                has_text=re.compile("^" + re.escape(text))).first
            if element.count() == 0:
                continue  # reported above
            element.scroll_into_view_if_needed()
            if not element.is_visible():
                found.append(f"{text!r} is in the DOM but not visible")
        if found:
            problems.append(f"turn {prompt!r}: " + "; ".join(found)
                            + "\n  " + page.described_outputs(index))
    assert not problems, "\n".join(problems)



def test_lead_worker_shows_each_step_header_once(notebooks: Notebooks) -> None:
    """A turn of N steps shows N step headers (one per step) and each switch once."""
    page = notebooks.get(LEAD_WORKER)
    problems = []
    for prompt, _, switches in TURNS:
        index = code_cell(page, f"%%goose\n{prompt}")
        bold = [b["text"] for b in bold_texts(page, index)]
        headers = [t for t in bold if re.fullmatch(r"(LEAD|WORKER)( · \w+)?", t)]
        dividers = [t for t in bold if t.startswith("⇄")]
        footers = re.findall(r"(\d+) steps? · ", " ".join(page.output_texts(index)))
        if not footers:
            problems.append(f"turn {prompt!r}: no footer 'N steps · …'; "
                            + page.described_outputs(index))
            continue
        steps = int(footers[-1])
        if len(headers) != steps or len(dividers) != len(switches):
            problems.append(
                f"turn {prompt!r} ran {steps} step(s) (its footer) with {len(switches)} "
                f"switch(es); the page shows {len(headers)} step headers {headers} and "
                f"{len(dividers)} switch dividers {dividers}, in {page.outputs(index).count()} "
                f"outputs: {page.described_outputs(index)}")
    assert not problems, "\n".join(problems)

def test_lead_worker_timeline_and_settings_panel_render(notebooks: Notebooks) -> None:
    page = notebooks.get(LEAD_WORKER)
    text = page.page_text()
    assert "Error displaying widget" not in text, (
        "the page shows 'Error displaying widget': "
        + clip(text[text.index("Error displaying widget") - 200:][:600]))

    # the timeline: one row of marks per turn. goose_nb shows it as a display kept current
    # (HTML), not a widget, by design (display/timeline.py): what is checked is that
    # JupyterLab rendered its rich form, or a widget, and not the plain-text fallback
    timeline = code_cell(page, "%goose timeline")
    outputs = page.outputs(timeline)
    assert outputs.count() == 1, page.described_outputs(timeline)
    output = outputs.first
    mime = output.get_attribute("data-mime-type")
    widget = output.locator(".jupyter-widgets").count() > 0
    assert widget or mime == "text/html", (
        f"%goose timeline is not rendered as a widget nor as HTML: {mime!r}; "
        + page.described_outputs(timeline))
    rows = output.locator("tr").count()
    shown = squash(output.text_content())
    assert "goose_nb timeline" in shown and rows == len(TURNS), (
        f"the timeline shows {rows} rows for {len(TURNS)} turns: {clip(shown)}")
    output.scroll_into_view_if_needed()
    assert output.is_visible(), "the timeline output is not visible"

    # the settings panel: the widget itself (ipywidgets' view), not its static table
    settings = code_cell(page, "%goose settings")
    panel = page.outputs(settings).locator(".widget-vbox").first
    assert panel.count() == 1, (
        "%goose settings shows no widget (no .widget-vbox in its output): "
        + page.described_outputs(settings))
    panel.scroll_into_view_if_needed()
    labels = squash(panel.text_content())
    numbers = panel.locator(".widget-text input[type=number]")
    assert "Lead/Worker Settings" in labels and numbers.count() == 3 and \
        panel.get_by_role("button", name="Apply").count() == 1, (
            f"the settings widget shows {numbers.count()} number fields and: {clip(labels)}")
    assert panel.is_visible(), "the settings widget is not visible"


def test_settings_panel_apply_then_config_shows_notebook_value(notebooks: Notebooks) -> None:
    page = notebooks.get(LEAD_WORKER)
    settings = code_cell(page, "%goose settings")
    panel = page.outputs(settings).locator(".widget-vbox").first
    assert panel.count() == 1, page.described_outputs(settings)
    field = panel.locator(".widget-text").filter(has_text="Fallback turns")
    assert field.count() == 1, (
        "no 'Fallback turns' number field in the settings widget: "
        + clip(squash(panel.text_content())))
    box = field.locator("input[type=number]")
    box.scroll_into_view_if_needed()
    before = int(box.input_value())
    new = before + 1
    box.fill(str(new))
    box.press("Tab")  # IntText sends its value when the field loses focus
    panel.get_by_role("button", name="Apply").click()

    # the status line is the last HTML widget of the panel; the Apply handler fills it
    status = panel.locator(":scope > .widget-html").last
    deadline = time.monotonic() + 30
    while not squash(status.text_content()) and time.monotonic() < deadline:
        page.page.wait_for_timeout(200)
    message = squash(status.text_content())
    page.screenshot("settings-applied")
    assert f"GOOSE_LEAD_FALLBACK_TURNS={new}" in message and "✓" in message, (
        f"after Fallback turns {before} → {new} and Apply, the panel's status line shows "
        f"{message!r}; the panel: {clip(squash(panel.text_content()))}")

    config = page.add_cell_at_end("%goose config")
    rows = page.outputs(config).locator("tr").evaluate_all(
        "(rows) => rows.map(r => [...r.children].map(c => c.textContent.trim()))")
    row = next((r for r in rows if r and r[0] == "GOOSE_LEAD_FALLBACK_TURNS"), None)
    page.screenshot("config")
    assert row is not None and row[1:] == [str(new), "notebook"], (
        f"%goose config after Apply shows the row {row} for GOOSE_LEAD_FALLBACK_TURNS "
        f"(expected value {new!r}, source 'notebook'); "
        + page.described_outputs(config))


def test_usage_shows_dollar_amounts_not_maths(notebooks: Notebooks) -> None:
    page = notebooks.get(LEAD_WORKER)
    usage = code_cell(page, "%goose usage")
    outputs = page.outputs(usage)
    assert outputs.count() >= 1, page.described_outputs(usage)
    maths = outputs.locator("mjx-container, .MathJax")
    text = " ".join(squash(t) for t in page.output_texts(usage))
    assert maths.count() == 0, (
        f"%goose usage shows {maths.count()} rendered formula(s) (MathJax): its '$' signs "
        f"were read as TeX delimiters. The output reads: {clip(text)}")
    plain = squash(" ".join(outputs.nth(i).text_content() or "" for i in range(outputs.count())))
    amounts = re.findall(r"\$\d[\d,]*\.\d{4}", plain)
    assert amounts, f"%goose usage shows no dollar amounts as text: {clip(plain)}"
    # the savings line: the lead/worker cost, the lead-only cost and the saving, each "$…"
    savings = plain[plain.find("Lead/worker cost"):] if "Lead/worker cost" in plain else ""
    assert len(re.findall(r"\$\d[\d,]*\.\d{4}", savings)) == 3, (
        f"%goose usage's savings line does not show its three dollar amounts as text: "
        f"{savings or '(no line starting with Lead/worker cost)'}; the output: {clip(plain)}")


# planning.ipynb ---------------------------------------------------------------------------


def run_up_to_the_plan(page: NotebookPage) -> None:
    """Run every cell above ``%goose_plan run``: the plan widget's Run button replaces it."""
    page.run_all_above(code_cell(page, "%goose_plan run"))


def test_plan_widget_run_shows_the_transcript_under_the_plan(notebooks: Notebooks) -> None:
    page = notebooks.get(PLANNING, run_up_to_the_plan)
    plan_cell = code_cell(page, "%%goose_plan\nLeave cancelled orders out.")
    widget = page.outputs(plan_cell).locator(".widget-vbox").filter(has_text="Plan:").first
    assert widget.count() == 1, (
        "the %%goose_plan cell that makes the plan shows no plan widget: "
        + page.described_outputs(plan_cell))
    # (by its text: the accessible name also holds the icon font's glyph)
    run = widget.locator("button").filter(has_text=re.compile(r"^\s*Run\s*$"))
    assert run.count() == 1, (
        f"the plan widget has no Run button: {clip(squash(widget.text_content()))}")
    outputs_before = page.outputs(plan_cell).count()
    run.scroll_into_view_if_needed()
    run.click()

    # the click runs the plan in the kernel; the status line says when it is over
    status = widget.locator(":scope > .widget-html").last
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if squash(status.text_content()) and not run.is_disabled() \
                and page.state()["status"] == "idle":
            break
        page.page.wait_for_timeout(250)
    page.page.wait_for_timeout(1000)
    page.screenshot("plan-run")
    said = squash(status.text_content())
    transcript = widget.locator(".widget-output")
    shown = squash(transcript.text_content()) if transcript.count() else "(no output widget)"
    headers = transcript.locator("strong").filter(
        has_text=re.compile(r"^(LEAD|WORKER)\b")).count()
    tools = transcript.locator("code").filter(has_text=re.compile(r"^python$")).count()
    ticked = squash(widget.locator(":scope > .widget-html").first.text_content()).count("☑")
    where = (f"after clicking Run: the status line says {said!r}; the plan shows {ticked} "
             f"ticked step(s); under the plan: {clip(shown)}; the cell now has "
             f"{page.outputs(plan_cell).count()} top-level outputs (had {outputs_before}). "
             f"Other cells: "
             + " | ".join(page.described_outputs(i) for i in page.code_cells if i > plan_cell))
    assert said == "Plan carried out.", where
    assert headers >= 1 and tools >= 1, (
        f"{headers} LEAD/WORKER step header(s) and {tools} python tool block(s) under the "
        f"plan widget; " + where)
    assert ticked == 3, where
    # each step, now run, names the export argument that gives its code
    steps = [squash(li) for li in
             widget.locator(":scope > .widget-html").first.locator("li").all_text_contents()]
    assert all(s.endswith(f"· code: %goose export plan_step_{n}")
               for n, s in enumerate(steps, start=1)) and len(steps) == 3, (
        f"the run plan's steps read {steps}: expected each to end '· code: %goose export "
        f"plan_step_N'; " + where)
    assert page.outputs(plan_cell).count() == outputs_before, (
        "the run added outputs to the cell outside the plan widget; " + where)


# subagents.ipynb --------------------------------------------------------------------------

#: per %%goose_subagents cell (its source's start): the task ids of its summary's rows, in
#: order. task_N is goose_nb's id for the Nth task without an ``id`` (the cell's YAML, or
#: dynamic_task__create_task in subagents.yaml for the request in words)
SUMMARIES = [
    ("%%goose_subagents --parallel", ["task_1", "task_2", "task_3"]),
    ("%%goose_subagents --sequential", ["products", "weekdays"]),
    ("%%goose_subagents\nUse 2 subagents", ["task_1", "task_2"]),
    ("%%goose_subagents\n- recipe: data-profiler", ["task_1"]),
]


def test_subagent_summaries_show_one_row_per_task(notebooks: Notebooks) -> None:
    page = notebooks.get(SUBAGENTS)
    problems = []
    for start, tasks in SUMMARIES:
        index = code_cell(page, start)
        tables = page.outputs(index).locator("table").filter(
            has=page.page.locator("th", has_text=re.compile("^task$")))
        if tables.count() != 1:
            problems.append(f"{start!r}: {tables.count()} summary tables (a table with a "
                            f"'task' column); {page.described_outputs(index)}")
            continue
        table = tables.first
        rows = table.locator("tr").evaluate_all(
            "(rows) => rows.map(r => [...r.querySelectorAll('td')].map(c => "
            "c.textContent.trim())).filter(r => r.length)")
        ids = [row[0] for row in rows]
        statuses = [row[1] if len(row) > 1 else "" for row in rows]
        if ids != tasks or any(s != "✓ success" for s in statuses):
            problems.append(f"{start!r}: the summary's rows are {rows}; expected the tasks "
                            f"{tasks}, each '✓ success'")
        table.scroll_into_view_if_needed()
        if not table.is_visible():
            problems.append(f"{start!r}: the summary table is in the DOM but not visible")
        # each task's code is one %goose export argument away, in the widget too
        said = squash(page.outputs(index).evaluate_all(
            "(outputs) => outputs.map(o => o.textContent).join(' ')"))
        missing = [t for t in tasks if f"%goose export {t}" not in said]
        if missing:
            problems.append(f"{start!r}: the summary does not name `%goose export TASK` for "
                            f"{missing}; it reads {clip(said, 600)}")
    assert not problems, "\n".join(problems)


# extensions (a notebook written by the test) -----------------------------------------------

TESTS = Path(__file__).resolve().parents[1]
MCP_STUB = TESTS / "mcp_stub.py"
EXTENSIONS = "browser_extensions.ipynb"

#: the notebook's first cell: a local OpenAI-compatible server in the kernel, scripted to
#: call the stub's ``pictures`` tool once and then answer, and goose_nb pointed at it (the
#: kernel's environment says GOOSE_PROVIDER=replay; the session reads os.environ on load)
EXTENSIONS_SETUP = f"""\
import os
import sys
sys.path.insert(0, {str(TESTS)!r})
from model_server import ModelServer, openai_reply
model_server = ModelServer().__enter__()
model_server.queue(openai_reply(tool_calls=[("c1", "stub__pictures", '{{"count": 1}}')]),
                   openai_reply("a red pixel"))
os.environ.update(GOOSE_PROVIDER="openai", GOOSE_MODEL="gpt-test",
                  OPENAI_HOST=model_server.url,
                  OPENAI_API_KEY="sk-test-0123456789abcdef0123")
%load_ext goose_nb"""


def write_notebook(lab: LabServer, name: str, cells: list[str]) -> str:
    """A notebook of code cells ``cells``, on the python3 kernel, in the server's folder as
    ``name``; its name."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    nbformat.write(notebook, lab.root / name)
    return name


def write_extensions_notebook(lab: LabServer) -> str:
    """A notebook in the server's folder that adds the MCP stub as an extension, runs a
    turn whose model calls ``stub__pictures``, then lists the extensions; its name."""
    return write_notebook(lab, EXTENSIONS, [
        EXTENSIONS_SETUP,
        f"%goose extensions add stub -- {sys.executable} {MCP_STUB}",
        "%%goose\nshow me a picture",
        "%goose extensions"])


def test_extensions_table_and_a_tools_image_render(lab: LabServer,
                                                   notebooks: Notebooks) -> None:
    page = notebooks.get(write_extensions_notebook(lab))
    errors = notebooks.errors(EXTENSIONS)
    console = (f" Browser console errors: {[clip(e, 300) for e in errors]}" if errors
               else " No browser console errors.")

    # %goose extensions (after the turn): a table with the stub's row, its server running
    listing = page.code_cells[-1]  # (the add cell's source starts the same)
    tables = page.outputs(listing).locator("table").filter(
        has=page.page.locator("th", has_text=re.compile(r"^\s*status\s*$")))
    assert tables.count() == 1, (
        f"%goose extensions shows {tables.count()} tables with a 'status' column; "
        + page.described_outputs(listing) + console)
    table = tables.first
    headers = [squash(h) for h in table.locator("th").all_text_contents()]
    rows = table.locator("tr").evaluate_all(
        "(rows) => rows.map(r => [...r.querySelectorAll('td')].map(c => "
        "c.textContent.trim())).filter(r => r.length)")
    stub = [dict(zip(headers, row, strict=False)) for row in rows if row and row[0] == "stub"]
    assert len(stub) == 1 and stub[0].get("status") == "running", (
        f"after the turn, %goose extensions shows the columns {headers} and the rows {rows}: "
        f"expected one row for 'stub' whose status is 'running'" + console)
    table.scroll_into_view_if_needed()
    assert table.is_visible(), "the %goose extensions table is in the DOM but not visible"

    # the turn: the stub__pictures tool block, collapsed, with the tool's PNG inside
    turn = code_cell(page, "%%goose\nshow me a picture")
    blocks = page.outputs(turn).locator("details").filter(
        has=page.page.locator("summary", has_text="stub__pictures"))
    assert blocks.count() == 1, (
        f"the turn shows {blocks.count()} <details> blocks whose summary names "
        f"stub__pictures; " + page.described_outputs(turn) + console)
    block = blocks.first
    summary = block.locator("summary").first
    said = squash(summary.text_content())
    assert "extension stub" in said, (
        f"the stub__pictures block's summary reads {said!r}: no 'extension stub'")
    assert block.evaluate("(d) => d.open") is False, (
        f"the stub__pictures block is open before it is clicked: {said!r}")
    summary.scroll_into_view_if_needed()
    summary.click()
    assert block.evaluate("(d) => d.open") is True, "a click on its summary did not open it"
    images = block.locator("img")
    shown = clip(block.evaluate("(d) => d.innerHTML"), 1200)
    assert images.count() == 1, (
        f"the opened stub__pictures block holds {images.count()} <img> elements; goose_nb's "
        f"Markdown for it has one, <img src=\"data:image/png;base64,…\"> "
        f"(tests/test_extensions.py), so JupyterLab left it out. Its HTML as rendered: "
        f"{shown}" + console)
    image = images.first
    src = image.get_attribute("src") or ""
    assert src.startswith("data:image/png;base64,"), (
        f"the tool's <img> has src {clip(src, 120)!r}, not a data:image/png;base64 URL: "
        f"JupyterLab's sanitizer stripped (or rewrote) the data URL goose_nb wrote. Its HTML "
        f"as rendered: {shown}" + console)
    deadline = time.monotonic() + 10
    decoded = image.evaluate("(i) => ({complete: i.complete, width: i.naturalWidth, "
                             "height: i.naturalHeight})")
    while decoded["width"] == 0 and time.monotonic() < deadline:
        page.page.wait_for_timeout(200)
        decoded = image.evaluate("(i) => ({complete: i.complete, width: i.naturalWidth, "
                                 "height: i.naturalHeight})")
    page.screenshot("picture-open")
    assert decoded["width"] == 1 and decoded["height"] == 1, (
        f"the tool's <img> (src {clip(src, 80)!r}) did not decode as the stub's 1×1 PNG: "
        f"{decoded}" + console)
    image.scroll_into_view_if_needed()
    assert image.is_visible(), "the tool's image is in the DOM but not visible"


# thinking (a notebook written by the test) -------------------------------------------------

THINKING = "browser_thinking.ipynb"

#: the notebook's first cell: the local model server in the kernel, scripted to answer as
#: Claude does with extended thinking (a signed thinking block, a redacted one, the answer;
#: tests/test_reasoning.py), and goose_nb pointed at it as Anthropic
THINKING_SETUP = f"""\
import os
import sys
sys.path.insert(0, {str(TESTS)!r})
from model_server import ModelServer
from test_reasoning import anthropic_thinking_reply
model_server = ModelServer().__enter__()
model_server.queue(anthropic_thinking_reply(["Pelicans ", "scoop fish."], text="Scoop."))
os.environ.update(GOOSE_PROVIDER="anthropic", GOOSE_MODEL="claude-test",
                  ANTHROPIC_HOST=model_server.url,
                  ANTHROPIC_API_KEY="sk-ant-test-0123456789abcdef0123")
%load_ext goose_nb"""

#: for each text node of the cell's outputs that holds ``Scoop.``: its parent's tag, whether
#: it is inside a <details>, and whether it comes after the thinking block in document order
ANSWER_PLACES_JS = """(outputs, text) => {
  const thinking = outputs.flatMap(o => [...o.querySelectorAll('details')]).find(d =>
      (d.querySelector('summary')?.textContent || '').trim().startsWith('💭 thinking'));
  const found = [];
  for (const output of outputs) {
    const walker = document.createTreeWalker(output, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.includes(text)) continue;
      found.push({tag: node.parentElement.tagName,
                  inDetails: !!node.parentElement.closest('details'),
                  afterThinking: thinking ? !!(thinking.compareDocumentPosition(node)
                                               & Node.DOCUMENT_POSITION_FOLLOWING) : null});
    }
  }
  return found;
}"""


def test_thinking_renders_folded_above_the_answer(lab: LabServer,
                                                  notebooks: Notebooks) -> None:
    page = notebooks.get(write_notebook(lab, THINKING, [THINKING_SETUP,
                                                        "%%goose\nName a pelican."]))
    errors = [e for e in notebooks.errors(THINKING)
              if not any(re.search(pattern, e) for pattern, _ in IGNORED_CONSOLE_ERRORS)]
    console = (f" Browser console errors: {[clip(e, 300) for e in errors]}" if errors
               else " No browser console errors.")
    turn = code_cell(page, "%%goose\nName a pelican.")
    outputs = page.outputs(turn)

    # one thinking block, folded once the answer is in (the display may settle just after
    # the kernel goes idle: wait a little for it)
    blocks = outputs.locator("details").filter(
        has=page.page.locator("summary", has_text=re.compile(r"^\s*💭 thinking")))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (
            blocks.count() == 1 and blocks.first.get_attribute("open") is None):
        page.page.wait_for_timeout(200)
    assert blocks.count() == 1, (
        f"the turn shows {blocks.count()} <details> blocks whose summary starts with "
        f"'💭 thinking' ({outputs.locator('details').count()} <details> in all); "
        + page.described_outputs(turn) + console)
    block = blocks.first
    summary = block.locator("summary").first
    said = squash(summary.text_content())
    shown = clip(block.evaluate("(d) => d.outerHTML"), 1200)
    assert said.startswith("💭 thinking") and "3 words" in said, (
        f"the thinking block's summary reads {said!r}: expected '💭 thinking · 3 words'; "
        f"its HTML as rendered: {shown}")
    assert block.get_attribute("open") is None and block.evaluate("(d) => d.open") is False, (
        f"the thinking block is open after the run (goose_nb folds it once the answer "
        f"streams): {shown}; " + page.described_outputs(turn))

    # the answer: visible, outside the block, below it
    places = outputs.evaluate_all(ANSWER_PLACES_JS, "Scoop.")
    assert places, ("the answer 'Scoop.' is nowhere in the turn's outputs; "
                    + page.described_outputs(turn) + console)
    assert all(not p["inDetails"] for p in places), (
        f"the answer 'Scoop.' is inside a <details> ({places}); "
        + page.described_outputs(turn))
    assert all(p["afterThinking"] for p in places), (
        f"the answer 'Scoop.' does not come after the thinking block in the page ({places}); "
        + page.described_outputs(turn))
    answer = outputs.get_by_text("Scoop.", exact=True)
    assert answer.count() == 1, (
        f"{answer.count()} elements of the turn's outputs read exactly 'Scoop.' (text nodes "
        f"holding it: {places}); " + page.described_outputs(turn))
    answer.scroll_into_view_if_needed()
    assert answer.is_visible(), (
        "the answer 'Scoop.' is in the DOM but not visible; " + page.described_outputs(turn))

    # the thinking: hidden until the summary is clicked, then shown in a <pre>
    pres = block.locator("pre")
    assert pres.count() == 1, (
        f"the thinking block holds {pres.count()} <pre> elements: goose_nb writes its "
        f"thinking in one <pre>. Its HTML as rendered: {shown}")
    pre = pres.first
    thought = squash(pre.text_content())
    assert not pre.is_visible() and not block.get_by_text("Pelicans scoop fish.").is_visible(), (
        f"the thinking {thought!r} is visible before the block is opened: {shown}")
    did_open = page.open_details(block)
    opened = clip(block.evaluate("(d) => d.outerHTML"), 1200)
    assert did_open, (
        f"a click on the summary {said!r} did not open the thinking block: {opened}")
    page.screenshot("thinking-open")
    pre.scroll_into_view_if_needed()
    assert pre.is_visible() and thought == "Pelicans scoop fish.", (
        f"the opened thinking block's <pre> is {'' if pre.is_visible() else 'not '}visible "
        f"and reads {thought!r} (expected 'Pelicans scoop fish.'); its HTML as rendered: "
        f"{opened}")

    assert not errors, (f"{THINKING}: {len(errors)} browser console error(s) while opening "
                        "and running it:\n" + "\n".join(clip(e, 800) for e in errors))


# why and export (a notebook written by the test, checked as in Notebook 7) -----------------

EXPORT = "browser_export.ipynb"


def test_why_check_file_and_export_in_jupyterlab(lab: LabServer,
                                                  notebooks: Notebooks) -> None:
    page = notebooks.get(write_notebook(lab, EXPORT, CELLS))

    def console_errors() -> list[str]:
        return [e for e in notebooks.errors(EXPORT)
                if not any(re.search(pattern, e) for pattern, _ in IGNORED_CONSOLE_ERRORS)]

    check_lineage_notebook(page, lab, "JupyterLab", console_errors)
    found = console_errors()
    assert not found, (f"{EXPORT}: {len(found)} browser console error(s) while opening "
                       "and running it:\n" + "\n".join(clip(e, 800) for e in found))


# every notebook ---------------------------------------------------------------------------

#: console errors that are not goose_nb's (each a regular expression, with why). None is
#: ignored so far: every console error seen in this suite's runs is reported.
IGNORED_CONSOLE_ERRORS: list[tuple[str, str]] = []


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_runs_without_console_errors(notebooks: Notebooks, name: str) -> None:
    page = notebooks.get(name)
    assert_ran_clean(page, notebooks.errors(name), IGNORED_CONSOLE_ERRORS, name)

