"""goose_nb in Jupyter Notebook 7 (the notebook package), in headless Chromium.

``jupyter notebook`` serves it on a server of its own (the ``notebook7`` fixture). The
lineage notebook of ``lineage_checks.py`` is opened at /notebooks/NAME.ipynb, run with
Run > Run All Cells, and checked on the rendered DOM with the same checks as in JupyterLab:
the turn's tool blocks, ``%goose why``, ``--check``, ``--file``, ``session.lineage()`` and
the cell ``%goose export`` inserts below itself. And every demo notebook runs there, its
widgets drawn and no console error raised.
"""

from __future__ import annotations

import re

import pytest

from browser.labpage import NOTEBOOKS, LabServer, NotebookPage, assert_ran_clean, clip
from browser.lineage_checks import CELLS, check_lineage_notebook
from browser.test_jupyterlab import IGNORED_CONSOLE_ERRORS, write_notebook

pytestmark = pytest.mark.timeout(420)

NOTEBOOK7 = "browser_notebook7.ipynb"

#: Notebook 7's own page errors, on top of the suite's list (each a regular expression,
#: with why)
NOTEBOOK7_CONSOLE_ERRORS: list[tuple[str, str]] = [
    *IGNORED_CONSOLE_ERRORS,
    (r"^pageerror: Cannot read properties of undefined \(reading 'schema'\) "
     r"\(at [^ ]*/static/notebook/notebook_core\.",
     "jupyter/notebook#7862 (open): the bundled shortcuts extension reads "
     "registry.plugins[id].schema in a pluginChanged handler before that plugin's settings "
     "are loaded, a race on page load; a plain notebook without goose_nb throws it too "
     "(notebook 7.6.5)"),
]


def test_why_check_file_and_export_in_notebook7(notebook7: LabServer,
                                                browser: object) -> None:
    write_notebook(notebook7, NOTEBOOK7, CELLS)
    errors: list[str] = []
    page = NotebookPage(notebook7, browser, NOTEBOOK7, errors)

    def console_errors() -> list[str]:
        return [e for e in errors
                if not any(re.search(p, e) for p, _ in NOTEBOOK7_CONSOLE_ERRORS)]

    try:
        app = page.app()
        assert app["appName"] == "Jupyter Notebook" and app["appVersion"].startswith("7."), (
            f"{notebook7.page_url(NOTEBOOK7).split('?')[0]} is served by {app}, not Jupyter "
            f"Notebook 7 (is the notebook package installed? tests/browser/requirements.txt)")
        page.run_all()
        page.screenshot()
        check_lineage_notebook(page, notebook7, "Notebook 7", console_errors)
        found = console_errors()
        assert not found, (
            f"{NOTEBOOK7} in Notebook 7: {len(found)} browser console error(s) while opening "
            f"and running it:\n" + "\n".join(clip(e, 800) for e in found))
    finally:
        page.close()
        notebook7.shut_down_sessions(NOTEBOOK7)


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_demo_notebook_runs_in_notebook7(notebook7: LabServer, browser: object,
                                         name: str) -> None:
    errors: list[str] = []
    page = NotebookPage(notebook7, browser, name, errors)
    try:
        page.run_all()
        page.screenshot("notebook7")
        assert_ran_clean(page, errors, NOTEBOOK7_CONSOLE_ERRORS, f"{name} in Notebook 7")
        drawn = page.page.locator(".jupyter-widgets").count()
        shown = page.page.locator(".jp-OutputArea-output").count()
        assert shown, f"{name} in Notebook 7 shows no output at all after Run All Cells"
        if any("%goose settings" in page.source(i) for i in page.code_cells):
            assert drawn, (f"{name} in Notebook 7: %goose settings ran but no widget is drawn "
                           f"({shown} outputs on the page)")
    finally:
        page.close()
        notebook7.shut_down_sessions(name)
