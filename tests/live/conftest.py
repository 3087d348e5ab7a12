"""The live suite's fixtures: one real llama.cpp server for the run, a recording gateway in
front of it per test, and the environment a kernel needs to reach it.

``make test-live`` sets ``GOOSE_NB_LIVE_PYTHON`` (the interpreter of the venv holding the
server and the models) and ``GOOSE_NB_LIVE_DIR`` (where the assembled model, the server's
config and log, and the run's figures go). Each test writes what it measured into
``figures``; they are printed at the end of the run and saved to ``figures.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gateway import RecordingGateway
from llama_server import llama_server

_FIGURES: dict[str, Any] = {}


def _required(name: str) -> Path:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the live suite with `make test-live`", 2)
    return Path(value)


@pytest.fixture(scope="session")
def live_dir() -> Path:
    folder = _required("GOOSE_NB_LIVE_DIR")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def server_url(live_dir: Path) -> Iterator[str]:
    """The base URL of llama.cpp's server, serving ``gemma3`` and ``smollm2``."""
    with llama_server(_required("GOOSE_NB_LIVE_PYTHON"), live_dir) as url:
        yield url


@pytest.fixture
def gateway(server_url: str) -> Iterator[RecordingGateway]:
    with RecordingGateway(server_url) as recording:
        yield recording


@pytest.fixture
def figures() -> dict[str, Any]:
    """Where a test puts what it measured, under its own keys."""
    return _FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("live figures")
    for key, value in _FIGURES.items():
        terminalreporter.write_line(f"{key}: {value}")
    folder = os.environ.get("GOOSE_NB_LIVE_DIR")
    if folder:
        (Path(folder) / "figures.json").write_text(json.dumps(_FIGURES, indent=2))

