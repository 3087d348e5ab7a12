"""JupyterLab driven as a person would: a server on 127.0.0.1, notebooks opened in Chromium,
cells run from the Run menu, and what the page shows read back from the DOM.

``LabServer`` starts ``jupyter lab`` on a copy of the demo notebooks with the replay
provider and nothing of the developer's own Jupyter, JupyterLab, IPython or goose
configuration. ``NotebookPage`` is one notebook open in a browser tab. Every wait here is
bounded; a wait that runs out raises AssertionError saying what the page showed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kernels import offline_env
from model_server import free_port

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"

#: Debian's Chromium; Playwright's own browser builds cannot be downloaded here
CHROMIUM = os.environ.get("GOOSE_NB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

#: the developer's own Jupyter and IPython folders are not carried over either
_OWN_FOLDERS = ("JUPYTER", "IPYTHON")

#: JupyterLab user settings for the run: start the notebook's kernel without asking (the
#: "Select Kernel" dialog otherwise comes up on a fresh settings folder), never fetch news
#: or check for updates (no network; no notification over the page), never autosave (the
#: copy of a notebook keeps no outputs, so a reopened notebook starts with no execution
#: counts)
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}

#: the notebook shown in the main area (other tabs are hidden with lm-mod-hidden)
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def squash(text: str | None) -> str:
    """Text with its runs of whitespace made one space, for messages and comparisons."""
    return " ".join((text or "").split())


def clip(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more chars)"


def assert_ran_clean(page: NotebookPage, errors: list[str],
                     ignored: list[tuple[str, str]], where: str) -> None:
    """No console error but the ``ignored`` ones (regular expressions, with why), and no
    widget that failed to display, on a notebook opened and run in ``page``."""
    found = [e for e in errors if not any(re.search(pattern, e) for pattern, _ in ignored)]
    assert not found, (f"{where}: {len(found)} browser console error(s) while opening, "
                       "running and using it:\n" + "\n".join(clip(e, 800) for e in found))
    text = page.page_text()
    assert "Error displaying widget" not in text, (
        f"{where} shows 'Error displaying widget': "
        + clip(text[text.index("Error displaying widget") - 200:][:600]))


class LabServer:
    """``jupyter lab`` on 127.0.0.1, serving a temporary copy of notebooks/.

    ``app="notebook"`` starts ``jupyter notebook`` instead: Notebook 7, as its users start
    it. It gets a server of its own rather than the /notebooks/ pages JupyterLab's server
    also serves, because jupyterlab_server keeps the last /lab/tree/ page's ``treePath`` in
    its server-wide page config, and Notebook 7's page then tries to open that path with a
    command it does not have (``filebrowser:open-path``).
    """

    def __init__(self, base: Path, startup_timeout: float = 90.0, app: str = "lab") -> None:
        self.base = base
        self.app = app
        self.root = base / "notebooks"
        shutil.copytree(NOTEBOOKS, self.root,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "output"))
        settings = base / "lab-settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")
        # no provider settings, on the replay provider, as the demo runs have it
        env = {k: v for k, v in offline_env().items() if not k.startswith(_OWN_FOLDERS)}
        env.update(
            JUPYTER_CONFIG_DIR=str(base / "jupyter-config"),
            JUPYTER_DATA_DIR=str(base / "jupyter-data"),
            JUPYTER_RUNTIME_DIR=str(base / "jupyter-runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(base / "lab-workspaces"),
            IPYTHONDIR=str(base / "ipython"),
            PYTHONUNBUFFERED="1",
        )
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "jupyterlab.log"
        command = [
            sys.executable, "-m", "jupyter", app, "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}", "--ServerApp.allow_root=True",
            "--ServerApp.open_browser=False",
        ]
        if app == "lab":
            command += ["--LabApp.news_url=None",
                        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                        "--LabApp.extension_manager=readonly"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=self.root, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        try:
            self._wait_until_up(startup_timeout)
        except BaseException:
            self.stop()
            raise

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"jupyter {self.app} exited with {self.process.returncode} "
                                     f"before answering; its log:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=2)
                return
            except (OSError, urllib.error.URLError) as exc:
                last = str(exc)
            time.sleep(0.25)
        raise AssertionError(f"jupyter {self.app} did not answer on {self.url} within "
                             f"{timeout:.0f} s (last error: {last}); its log:\n"
                             f"{self.log_tail()}")

    def api(self, method: str, path: str, timeout: float = 10) -> Any:
        request = urllib.request.Request(self.url + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def page_url(self, name: str) -> str:
        """Where ``name`` opens: JupyterLab's tree, or Notebook 7's one-document page."""
        if self.app == "notebook":
            return f"{self.url}/notebooks/{name}?token={self.token}"
        # ``reset``: start from an empty workspace, so that the only tab is this notebook
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    def shut_down_sessions(self, name: str) -> None:
        """Shut down the kernels of ``name``'s sessions: a notebook opened again gets a fresh
        kernel (and its cassette starts from its first answer)."""
        for session in self.api("GET", "/api/sessions"):
            if session.get("path") == name:
                self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30)

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("POST", "/api/shutdown", timeout=5)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(5)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)


# what a page shows ------------------------------------------------------------------------

#: the execution prompts of the code cells of the notebook shown, its kernel's name and
#: state (the toolbar's execution indicator), and the number of cells in its DOM
_STATE_JS = """(panel) => {
  const root = document.querySelector(panel);
  if (!root) return null;
  const prompts = [...root.querySelectorAll('.jp-Cell')].map(c =>
      c.classList.contains('jp-CodeCell')
        ? c.querySelector('.jp-InputPrompt').textContent.trim() : null);
  const kernel = root.querySelector('.jp-KernelName');
  const indicator = root.querySelector('.jp-Notebook-ExecutionIndicator');
  return {prompts, kernel: kernel ? kernel.textContent.trim() : '',
          status: indicator ? indicator.dataset.status : ''};
}"""

#: an element's text with each rendered formula shown as [maths: …] (its spoken text)
TEXT_WITH_MATHS_JS = """(element) => {
  const copy = element.cloneNode(true);
  for (const maths of copy.querySelectorAll('mjx-container, .MathJax')) {
    const spoken = maths.querySelector('mjx-assistive-mml, math');
    maths.replaceWith(' [maths: ' + (spoken ? spoken.textContent : maths.textContent) + '] ');
  }
  return copy.textContent;
}"""

_EXECUTED = re.compile(r"^\[\d+\]:$")


class NotebookPage:
    """One notebook open in its own browser context, with its console collected.

    The server's front end decides the page: JupyterLab, or Notebook 7, whose notebook
    panel, toolbar and Run menu are JupyterLab's own components (the same DOM, so the same
    reading and acting). A notebook is expected without outputs, to be run by the test;
    ``saved_outputs=True`` expects it opened with the outputs it was saved with, not run."""

    def __init__(self, server: LabServer, browser: Any, name: str,
                 errors: list[str] | None = None, saved_outputs: bool = False) -> None:
        self.server = server
        self.name = name
        self.notebook = json.loads((server.root / name).read_text(encoding="utf-8"))
        self.code_cells = [i for i, cell in enumerate(self.notebook["cells"])
                           if cell["cell_type"] == "code"]
        #: console messages of type error, and uncaught exceptions, in order
        self.errors: list[str] = [] if errors is None else errors
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_page_error)
        self.page.goto(server.page_url(name), timeout=90_000)
        self._wait(lambda s: (len(s["prompts"]) == len(self.notebook["cells"])
                              and s["kernel"] not in ("", "No Kernel")
                              and s["status"] == "idle"),
                   90, "the notebook to show all its cells and its kernel to be idle")
        prompts = [p for p in self.state()["prompts"] if p is not None]
        started = [p for p in prompts if p != "[ ]:"]
        if saved_outputs:
            assert started, (f"{name} opened with no execution counts ({prompts}): its "
                             "saved copy has no outputs")
        else:
            assert not started, (f"{name} opened with cells already run ({started}): the "
                                 "test needs a notebook without outputs")

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            where = message.location or {}
            self.errors.append(f"console.error: {message.text} "
                               f"(at {where.get('url', '?')}:{where.get('lineNumber', '?')})")

    def _on_page_error(self, exc: Any) -> None:
        # where it was thrown: the first frame of its stack (a bundle's URL:line:column)
        frames = [line.strip() for line in (getattr(exc, "stack", "") or "").splitlines()
                  if line.strip().startswith("at ")]
        self.errors.append(f"pageerror: {exc}" + (f" ({frames[0]})" if frames else ""))

    def close(self) -> None:
        self.context.close()

    # state and waiting -------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        state = self.page.evaluate(_STATE_JS, PANEL)
        return state or {"prompts": [], "kernel": "", "status": ""}

    def _wait(self, done: Callable[[dict[str, Any]], bool], timeout: float,
              what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        state = self.state()
        while not done(state):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name}: waited {timeout:.0f} s for {what}; the page shows kernel "
                    f"{state['kernel']!r} ({state['status']!r}), code cell prompts "
                    f"{[p for p in state['prompts'] if p is not None]}")
            self.page.wait_for_timeout(250)
            state = self.state()
        return state

    def prompts(self, cells: list[int]) -> list[str]:
        prompts = self.state()["prompts"]
        return [prompts[i] if i < len(prompts) else "(missing)" for i in cells]

    def wait_until_run(self, cells: list[int], timeout: float = 180.0,
                       stall: float = 4.0) -> None:
        """Wait until each of ``cells`` has an execution count and the kernel is idle.

        A run that stopped (a cell raised: Run All goes no further) is reported as soon as
        the kernel has been idle with none of the cells running for ``stall`` seconds."""
        deadline = time.monotonic() + timeout
        idle_since: float | None = None
        while True:
            state = self.state()
            prompts = [state["prompts"][i] if i < len(state["prompts"]) else ""
                       for i in cells]
            if state["status"] == "idle" and all(_EXECUTED.match(p) for p in prompts):
                break
            now = time.monotonic()
            running = any(p == "[*]:" for p in prompts) or state["status"] != "idle"
            idle_since = None if running else (idle_since or now)
            if idle_since is not None and now - idle_since > stall:
                raise AssertionError(self._not_run(cells, prompts, "the run stopped"))
            if now > deadline:
                raise AssertionError(self._not_run(
                    cells, prompts, f"the run did not finish within {timeout:.0f} s"))
            self.page.wait_for_timeout(250)
        # displays updated from the kernel's background loop may arrive just after idle
        self.page.wait_for_timeout(1000)

    def _not_run(self, cells: list[int], prompts: list[str], why: str) -> str:
        missing = [i for i, p in zip(cells, prompts, strict=True) if not _EXECUTED.match(p)]
        errors = []
        for index in cells:
            for text in self.output_texts(index):
                if "Traceback" in text or "Error" in text[:200]:
                    errors.append(f"cell {index}: {clip(squash(text), 800)}")
        return (f"{self.name}: {why}; cells {missing} show prompts "
                f"{[p for i, p in zip(cells, prompts, strict=True) if i in missing]} "
                f"(sources: {[self.source(i)[:60] for i in missing]}); error outputs on the "
                f"page: {errors or 'none'}")

    # acting ------------------------------------------------------------------------------

    def menu(self, top: str, item: str) -> None:
        """Open the menu bar's ``top`` menu and click its ``item``."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")
                          ).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")
                          ).click()

    def _run_from_menu(self, item: str, cells: list[int], timeout: float) -> None:
        """Run > ``item``, clicked again (at most twice more) when no cell started."""
        for _ in range(3):
            self.menu("Run", item)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if any(p != "[ ]:" for p in self.prompts(cells)):
                    self.wait_until_run(cells, timeout)
                    return
                self.page.wait_for_timeout(200)
        raise AssertionError(f"{self.name}: Run > {item} started no cell; prompts "
                             f"{self.prompts(cells)}")

    def run_all(self, timeout: float = 240.0) -> None:
        """Run > Run All Cells, then wait until every code cell has run."""
        self._run_from_menu("Run All Cells", self.code_cells, timeout)

    def run_all_above(self, index: int, timeout: float = 180.0) -> None:
        """Select cell ``index``, Run > Run All Above Selected Cell, and wait for them."""
        self.select(index)
        self._run_from_menu("Run All Above Selected Cell",
                            [i for i in self.code_cells if i < index], timeout)

    def select(self, index: int) -> None:
        """Select cell ``index`` (a click on its prompt area), in command mode."""
        prompt = self.cell(index).locator(".jp-InputPrompt").first
        prompt.scroll_into_view_if_needed()
        prompt.click()
        self.page.keyboard.press("Escape")

    def add_cell_at_end(self, source: str, timeout: float = 60.0) -> int:
        """Insert a code cell below the last one (key B), type ``source``, run it
        (Shift+Enter); return its index once it has run."""
        last = len(self.notebook["cells"]) - 1
        self.select(last)
        before = len(self.state()["prompts"])
        self.page.keyboard.press("b")
        self._wait(lambda s: len(s["prompts"]) == before + 1, 15, "the new cell")
        index = before
        self.page.keyboard.press("Enter")  # edit mode
        self.page.keyboard.type(source)
        self.page.keyboard.press("Shift+Enter")
        self.notebook["cells"].append({"cell_type": "code", "source": source})
        self.code_cells.append(index)
        self.wait_until_run([index], timeout)
        return index

    # reading -----------------------------------------------------------------------------

    def cell(self, index: int) -> Any:
        return self.page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(index)

    def source(self, index: int) -> str:
        source = self.notebook["cells"][index]["source"]
        return "".join(source) if isinstance(source, list) else source

    def outputs(self, index: int) -> Any:
        """The cell's outputs (top level: not those nested in a widget's output area)."""
        return self.cell(index).locator(".jp-Cell-outputArea > .jp-OutputArea-child "
                                        "> .jp-OutputArea-output")

    def output_texts(self, index: int) -> list[str]:
        outputs = self.outputs(index)
        return [outputs.nth(i).evaluate(TEXT_WITH_MATHS_JS) for i in range(outputs.count())]

    def described_outputs(self, index: int) -> str:
        """Each output of the cell: its kind (MIME type, or widget) and its text."""
        outputs = self.outputs(index)
        parts = []
        for i in range(outputs.count()):
            output = outputs.nth(i)
            kind = output.get_attribute("data-mime-type") or (
                "widget" if output.locator(".jupyter-widgets").count() else "?")
            parts.append(f"[{i}] {kind}: {clip(squash(output.evaluate(TEXT_WITH_MATHS_JS)), 600)}")
        return f"cell {index} ({self.source(index)[:40]!r}) shows " + (
            " | ".join(parts) if parts else "no output")

    def app(self) -> dict[str, Any]:
        """The front end that served the page, from its page config: ``appName``
        ("JupyterLab", "Jupyter Notebook") and ``appVersion``."""
        return dict(self.page.evaluate(
            """() => { const c = JSON.parse(document.getElementById('jupyter-config-data')
                                             ?.textContent || '{}');
               return {appName: c.appName || '', appVersion: c.appVersion || ''}; }"""))

    def blocks(self, outputs: Any, summary: str | re.Pattern[str],
               timeout: float = 10) -> Any:
        """The ``<details>`` blocks among ``outputs`` whose summary has ``summary``, once
        exactly one is drawn (or ``timeout`` seconds have passed: the caller counts)."""
        found = outputs.locator("details").filter(
            has=self.page.locator("summary", has_text=summary))
        deadline = time.monotonic() + timeout
        while found.count() != 1 and time.monotonic() < deadline:
            self.page.wait_for_timeout(200)
        return found

    def open_details(self, block: Any, timeout: float = 5) -> bool:
        """Click the summary of the ``<details>`` ``block``; whether it opened in time."""
        summary = block.locator("summary").first
        summary.scroll_into_view_if_needed()
        summary.click()
        deadline = time.monotonic() + timeout
        while block.evaluate("(d) => d.open") is not True and time.monotonic() < deadline:
            self.page.wait_for_timeout(100)
        return bool(block.evaluate("(d) => d.open") is True)

    def page_text(self) -> str:
        return str(self.page.evaluate("() => document.body.textContent"))

    def screenshot(self, label: str = "") -> Path:
        """The whole notebook (the viewport made as tall as its content, at most 16,000
        pixels) as tests/browser/screenshots/NAME[-LABEL].png."""
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{Path(self.name).stem}{'-' + label if label else ''}.png"
        height = self.page.evaluate(
            """(panel) => { const s = document.querySelector(panel + ' .jp-WindowedPanel-outer')
               || document.querySelector(panel + ' .jp-Notebook');
               return s ? s.scrollHeight : 1000; }""", PANEL)
        self.page.set_viewport_size({"width": 1400, "height": min(16_000, int(height) + 200)})
        try:
            self.page.evaluate(
                """(panel) => { for (const s of document.querySelectorAll(
                     panel + ' .jp-WindowedPanel-outer')) s.scrollTop = 0; }""", PANEL)
            self.page.wait_for_timeout(500)
            self.page.screenshot(path=str(path))
        finally:
            self.page.set_viewport_size({"width": 1400, "height": 1000})
        return path


# the notebooks of a run ------------------------------------------------------------------


class Notebooks:
    """The notebooks open in the browser, one page per notebook at a time.

    ``get(name)`` is ``name`` opened and run with Run > Run All Cells (opened and run on
    first use, the same page after). ``get(name, flow)`` is the page prepared by ``flow``
    instead; a notebook asked for with another flow than its open page's is closed, its
    kernel shut down, and opened afresh. ``errors(name)`` is every console error of every
    page of ``name`` so far.
    """

    def __init__(self, server: LabServer, browser: Any) -> None:
        self.server = server
        self.browser = browser
        self._open: dict[str, tuple[str, NotebookPage]] = {}
        self._errors: dict[str, list[str]] = {}

    def get(self, name: str, flow: Callable[[NotebookPage], None] | None = None
            ) -> NotebookPage:
        flow = flow or run_all
        key = flow.__name__
        if name in self._open:
            opened_with, page = self._open[name]
            if opened_with == key:
                return page
            self._close(name)
        # every page of a notebook adds to the same list of console errors
        page = NotebookPage(self.server, self.browser, name, self._errors.setdefault(name, []))
        self._open[name] = (key, page)
        flow(page)
        page.screenshot("" if key == "run_all" else key.replace("_", "-"))
        return page

    def errors(self, name: str) -> list[str]:
        return list(self._errors.get(name, []))

    def _close(self, name: str) -> None:
        _, page = self._open.pop(name)
        page.close()
        self.server.shut_down_sessions(name)

    def close_all(self) -> None:
        for name in list(self._open):
            self._close(name)


def run_all(page: NotebookPage) -> None:
    page.run_all()
