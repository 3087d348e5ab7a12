"""Shared fixtures: a real local model server, sessions pointed at it, provider calls.

Everything goes through real HTTP on 127.0.0.1 (``tests/model_server.py``); nothing in
goose_nb or httpx is patched.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from corpus import SKIP_PREFIX, require_corpus
from IPython import get_ipython
from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from IPython.testing.globalipapp import start_ipython
from IPython.utils.capture import capture_output
from kernels import StartKernel, kernels
from model_server import ModelServer, free_port

from goose_nb.config import Settings
from goose_nb.magics import GooseMagics, register_magics
from goose_nb.messages import (
    ChatRequest,
    Message,
    ModelResponse,
    ResponseComplete,
    StreamEvent,
    StreamRestarted,
    TextDelta,
)
from goose_nb.providers.http import RetryPolicy, stream_with_retries
from goose_nb.providers.registry import provider_class
from goose_nb.session import Session

#: the live suite (a real llama.cpp server) runs only under ``make test-live``, which sets this
LIVE_PYTHON = os.environ.get("GOOSE_NB_LIVE_PYTHON")
collect_ignore = [] if LIVE_PYTHON else ["live"]

#: API keys used by the tests; shaped like real ones so scrubbing is exercised
OPENAI_KEY = "sk-test-SECRETVALUE123456789"
ANTHROPIC_KEY = "sk-ant-test-SECRETVALUE987654321"

FAST_RETRY = RetryPolicy(base_delay=0.01)


@pytest.fixture
def provider_streams() -> Path:
    """The recorded provider streams of the shared corpus (the test skips without them)."""
    return require_corpus("provider-streams")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say what was not run (the live suite; corpus tests a missing corpus skipped), so a
    short run is never mistaken for a full one."""
    skipped = [report for report in terminalreporter.stats.get("skipped", [])
               if SKIP_PREFIX in str(report.longrepr)]
    if not LIVE_PYTHON:
        terminalreporter.write_line(
            "tests/live was not collected: `make test-live` runs it against a real server; "
            "tests/browser neither: `make test-browser` runs it in JupyterLab")
    if skipped:
        modules = sum(isinstance(report, pytest.CollectReport) for report in skipped)
        terminalreporter.write_line(
            f"the shared corpus is missing: {modules} corpus test module(s) and "
            f"{len(skipped) - modules} other test(s) skipped (set GOOSE_NB_CORPUS)")


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[StartKernel]:
    """``kernel(env)`` starts a real kernel in the test's folder; all are shut down after."""
    with kernels(tmp_path) as start:
        yield start


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    """A started ModelServer, shut down after the test."""
    with ModelServer() as server:
        yield server


def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on (connections are refused)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def make_session(tmp_path: Path) -> Iterator[Callable[..., Session]]:
    """Build a Session whose environment points every provider at ``server``.

    ``make_session(server, "openai", GOOSE_MODEL="x")``: the environment is only what is
    given here (never the process's), config.yaml is a file that does not exist (unless
    ``config`` gives its text), retries are fast. Both test API keys are set unless a
    keyword sets them to ``None``; any keyword set to ``None`` removes that variable.
    ``provider=None`` leaves ``GOOSE_PROVIDER`` unset (auto-detection).
    """
    sessions: list[Session] = []

    def build(server: ModelServer | None = None, provider: str | None = "openai",
              *, retry: RetryPolicy = FAST_RETRY, config: str | None = None,
              **env: str | None) -> Session:
        environ: dict[str, str | None] = {
            "OPENAI_API_KEY": OPENAI_KEY,
            "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
            # never the developer's own Ollama
            "OLLAMA_HOST": closed_port_url(),
        }
        if provider is not None:
            environ["GOOSE_PROVIDER"] = provider
        if server is not None:
            environ.update(OPENAI_HOST=server.url, ANTHROPIC_HOST=server.url,
                           OLLAMA_HOST=server.url)
        environ.update(env)
        clean = {name: value for name, value in environ.items() if value is not None}
        config_path = tmp_path / "no-such-config.yaml"
        if config is not None:
            config_path = tmp_path / "config.yaml"
            config_path.write_text(config, encoding="utf-8")
        session = Session(environ=clean, config_path=config_path, retry=retry)
        sessions.append(session)
        return session

    yield build
    for session in sessions:
        session.close()


@dataclass
class ProviderRun:
    """What one provider call produced: every event, and the parts tests look at."""

    events: list[StreamEvent] = field(default_factory=list)
    error: BaseException | None = None
    sleeps: list[float] = field(default_factory=list)

    @property
    def response(self) -> ModelResponse:
        complete = [e for e in self.events if isinstance(e, ResponseComplete)]
        assert len(complete) == 1, f"expected one ResponseComplete, got {self.events!r}"
        return complete[0].response

    @property
    def deltas(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, TextDelta)]

    @property
    def restarts(self) -> int:
        return sum(isinstance(e, StreamRestarted) for e in self.events)

    @property
    def final_text(self) -> str:
        """The streamed text after the last restart: what a listener ends up showing."""
        last = max((i for i, e in enumerate(self.events) if isinstance(e, StreamRestarted)),
                   default=-1)
        return "".join(e.text for e in self.events[last + 1:] if isinstance(e, TextDelta))


def settings_for(server: ModelServer | None, **values: Any) -> Settings:
    """Settings pointing every provider at ``server``, with both test keys."""
    base: dict[str, Any] = {"openai_api_key": OPENAI_KEY, "anthropic_api_key": ANTHROPIC_KEY}
    if server is not None:
        base.update(openai_host=server.url, anthropic_host=server.url, ollama_host=server.url)
    base.update(values)
    return Settings(**base)


def simple_request(model: str = "test-model", prompt: str = "hi", **kwargs: Any) -> ChatRequest:
    return ChatRequest(model=model, messages=[Message.user(prompt)], **kwargs)


@pytest.fixture
def run_provider() -> Callable[..., ProviderRun]:
    """Call a provider once against the server, on a fresh event loop and HTTP client.

    ``run_provider("openai", settings, request)`` runs one attempt (``provider.stream``)
    and re-raises its error; ``retry=RetryPolicy(...)`` runs it through
    ``stream_with_retries`` with a sleep that records the delays instead of waiting, and
    keeps the error (if any) in ``.error``.
    """

    def run(name: str, settings: Settings, request: ChatRequest,
            *, retry: RetryPolicy | None = None) -> ProviderRun:
        result = ProviderRun()

        async def record_sleep(seconds: float) -> None:
            result.sleeps.append(seconds)

        async def go() -> None:
            async with httpx.AsyncClient(timeout=10.0) as client:
                provider = provider_class(name)(settings, client)
                if retry is None:
                    async for event in provider.stream(request):
                        result.events.append(event)
                    return
                try:
                    async for event in stream_with_retries(
                        lambda: provider.stream(request), retry, sleep=record_sleep
                    ):
                        result.events.append(event)
                except Exception as exc:
                    result.error = exc

        asyncio.run(go())
        return result

    return run


@pytest.fixture(scope="session")
def shell() -> Iterator[InteractiveShell]:
    """IPython's test shell (one per process), formatting Markdown as a notebook front end
    would; ``start_ipython`` returns None once it has been started."""
    shell = start_ipython() or get_ipython()
    formatter = shell.display_formatter
    saved = list(formatter.active_types)
    formatter.active_types = [*saved, "text/markdown"]
    yield shell
    formatter.active_types = saved


def run_cell(shell: InteractiveShell, source: str) -> tuple[ExecutionResult, str]:
    """Run a cell; return its result and the text of all its outputs, in every format."""
    with capture_output() as captured:
        result = shell.run_cell(source)
    texts = [captured.stdout, captured.stderr]
    for output in captured.outputs:
        texts.extend(str(value) for value in output.data.values())
    if result.result is not None:  # the cell's Out[] value
        data, _ = shell.display_formatter.format(result.result)
        texts.extend(str(value) for value in data.values())
    return result, "\n".join(texts)


def register_goose(shell: InteractiveShell, server: ModelServer, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch, api_key: str,
                   **env: str) -> GooseMagics:
    """A freshly registered ``%goose`` extension whose session reads an environment that
    points at ``server`` as an OpenAI host, plus ``env``, and nothing of the developer's own
    goose configuration."""
    for name in [n for n in os.environ if n.startswith(("GOOSE_", "ANTHROPIC_", "OPENAI_"))
                 or n == "ALPHA_FEATURES"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("GOOSE_CONFIG_PATH", str(tmp_path / "absent.yaml"))
    monkeypatch.setenv("OPENAI_HOST", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return register_magics(shell)
