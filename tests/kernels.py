"""Real kernels for tests: started over IPC with jupyter_client, driven message by message.

Used by the notebook tests and the live suite; nbclient runs whole notebooks, these helpers
run single cells where a test must act between them (interrupt, look at the session).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from execute_notebooks import IPCKernelManager, notebook_client, offline_env  # noqa: E402

__all__ = ["displays_until_idle", "evaluate", "execute", "kernels", "notebook_client",
           "offline_env", "outputs_of", "shell_reply"]

StartKernel = Callable[[dict[str, str]], tuple[Any, Any]]


def outputs_of(cell: nbformat.NotebookNode) -> str:
    """Every text an executed cell shows, in any format."""
    texts = []
    for output in cell.get("outputs", []):
        texts.append(output.get("text", ""))
        texts.extend(str(v) for v in output.get("data", {}).values())
        texts.extend(output.get("traceback", []))
        texts.append(output.get("evalue", ""))
    return "\n".join(texts)


@contextmanager
def kernels(folder: Path) -> Iterator[StartKernel]:
    """``start(env)`` starts a kernel in ``folder`` and returns (manager, client); every
    kernel started is shut down on exit."""
    started: list[tuple[Any, Any]] = []

    def start(env: dict[str, str]) -> tuple[Any, Any]:
        km = IPCKernelManager(kernel_name="python3")
        km.start_kernel(env=env, cwd=str(folder))
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        started.append((km, kc))
        return km, kc

    try:
        yield start
    finally:
        for km, kc in started:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def execute(kc: Any, code: str, timeout: float = 30, **options: Any) -> tuple[dict, str]:
    """Run code, return (execute_reply content, all stream and display text)."""
    msg_id = kc.execute(code, **options)
    texts = []
    while True:
        message = kc.get_iopub_msg(timeout=timeout)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        content = message["content"]
        texts.append(content.get("text", ""))
        texts.extend(str(v) for v in content.get("data", {}).values())
        texts.append(content.get("evalue", ""))
        if message["msg_type"] == "status" and content["execution_state"] == "idle":
            break
    return shell_reply(kc, msg_id, timeout)["content"], "\n".join(texts)


def shell_reply(kc: Any, msg_id: str, timeout: float = 30) -> dict:
    """The kernel's reply to request ``msg_id`` (other replies are passed over)."""
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return dict(reply)


def displays_until_idle(kc: Any, msg_id: str, timeout: float = 30) -> list[tuple[float, dict]]:
    """Every display message request ``msg_id`` caused, with when it arrived (wall clock,
    comparable with a server's in another process), until the kernel went idle."""
    seen = []
    while True:
        message = kc.get_iopub_msg(timeout=timeout)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] in ("display_data", "update_display_data"):
            seen.append((time.time(), message))
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return seen


def evaluate(kc: Any, expression: str) -> str:
    """The repr of an expression in the kernel, read from the execute reply itself."""
    reply, _ = execute(kc, "", user_expressions={"value": expression})
    return reply["user_expressions"]["value"]["data"]["text/plain"]
