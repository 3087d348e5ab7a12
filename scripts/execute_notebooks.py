"""Execute notebooks headless in a real kernel, offline, and save the executed copies.

Used by ``make demo`` and by the notebook tests. The kernel gets a clean environment: every
provider setting of the caller is removed and ``GOOSE_PROVIDER=replay`` is set, so a demo
never reaches a real model (or spends money) even on a machine with API keys configured.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets import default

logger = logging.getLogger("execute_notebooks")


class IPCKernelManager(KernelManager):
    """A kernel reached over IPC sockets in a private temporary folder, not over TCP.

    Nothing of the kernel's traffic goes over the network in plain text (so ipykernel does
    not warn that it would), and no socket file is left in the notebook's folder.
    """

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        self._socket_folder = tempfile.mkdtemp(prefix="goose-nb-kernel-")
        return os.path.join(self._socket_folder, "kernel")

    def cleanup_resources(self, restart: bool = False) -> None:
        super().cleanup_resources(restart=restart)
        if not restart and getattr(self, "_socket_folder", None):
            shutil.rmtree(self._socket_folder, ignore_errors=True)


def notebook_client(notebook: nbformat.NotebookNode, folder: Path, *, timeout: int = 300,
                    allow_errors: bool = False) -> NotebookClient:
    """An nbclient runner for ``notebook`` with its kernel started in ``folder``."""
    return NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        kernel_manager_class=IPCKernelManager,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(folder)}},
    )

_PROVIDER_PREFIXES = ("GOOSE_", "OPENAI_", "ANTHROPIC_", "OLLAMA_", "ALPHA_FEATURES", "RUST_LOG")


def offline_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without provider settings, on the replay provider."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PROVIDER_PREFIXES)}
    env["GOOSE_PROVIDER"] = "replay"
    env["GOOSE_CONFIG_PATH"] = os.devnull
    env.update(extra or {})
    return env


def execute_notebook(
    path: Path, env: Mapping[str, str], timeout: int = 300
) -> nbformat.NotebookNode:
    """Run every cell of ``path`` in a fresh kernel started in the notebook's folder."""
    notebook = nbformat.read(path, as_version=4)
    notebook_client(notebook, path.parent, timeout=timeout).execute(env=dict(env))
    return notebook


def save(notebook: nbformat.NotebookNode, output_dir: Path, name: str) -> None:
    """Write the executed notebook and an HTML rendering of it."""
    from nbconvert import HTMLExporter

    output_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, output_dir / f"{name}.ipynb")
    html, _ = HTMLExporter().from_notebook_node(notebook)
    (output_dir / f"{name}.html").write_text(html, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--output-dir", type=Path, default=Path("output"))
    args = parser.parse_args(argv)
    # only this script's own lines: nbclient and nbconvert log routine notes at INFO
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    failed = 0
    for path in args.notebooks:
        try:
            notebook = execute_notebook(path, offline_env())
        except CellExecutionError as exc:
            failed += 1
            logger.error("FAILED %s\n%s", path, exc)
            continue
        save(notebook, args.output_dir, path.stem)
        logger.info("ok  %s -> %s/%s.ipynb (+ .html)", path, args.output_dir, path.stem)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
