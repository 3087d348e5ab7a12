"""End to end in a real kernel: notebooks executed with nbclient, a kernel interrupted."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from model_server import ModelServer, error_reply, openai_reply

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from execute_notebooks import execute_notebook, offline_env  # noqa: E402

SECRET = "sk-test-NOTEBOOKSECRET9876543210zyx"


def outputs_of(cell: nbformat.NotebookNode) -> str:
    """Every text an executed cell shows, in any format."""
    texts = []
    for output in cell.get("outputs", []):
        texts.append(output.get("text", ""))
        texts.extend(str(v) for v in output.get("data", {}).values())
        texts.extend(output.get("traceback", []))
        texts.append(output.get("evalue", ""))
    return "\n".join(texts)


def server_env(server: ModelServer, tmp_path: Path) -> dict[str, str]:
    return offline_env(
        {
            "GOOSE_PROVIDER": "openai",
            "GOOSE_MODEL": "gpt-test",
            "OPENAI_HOST": server.url,
            "OPENAI_API_KEY": SECRET,
            "GOOSE_CONFIG_PATH": str(tmp_path / "absent.yaml"),
        }
    )


def test_quickstart_runs_offline_on_its_cassette():
    notebook = execute_notebook(ROOT / "notebooks" / "quickstart.ipynb", offline_env())
    code = [c for c in notebook.cells if c.cell_type == "code"]
    shown = [outputs_of(c) for c in code]
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    assert "Exploring data" in shown[2]
    assert "I help you understand your data" in shown[3]
    assert "| turns | 2 |" in shown[4]


def test_notebook_against_server_streams_and_never_saves_the_key(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext goose_nb"),
        nbformat.v4.new_code_cell("%%goose\nSay hello."),
        nbformat.v4.new_code_cell("%%goose\nAnd again."),
        nbformat.v4.new_code_cell("%goose config"),
        nbformat.v4.new_code_cell("%goose status"),
    ]
    path = tmp_path / "session.ipynb"
    nbformat.write(notebook, path)
    with ModelServer() as server:
        server.queue(
            openai_reply("Hello from the local server!", usage=(21, 6)),
            error_reply(401, f"Incorrect API key provided: {SECRET}"),
        )
        from nbclient import NotebookClient

        client = NotebookClient(notebook, timeout=60, kernel_name="python3",
                                allow_errors=True, resources={"metadata": {"path": str(tmp_path)}})
        client.execute(env=server_env(server, tmp_path))
    nbformat.write(notebook, path)
    saved = path.read_text()
    assert SECRET not in saved
    cells = notebook.cells
    assert "Hello from the local server!" in outputs_of(cells[1])
    assert "21 in / 6 out tokens" in outputs_of(cells[1])
    # IPython shows a UsageError as one stderr line, not a traceback
    errors = [o.text for o in cells[2].outputs if o.get("name") == "stderr"]
    assert errors and errors[0].startswith("UsageError: ") and errors[0].count("\n") == 1
    assert "OPENAI_API_KEY" in errors[0]
    assert "sk-…" in outputs_of(cells[3])
    assert "| turns | 2 |" in outputs_of(cells[4])


@pytest.fixture
def kernel(tmp_path):
    """A started kernel and its client; the test passes the environment via ``request``."""
    started = []

    def start(env: dict[str, str]):
        km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
        started.append((km, kc))
        return km, kc

    yield start
    for km, kc in started:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def execute(kc, code: str, timeout: float = 30, **options) -> tuple[dict, str]:
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
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"], "\n".join(texts)


def evaluate(kc, expression: str) -> str:
    """The repr of an expression in the kernel, read from the execute reply itself."""
    reply, _ = execute(kc, "", user_expressions={"value": expression})
    return reply["user_expressions"]["value"]["data"]["text/plain"]


def test_kernel_interrupt_cancels_the_turn_and_the_session_goes_on(kernel, tmp_path):
    with ModelServer() as server:
        slow = openai_reply("word " * 40, pieces=40)
        slow.chunk_delay = 0.25  # ten seconds in all, unless interrupted
        server.queue(slow, openai_reply("after the interrupt"))
        km, kc = kernel(server_env(server, tmp_path))
        reply, _ = execute(kc, "%load_ext goose_nb")
        assert reply["status"] == "ok"

        msg_id = kc.execute("%%goose\nTalk slowly.")
        deadline = time.monotonic() + 10
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.6)  # a few words have streamed
        interrupted_at = time.monotonic()
        km.interrupt_kernel()
        while True:
            reply = kc.get_shell_msg(timeout=15)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        stopped_after = time.monotonic() - interrupted_at
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "UsageError"
        assert "interrupted" in reply["content"]["evalue"]
        assert stopped_after < 5, "the turn did not stop promptly after the interrupt"

        reply, _ = execute(kc, "from goose_nb import current_session")
        assert evaluate(kc, "[t.status for t in current_session().turns]") == "['interrupted']"
        last = evaluate(kc, "current_session().history[-1].text")
        assert last.startswith("'word word") and "[interrupted by the user]" in last

        reply, _ = execute(kc, "%%goose\nAre you still there?")
        assert reply["status"] == "ok"
        assert evaluate(kc, "current_session().turns[-1].answer") == "'after the interrupt'"
