"""goose_nb in real kernels against llama.cpp's server: what no fake server can show.

Every request carries a token limit (``MAX_TOKENS``), so each turn takes seconds. The tests
look at what the user sees (the cells' outputs) and at what the server was asked (the
recording gateway), never at goose_nb's internals alone.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
import yaml
from environment import LIVE_KEY, MAX_TOKENS, live_env
from gateway import RecordingGateway
from kernels import (
    displays_until_idle,
    evaluate,
    execute,
    kernels,
    notebook_client,
    offline_env,
    outputs_of,
    shell_reply,
)
from llama_server import LEAD, WORKER
from notebook_checks import NOTEBOOKS, assert_no_errors, code_cells, masked

#: seconds a cell may take on 2 cores with a 270M model (a turn takes a few)
CELL_TIMEOUT = 240


def run_notebook(cells: list[str], folder: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook_client(notebook, folder, timeout=CELL_TIMEOUT).execute(env=env)
    return notebook


def test_a_streamed_turn_arrives_in_pieces_with_a_limit_and_honest_usage(
        gateway: RecordingGateway, tmp_path: Path, figures: dict[str, Any]) -> None:
    with kernels(tmp_path) as start:
        _, kc = start(live_env(gateway, tmp_path))
        assert execute(kc, "%load_ext goose_nb")[0]["status"] == "ok"
        sent = time.time()
        shown = displays_until_idle(kc, kc.execute("%%goose\nSay hello in one short sentence."),
                                    CELL_TIMEOUT)
        finished = time.time()
        answer = evaluate(kc, "__import__('goose_nb').current_session().turns[-1].answer")
        _, status = execute(kc, "%goose status")
        _, usage = execute(kc, "%goose usage")

    (chat,) = gateway.exchanges[-1:]
    assert chat.body is not None and chat.body["stream"] is True
    assert chat.body["max_tokens"] == MAX_TOKENS
    assert chat.status == 200
    updates = [m for _, m in shown if m["msg_type"] == "update_display_data"]
    assert len(updates) >= 2, "the answer did not stream: it arrived in one piece"
    final = shown[-1][1]["content"]["data"]["text/plain"]
    assert answer.strip("'\"") and answer.strip("'\"")[:20] in final
    # the server sends no usage in a stream: never shown as measured zeros
    assert "0 in / 0 out" not in final and "tokens not reported" in final
    assert "not reported" in status and "0 in / 0 out" not in status
    assert f"Token counts not reported by openai/{WORKER}" in usage
    first_text = next(t for t, m in shown if m["msg_type"] == "update_display_data"
                      and answer.strip("'\"")[:10] in m["content"]["data"]["text/plain"])
    figures["streamed turn"] = {
        "seconds to first byte at the gateway": round(chat.seconds_to_first_byte or 0, 3),
        "seconds to first text in the front end": round(first_text - sent, 3),
        "seconds for the turn": round(finished - sent, 3),
        "display updates": len(updates),
        "answer": answer,
    }


def test_five_turns_of_lead_worker_reach_the_server_in_the_policy_order(
        gateway: RecordingGateway, tmp_path: Path, figures: dict[str, Any]) -> None:
    prompts = ["Say hi.", "Name a colour.", "Name a fruit.", "Name an animal.", "Say bye."]
    started = time.perf_counter()
    notebook = run_notebook(
        ["%load_ext goose_nb", *(f"%%goose\n{p}" for p in prompts), "%goose timeline"],
        tmp_path,
        live_env(gateway, tmp_path, GOOSE_LEAD_MODEL=LEAD, GOOSE_LEAD_TURNS="3"))
    elapsed = time.perf_counter() - started
    assert_no_errors(notebook)
    # Goose's rule: the lead takes the first GOOSE_LEAD_TURNS turns, then the worker
    assert gateway.chat_models() == [LEAD] * 3 + [WORKER] * 2
    cells = code_cells(notebook)
    for cell, role, model in zip(cells[1:6], ["lead"] * 3 + ["worker"] * 2,
                                 [LEAD] * 3 + [WORKER] * 2, strict=True):
        shown = outputs_of(cell)
        assert role.upper() in shown and model in shown, shown
    timeline = outputs_of(cells[6])
    assert timeline.count(LEAD) >= 3 and timeline.count(WORKER) >= 2
    assert "handed to the worker" in timeline or "worker" in timeline
    turns = [e for e in gateway.exchanges if e.path.endswith("/completions")]
    figures["lead/worker session"] = {
        "models in order": gateway.chat_models(),
        "seconds per turn (median)": round(sorted((e.finished or 0) - e.started
                                                  for e in turns)[len(turns) // 2], 3),
        "seconds for 5 turns in a kernel": round(elapsed, 1),
    }


def test_a_tool_turn_runs_python_and_the_server_accepts_the_result(
        gateway: RecordingGateway, tmp_path: Path, figures: dict[str, Any]) -> None:
    gateway.force_tool = "python"
    notebook = run_notebook(
        ["%load_ext goose_nb", "%%goose\nUse python to print the value of 6 * 7."],
        tmp_path, live_env(gateway, tmp_path, GOOSE_MAX_STEPS="3"))
    chats = [e for e in gateway.exchanges if e.path.endswith("/completions")]
    assert chats[0].forced_tool and len(chats) >= 2, [e.status for e in chats]
    assert all(e.status == 200 for e in chats), [e.status for e in chats]
    assert chats[1].body is not None
    sent_back = chats[1].body["messages"]
    assistant = next(m for m in sent_back if m["role"] == "assistant" and m.get("tool_calls"))
    assert assistant["content"] == "", "llama.cpp refuses null and crashes on a missing content"
    assert any(m["role"] == "tool" for m in sent_back)
    turn = outputs_of(code_cells(notebook)[1])
    assert "<code>python</code>" in turn
    figures["tool turn"] = {"requests": len(chats), "statuses": [e.status for e in chats],
                            "code the model wrote": assistant["tool_calls"][0]["function"]
                            ["arguments"]}


def test_an_interrupt_mid_generation_closes_the_stream_and_the_next_cell_works(
        gateway: RecordingGateway, tmp_path: Path, figures: dict[str, Any]) -> None:
    with kernels(tmp_path) as start:
        km, kc = start(live_env(gateway, tmp_path, GOOSE_MAX_TOKENS="2000"))
        assert execute(kc, "%load_ext goose_nb")[0]["status"] == "ok"
        msg_id = kc.execute("%%goose\nCount from 1 to 500, one number per line.")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
                gateway.exchanges and gateway.exchanges[-1].first_byte):
            time.sleep(0.05)
        time.sleep(1.0)  # some text has streamed
        interrupted = time.monotonic()
        km.interrupt_kernel()
        reply = shell_reply(kc, msg_id, timeout=30)
        stopped_after = time.monotonic() - interrupted
        assert reply["content"]["status"] == "error"
        assert "interrupted" in reply["content"]["evalue"]
        assert stopped_after < 5
        stream = gateway.exchanges[-1]
        deadline = time.monotonic() + 10
        while stream.finished is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stream.client_hung_up, "the kernel kept the stream open after the interrupt"
        assert execute(kc, f"%goose config GOOSE_MAX_TOKENS={MAX_TOKENS}")[0]["status"] == "ok"
        reply, _ = execute(kc, "%%goose\nSay OK.", timeout=CELL_TIMEOUT)
        assert reply["status"] == "ok"
        statuses = evaluate(kc, "[t.status for t in __import__('goose_nb')"
                                ".current_session().turns]")
    assert statuses == "['interrupted', 'ok']"
    figures["interrupt"] = {"seconds from interrupt to the cell's end": round(stopped_after, 3),
                            "bytes streamed before it": stream.response_bytes}


def test_the_settings_panel_lists_the_models_the_server_serves(
        gateway: RecordingGateway, tmp_path: Path) -> None:
    # the lists arrive on the background loop and are set on the widgets from there, as
    # comm messages no cell is the parent of: read them back in the kernel
    notebook = run_notebook(
        ["%load_ext goose_nb", "%goose settings",
         "from goose_nb import current_session\n"
         "from goose_nb.display.settings_panel import settings_panel\n"
         "panel = settings_panel(current_session()).widget\n"
         "assert panel.wait_for_models(60)\n"
         "print(sorted(panel.lead_model.options), sorted(panel.worker_model.options))"],
        tmp_path, live_env(gateway, tmp_path, GOOSE_LEAD_MODEL=LEAD))
    assert_no_errors(notebook)
    assert any(e.path.endswith("/v1/models") and e.status == 200 for e in gateway.exchanges)
    listed = sorted([LEAD, WORKER])
    assert code_cells(notebook)[2].outputs[0].text.strip() == f"{listed} {listed}"


def test_the_demo_recorded_live_replays_offline_to_the_same_outputs(
        gateway: RecordingGateway, tmp_path: Path, figures: dict[str, Any]) -> None:
    """Runs notebooks/local_models.ipynb against the server, recording its cassette, then
    replays it offline. ``GOOSE_NB_LIVE_UPDATE_DEMO=1`` saves the new recording as the
    demo's cassette."""
    (tmp_path / "cassettes").mkdir()
    cassette = tmp_path / "cassettes" / "local_models.yaml"
    source = NOTEBOOKS / "local_models.ipynb"
    live = nbformat.read(source, as_version=4)
    env = live_env(gateway, tmp_path, GOOSE_NB_RECORD=str(cassette))
    del env["GOOSE_MAX_TOKENS"]  # the notebook's own limit, replayed with it
    notebook_client(live, tmp_path, timeout=CELL_TIMEOUT).execute(env=env)
    assert_no_errors(live)
    recorded = cassette.read_text()
    assert LIVE_KEY not in recorded and "scripted: false" in recorded
    calls = yaml.safe_load(recorded)["interactions"]
    assert [c["request"]["model"] for c in calls] == gateway.chat_models()

    replayed = nbformat.read(source, as_version=4)
    notebook_client(replayed, tmp_path, timeout=60).execute(
        env=offline_env({"GOOSE_NB_CASSETTE": str(cassette)}))
    assert_no_errors(replayed)
    # every output the same but %goose status, which says that this run is a replay
    status = [i for i, c in enumerate(code_cells(live)) if c.source == "%goose status"]
    assert status and all("replay / " in masked(replayed)[i] for i in status)
    assert ([o for i, o in enumerate(masked(replayed)) if i not in status]
            == [o for i, o in enumerate(masked(live)) if i not in status])
    if os.environ.get("GOOSE_NB_LIVE_UPDATE_DEMO") == "1":
        shutil.copy(cassette, NOTEBOOKS / "cassettes" / "local_models.yaml")
    figures["recorded demo"] = {"model calls": len(calls), "cassette bytes": len(recorded)}
