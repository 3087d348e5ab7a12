"""The browser suite's fixtures: one JupyterLab server and one headless Chromium for the run,
and the demo notebooks open in it, each run once and shared by the tests that read it.

The suite runs under ``make test-browser`` (which installs JupyterLab, Playwright and
Chromium first) or ``python -m pytest tests/browser``; a plain ``pytest`` run of the whole
suite (``make test``) does not collect it, as the live suite is not collected either.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser.labpage import CHROMIUM, CHROMIUM_ARGS, LabServer, Notebooks

HERE = Path(__file__).resolve().parent


def _asked_for(config: pytest.Config) -> bool:
    """True when a path given on the command line is this folder or inside it."""
    for arg in config.args:
        path = Path(str(arg).split("::")[0])
        path = (path if path.is_absolute() else Path(config.invocation_params.dir) / path)
        try:
            path.resolve().relative_to(HERE)
        except ValueError:
            continue
        return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.suffix == ".py" and not _asked_for(config):
        return True  # `pytest` over all of tests/: the browser suite runs only when named
    return None


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab on 127.0.0.1 with the replay provider, on a copy of notebooks/."""
    server = LabServer(tmp_path_factory.mktemp("jupyterlab"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """``jupyter notebook`` (Notebook 7) on 127.0.0.1, set up as ``lab`` is."""
    server = LabServer(tmp_path_factory.mktemp("notebook7"), app="notebook")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test-browser` installs Debian's chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              timeout=60_000)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def notebooks(lab: LabServer, browser: Any) -> Iterator[Notebooks]:
    opened = Notebooks(lab, browser)
    yield opened
    opened.close_all()
