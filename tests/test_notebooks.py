"""End to end in a real kernel: notebooks executed with nbclient, a kernel interrupted."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from kernels import evaluate, execute, outputs_of, shell_reply
from model_server import ModelServer, error_reply, openai_reply, python_call, worked_example_replies

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from execute_notebooks import (  # noqa: E402
    execute_notebook,
    notebook_client,
    offline_env,
)

SECRET = "sk-test-NOTEBOOKSECRET9876543210zyx"


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
        client = notebook_client(notebook, tmp_path, timeout=60, allow_errors=True)
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
        reply = shell_reply(kc, msg_id, timeout=15)
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


def test_a_variable_the_agent_creates_is_there_for_the_next_cell(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext goose_nb"),
        nbformat.v4.new_code_cell("%%goose\nMake a small table of squares."),
        nbformat.v4.new_code_cell("print(squares['square'].sum())"),
    ]
    code = ("import pandas as pd\n"
            "squares = pd.DataFrame({'n': range(1, 5)})\n"
            "squares['square'] = squares['n'] ** 2\n"
            "squares")
    with ModelServer() as server:
        server.queue(openai_reply("", [python_call("call_1", code)]),
                     openai_reply("`squares` holds 1, 4, 9 and 16."))
        client = notebook_client(notebook, tmp_path, timeout=60)
        client.execute(env=server_env(server, tmp_path))
    goose_cell, next_cell = notebook.cells[1], notebook.cells[2]
    # in reading order: the step that ran the code, what the code showed, the next step
    step_1, table, step_2 = goose_cell.outputs
    assert "<code>python</code>" in step_1.data["text/markdown"] and "✓" in step_1.data[
        "text/markdown"] and "squares = pd.DataFrame" in step_1.data["text/markdown"]
    assert "<table" in table.data["text/html"]
    assert "`squares` holds 1, 4, 9 and 16." in step_2.data["text/markdown"]
    assert "2 steps · 1 tool call" in step_2.data["text/markdown"]
    assert next_cell.outputs[0].text.strip() == "30"


def test_approve_mode_asks_through_the_front_end_and_a_no_is_respected(kernel, tmp_path):
    with ModelServer() as server:
        server.queue(openai_reply("", [python_call("call_1", "flag = 'ran'")]),
                     openai_reply("I left it alone."))
        env = server_env(server, tmp_path) | {"GOOSE_MODE": "approve"}
        _, kc = kernel(env)
        execute(kc, "%load_ext goose_nb")
        msg_id = kc.execute("%%goose\nSet the flag.", allow_stdin=True)
        request = kc.get_stdin_msg(timeout=30)
        assert request["msg_type"] == "input_request"
        assert "Run python?" in request["content"]["prompt"]
        kc.input("n")
        shell_reply(kc, msg_id, timeout=30)
        assert evaluate(kc, "'flag' in globals()") == "False"
        declined = server.requests[1].json["messages"][-1]
        assert declined["role"] == "tool" and "declined" in declined["content"]


def test_interrupting_a_running_tool_stops_the_turn(kernel, tmp_path):
    with ModelServer() as server:
        server.queue(openai_reply("", [python_call("call_1", "import time\ntime.sleep(60)")]),
                     openai_reply("Back."))
        km, kc = kernel(server_env(server, tmp_path))
        execute(kc, "%load_ext goose_nb\nfrom goose_nb import current_session")
        msg_id = kc.execute("%%goose\nWait a minute.")
        deadline = time.monotonic() + 10
        while not server.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the tool is sleeping now
        km.interrupt_kernel()
        reply = shell_reply(kc, msg_id, timeout=15)
        assert "interrupted" in reply["content"]["evalue"]
        roles = evaluate(kc, "[m.role for m in current_session().history]")
        assert roles == "['user', 'assistant', 'tool', 'assistant']"
        result = evaluate(kc, "current_session().history[2].tool_results[0].content")
        assert "KeyboardInterrupt" in result or "interrupted" in result
        reply, _ = execute(kc, "%%goose\nAre you back?")
        assert reply["status"] == "ok"


def test_lead_worker_in_a_real_kernel_follows_the_rules(tmp_path):
    """behaviour.md's worked example: LEAD_TURNS=1, turn 2's worker fails twice."""
    prompts = ["Load the data.", "Compute the ratio.", "Now the mean.", "And the median."]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("%load_ext goose_nb")]
    notebook.cells += [nbformat.v4.new_code_cell(f"%%goose\n{p}") for p in prompts]
    notebook.cells += [nbformat.v4.new_code_cell("%goose timeline"),
                       nbformat.v4.new_code_cell("%%goose\nOne more.")]
    with ModelServer() as server:
        server.queue(*worked_example_replies(), openai_reply("Done."))
        env = server_env(server, tmp_path) | {
            "GOOSE_LEAD_MODEL": "lead-m", "GOOSE_MODEL": "worker-m", "GOOSE_LEAD_TURNS": "1"}
        client = notebook_client(notebook, tmp_path, timeout=60)
        client.execute(env=env)
        asked = server.models_asked()
    assert asked == ["lead-m", "worker-m", "worker-m", "lead-m", "lead-m", "worker-m",
                     "worker-m"]
    turn_2 = outputs_of(notebook.cells[2])
    assert "**WORKER** · `openai/worker-m`" in turn_2
    assert "⇄ worker → lead: 2 failed steps" in turn_2
    assert "**LEAD · fallback** · `openai/lead-m`" in turn_2
    assert "⇄ lead → worker: recovered" in outputs_of(notebook.cells[4])
    # not a widget: what a notebook saved without widget state shows is the timeline itself,
    # kept current by the turn run after it (turn 5, in the next cell)
    timeline = notebook.cells[5].outputs[0].data
    assert "| 2 | ⇄ W✗ W✗ ⇄ L |" in timeline["text/markdown"]
    assert "| 3 | L |" in timeline["text/markdown"]
    assert "| 4 | ⇄ W |" in timeline["text/markdown"]
    assert "| 5 | W |" in timeline["text/markdown"] and "<table" in timeline["text/html"]
    assert "worker; 0 failures of 2" in timeline["text/plain"]
    assert "application/vnd.jupyter.widget-view+json" not in timeline


DEMOS = sorted(path.stem for path in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("name", DEMOS)
def test_every_demo_is_tested_and_says_how_its_cassette_was_made(name):
    """A notebook added without a test that runs it, or replaying a cassette without saying
    whether it was written by hand or recorded from a real model, would go unchecked."""
    tests = "\n".join(path.read_text() for path in (ROOT / "tests").glob("test_*.py"))
    assert f'"{name}.ipynb"' in tests or f'"{name}"' in tests
    text = (ROOT / "notebooks" / "cassettes" / f"{name}.yaml").read_text(encoding="utf-8")
    scripted = yaml.safe_load(text)["scripted"]
    assert scripted in (True, False)
    header = text.splitlines()[0]
    cells = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", 4).cells
    opening = "\n".join(c.source for c in cells[:next(
        i for i, c in enumerate(cells) if c.cell_type == "code")])
    assert f"cassettes/{name}.yaml" in opening
    if scripted:
        assert "written by hand" in header and "*scripted*" in opening
    else:
        assert "recorded for replay" in header and "*recorded*" in opening
    assert "OPENAI_API_KEY" in opening  # how to run it against a real model


def test_the_settings_panel_display_follows_apply_so_a_saved_notebook_keeps_it(tmp_path):
    """In a kernel the panel is a display, and Apply re-sends it: its static forms (what a
    notebook saved without widget state, GitHub or nbviewer show) carry the applied value."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext goose_nb"),
        nbformat.v4.new_code_cell("%goose settings"),
        nbformat.v4.new_code_cell(
            "import gc\n"
            "from goose_nb.display.settings_panel import SettingsPanel\n"
            "(panel,) = [o for o in gc.get_objects() if isinstance(o, SettingsPanel)]\n"
            "panel.fallback_turns.value = 3\n"
            "panel.apply_button.click()"),
    ]
    with ModelServer() as server:
        env = server_env(server, tmp_path) | {"GOOSE_LEAD_MODEL": "gpt-lead"}
        notebook_client(notebook, tmp_path, timeout=60).execute(env=env)
    (shown,) = notebook.cells[1].outputs
    assert shown.output_type == "display_data"
    assert "| fallback turns | GOOSE_LEAD_FALLBACK_TURNS | 3 | notebook |" in shown.data[
        "text/markdown"]
    assert "application/vnd.jupyter.widget-view+json" in shown.data
