"""Terminal IPython, in a real pseudo-terminal: the answer streams as it arrives, and its
Markdown is rendered for a terminal instead of printed raw."""

from __future__ import annotations

import re
import sys
import time

import pexpect
import pytest
from conftest import OPENAI_KEY
from kernels import offline_env
from model_server import ModelServer, openai_reply

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def terminal(model_server: ModelServer, tmp_path):
    env = offline_env({"GOOSE_PROVIDER": "openai", "GOOSE_MODEL": "gpt-4o-mini",
                       "OPENAI_HOST": model_server.url, "OPENAI_API_KEY": OPENAI_KEY,
                       "GOOSE_CONFIG_PATH": str(tmp_path / "absent.yaml"),
                       "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40"})
    child = pexpect.spawn(sys.executable, ["-m", "IPython", "--no-banner", "--simple-prompt",
                                           "--colors=NoColor"],
                          env=env, cwd=str(tmp_path), encoding="utf-8", timeout=30,
                          dimensions=(40, 100))
    child.expect(r"In \[1\]: ")
    child.sendline("%load_ext goose_nb")
    child.expect(r"In \[2\]: ")
    yield child
    child.sendline("exit")
    child.expect(pexpect.EOF)


def test_the_answer_streams_into_the_terminal_rendered_not_raw(terminal, model_server):
    reply = openai_reply("## Result\n\nThe total is **42**, as `sum(x)` says.", pieces=1)
    reply.pause_after = (1, 2.0)  # the role chunk, the text, then 2 s of silence
    after_pause = 2  # the finish chunk
    model_server.queue(reply)
    terminal.sendline('get_ipython().run_cell_magic("goose", "", "What is the total?")')
    terminal.expect("The total is", timeout=20)
    seen_at = time.time()
    terminal.expect(r"In \[3\]: ", timeout=20)
    shown = ANSI.sub("", terminal.before)
    request = model_server.requests[-1]
    assert seen_at < request.chunks_sent_at[after_pause], "the text waited for the answer end"
    assert "42" in shown and "**42**" not in shown and "## Result" not in shown
    assert "Result" in shown and "gpt-4o-mini" in shown
    assert "10 in / 5 out tokens" in shown  # the footer


def test_why_and_export_in_the_terminal(terminal, model_server, tmp_path):
    """``%goose why`` and ``%goose export`` (cell, ``--check``, ``--file``) read as plain
    text in a terminal, the exported code is printed there (``--simple-prompt`` has no
    input line to fill), and ``session.lineage()`` gives the same as data."""
    from model_server import python_call

    model_server.queue(openai_reply(tool_calls=[python_call("c1", "answer = 6 * 7")]),
                       openai_reply("answer is 42"))
    terminal.sendline('get_ipython().run_cell_magic("goose", "", "Compute answer.")')
    terminal.expect(r"In \[3\]: ", timeout=20)
    terminal.sendline("%goose why answer")
    terminal.expect(r"In \[4\]: ", timeout=20)
    why = ANSI.sub("", terminal.before)
    assert "Why answer: 1 step(s) of the agent, newest first" in why
    assert "turn 1 · step 1 · openai/gpt-4o-mini · cell [2]" in why
    assert "answer = 6 * 7" in why and "<details>" not in why
    terminal.sendline("%goose export")
    terminal.expect(r"In \[5\]: ", timeout=20)
    exported = ANSI.sub("", terminal.before)
    assert "1 call(s) of turn 1, as a new cell below" in exported
    assert "# turn 1, step 1 — openai/gpt-4o-mini" in exported and "```" not in exported
    terminal.sendline("%goose export --check")
    terminal.expect(r"In \[6\]: ", timeout=20)
    checked = ANSI.sub("", terminal.before)
    assert "The exported code reproduces the agent's variables." in checked
    assert re.search(r"answer\s.*✓ reproduced", checked) and "<table" not in checked
    terminal.sendline("%goose export --file analysis.py")
    terminal.expect(r"In \[7\]: ", timeout=20)
    assert "Wrote 1 call(s) of turn 1 to analysis.py." in ANSI.sub("", terminal.before)
    assert (tmp_path / "analysis.py").read_text(encoding="utf-8").rstrip().endswith(
        "answer = 6 * 7")
    terminal.sendline("import goose_nb; [(s.turn, s.step) for s in "
                      "goose_nb.current_session().lineage('answer').steps]")
    terminal.expect(r"In \[8\]: ", timeout=20)
    assert "[(1, 1)]" in ANSI.sub("", terminal.before)
