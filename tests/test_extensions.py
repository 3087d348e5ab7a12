"""Extensions: real MCP servers as the agent's tools, configured as Goose writes config.yaml.

The servers are real: ``mcp-server-time`` from PyPI (a test dependency, run as its console
script, as ``uvx mcp-server-time`` would), ``@modelcontextprotocol/server-everything`` from
npm run with ``npx`` (installed by ``make test`` into ``GOOSE_NB_MCP_NPM_DIR``), and
``tests/mcp_stub.py``, written with the SDK, for crashes, hangs and slow calls. The model
is the local server, scripted to call the extension's tools; what it is sent next is what
the servers really answered.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import OPENAI_KEY, register_goose, run_cell
from IPython.core.error import UsageError
from model_server import (
    ReceivedRequest,
    Reply,
    anthropic_reply,
    free_port,
    ollama_reply,
    openai_reply,
)
from test_subagents import tool_contents

from goose_nb.display.tool_block import ToolBlock
from goose_nb.events import Notice, StepFailed, ToolCallFinished
from goose_nb.session import Session
from goose_nb.tools.runner import Approval

STUB = Path(__file__).with_name("mcp_stub.py")
TIME_SERVER = Path(sys.executable).with_name("mcp-server-time")
NPM_DIR = os.environ.get("GOOSE_NB_MCP_NPM_DIR", "")


def stdio_entry(name: str, cmd: str, args: list[str] = (), timeout: int = 30,  # type: ignore[assignment]
                **fields: Any) -> str:
    """One ``extensions:`` entry, every field as Goose writes it (nulls included)."""
    entry = {"enabled": True, "type": "stdio", "name": name, "cmd": cmd, "args": list(args),
             "envs": {}, "env_keys": [], "timeout": timeout, "bundled": None,
             "description": None, **fields}
    return f"  {name}: {json.dumps(entry)}\n"


def config(*entries: str) -> str:
    return "GOOSE_MODEL: gpt-test\nextensions:\n" + "".join(entries)


def calls(*steps: tuple[str, dict[str, Any]], answer: str = "done") -> Callable[..., Reply]:
    """The model calls each tool in turn, one per step of the turn, then answers
    ``answer``."""
    def respond(request: ReceivedRequest) -> Reply:
        messages = request.json["messages"]
        # the prompt is text; a user message of parts carries a tool result's images
        last_prompt = max(i for i, m in enumerate(messages)
                          if m["role"] == "user" and isinstance(m["content"], str))
        done = sum(m["role"] == "assistant" for m in messages[last_prompt:])
        if done < len(steps):
            name, arguments = steps[done]
            return openai_reply(tool_calls=[(f"c{done}", name, json.dumps(arguments))])
        return openai_reply(answer)
    return respond


def offered(request: ReceivedRequest) -> dict[str, dict[str, Any]]:
    return {tool["function"]["name"]: tool["function"] for tool in request.json["tools"]}


def warnings(session: Session) -> list[str]:
    return [e.text for e in session.events if isinstance(e, Notice) and e.level == "warning"]


# a real server from PyPI ------------------------------------------------------------------


def test_a_goose_config_with_a_stdio_extension_offers_and_runs_its_tools(model_server,
                                                                        make_session):
    session = make_session(model_server, config=config(stdio_entry("time", str(TIME_SERVER))))
    model_server.responder = calls(("time__get_current_time", {"timezone": "Europe/Paris"}))
    record = session.ask("What time is it in Paris?")
    assert record.status == "ok" and record.answer == "done"
    first, second = model_server.requests
    tools = offered(first)
    assert {"time__get_current_time", "time__convert_time", "python"} <= set(tools)
    # the server's own schema, as it listed it
    assert tools["time__get_current_time"]["parameters"]["required"] == ["timezone"]
    result = json.loads(tool_contents(second)[-1])
    assert result["timezone"] == "Europe/Paris" and result["datetime"][:4].isdigit()
    rows = {row.name: row for row in session.extensions.rows()}
    assert rows["time"].status == "running" and rows["time"].origin == "config.yaml"
    assert "time__convert_time" in rows["time"].tools


def test_a_tool_error_is_a_failed_step_and_comes_back_as_an_error(model_server, make_session):
    session = make_session(model_server, config=config(stdio_entry("time", str(TIME_SERVER))))
    model_server.responder = calls(("time__get_current_time", {"timezone": "Nowhere/Atlantis"}))
    record = session.ask("What time is it in Atlantis?")
    assert record.status == "ok"
    assert "Invalid timezone" in tool_contents(model_server.requests[1])[-1]
    failed = [e for e in session.events if isinstance(e, StepFailed)]
    assert [(e.kind, e.detail) for e in failed] == [("tool_error", "time__get_current_time")]


def test_arguments_that_break_the_servers_schema_are_refused_before_the_call(model_server,
                                                                           make_session):
    session = make_session(model_server, config=config(stdio_entry("time", str(TIME_SERVER))))
    model_server.responder = calls(("time__get_current_time", {"zone": "Europe/Paris"}))
    session.ask("What time is it?")
    content = tool_contents(model_server.requests[1])[-1]
    assert content.startswith("invalid arguments for time__get_current_time: arguments: "
                              "'timezone' is a required property")
    failed = [e for e in session.events if isinstance(e, StepFailed)]
    assert [e.kind for e in failed] == ["bad_arguments"]


def test_a_disabled_extension_is_neither_started_nor_offered(model_server, make_session):
    session = make_session(model_server, config=config(
        stdio_entry("time", str(TIME_SERVER), enabled=False)))
    model_server.queue(openai_reply("no tools needed"))
    session.ask("hello")
    assert not any(name.startswith("time__") for name in offered(model_server.requests[0]))
    assert [(r.name, r.enabled, r.status) for r in session.extensions.rows()] == [
        ("time", False, "not started")]


# approval -------------------------------------------------------------------------------


def test_smart_approve_runs_a_read_only_tool_and_asks_for_the_others(model_server,
                                                                    make_session):
    session = make_session(model_server, GOOSE_MODE="smart_approve",
                           config=config(stdio_entry("stub", sys.executable, [str(STUB)])))
    asked: list[str] = []

    async def approver(tool, call) -> Approval:
        asked.append(call.name)
        return Approval(False)

    session.approver = approver
    model_server.responder = calls(("stub__count", {}), ("stub__write_note", {"text": "x"}))
    session.ask("count, then write a note")
    assert asked == ["stub__write_note"]  # count is marked read-only by the server
    first, declined = tool_contents(model_server.requests[2])
    assert first.startswith("call 1 in process")
    assert "declined" in declined


# servers that fail --------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "timeout", "expected"), [
    (["--fail-at-start"], 20, "could not start"),
    (["--hang-at-start"], 1, "did not start within 1 s (its timeout)"),
], ids=["exits-at-start", "hangs-at-start"])
def test_a_server_that_cannot_start_is_one_line_and_the_turn_goes_on(model_server,
                                                                   make_session, args,
                                                                   timeout, expected):
    session = make_session(model_server, config=config(
        stdio_entry("db", sys.executable, [str(STUB), *args], timeout=timeout)))
    model_server.queue(openai_reply("answered without it"))
    record = session.ask("hello")
    assert record.status == "ok" and record.answer == "answered without it"
    assert not any(name.startswith("db__") for name in offered(model_server.requests[0]))
    [warning] = warnings(session)
    assert warning.startswith(f"extension db: {expected}") and "\n" not in warning
    assert warning.endswith("; this turn goes on without it")
    if args == ["--fail-at-start"]:  # what the server said is quoted
        assert "its stderr ends: stub: cannot open the database at /nowhere/db.sqlite" in warning
    # not tried again on the next turn (the user enables it again to retry)
    model_server.queue(openai_reply("again"))
    session.ask("hello again")
    assert len(warnings(session)) == 1
    assert session.extensions.rows()[0].status.startswith(f"failed: {expected}")


def test_a_server_that_crashes_is_reported_and_restarted_once(model_server, make_session):
    session = make_session(model_server, config=config(
        stdio_entry("stub", sys.executable, [str(STUB)])))
    model_server.responder = calls(("stub__count", {}), ("stub__crash", {}))
    session.ask("count, then crash")
    crashed = tool_contents(model_server.requests[2])[-1]
    assert crashed.startswith("extension stub: stopped unexpectedly")
    assert "stub: crashing on purpose" in crashed  # its stderr tail
    assert session.extensions.rows()[0].status.startswith("failed: stopped unexpectedly")
    # the next turn restarts it: a new process, counting from 1 again
    model_server.responder = calls(("stub__count", {}))
    record = session.ask("count again")
    assert record.status == "ok"
    assert tool_contents(model_server.requests[-1])[-1].startswith("call 1 in process")
    assert any(w.startswith("extension stub stopped unexpectedly") and
               w.endswith("restarting it") for w in warnings(session))


def test_a_call_that_outlasts_the_timeout_is_an_error_result(model_server, make_session):
    # one timeout bounds the start and each call, as in Goose: long enough for the stub to
    # start on a loaded machine, far shorter than the sleep
    session = make_session(model_server, config=config(
        stdio_entry("stub", sys.executable, [str(STUB)], timeout=4)))
    model_server.responder = calls(("stub__sleep", {"seconds": 60}))
    record = session.ask("sleep")
    assert record.status == "ok"
    assert tool_contents(model_server.requests[1])[-1] == (
        "extension stub: sleep did not answer within 4 s (its timeout)")
    failed = [e for e in session.events if isinstance(e, StepFailed)]
    assert [e.kind for e in failed] == ["tool_error"]


def test_a_huge_result_is_capped_for_the_model(model_server, make_session):
    session = make_session(model_server, config=config(
        stdio_entry("stub", sys.executable, [str(STUB)])))
    model_server.responder = calls(("stub__huge", {"size": 5_000_000}))
    session.ask("huge")
    content = tool_contents(model_server.requests[1])[-1]
    assert len(content) < 21_000 and "characters left out" in content


# images: shown in the tool block, and sent to each provider its own way


def stub_images_reply(provider: str, arguments: dict[str, Any]) -> tuple[Reply, Reply]:
    """The model calls ``stub__pictures`` with ``arguments``, then answers."""
    text = json.dumps(arguments)
    if provider == "anthropic":
        return anthropic_reply("", [("toolu_1", "stub__pictures", text)]), \
            anthropic_reply("a red pixel")
    if provider == "ollama":
        return ollama_reply("", [("stub__pictures", arguments)]), ollama_reply("a red pixel")
    return openai_reply(tool_calls=[("c1", "stub__pictures", text)]), \
        openai_reply("a red pixel")


def sent_images(provider: str, request: ReceivedRequest) -> list[str]:
    """The base64 images of the follow-up request, wherever the provider keeps them."""
    messages = request.json["messages"]
    if provider == "anthropic":
        return [block["source"]["data"] for message in messages
                if isinstance(message["content"], list)
                for part in message["content"] if part.get("type") == "tool_result"
                and isinstance(part["content"], list)
                for block in part["content"] if block["type"] == "image"]
    if provider == "ollama":
        return [image for message in messages if message["role"] == "tool"
                for image in message.get("images", [])]
    return [part["image_url"]["url"].removeprefix("data:image/png;base64,")
            for message in messages if message["role"] == "user"
            and isinstance(message["content"], list)
            for part in message["content"] if part["type"] == "image_url"]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "ollama"])
def test_images_reach_the_model_and_the_tool_block(model_server, make_session, provider):
    session = make_session(model_server, provider, config=config(
        stdio_entry("stub", sys.executable, [str(STUB)])).replace(
            "GOOSE_MODEL: gpt-test", "GOOSE_MODEL: a-model"))
    model_server.queue(*stub_images_reply(provider, {"count": 2}))
    shown = []
    with session.listening(shown.append):
        assert session.ask("show me").answer.strip() == "a red pixel"
    [image_one, image_two] = sent_images(provider, model_server.requests[1])
    assert base64.b64decode(image_one).startswith(b"\x89PNG") and image_one == image_two
    finished = next(e for e in shown if isinstance(e, ToolCallFinished))
    assert [i.mime_type for i in finished.result.images] == ["image/png"] * 2
    block = ToolBlock(finished.call, finished.result).markdown()
    assert block.count(f'<img src="data:image/png;base64,{image_one}"') == 2
    if provider == "openai":  # the images follow the tool messages as a user message
        roles = [m["role"] for m in model_server.requests[1].json["messages"]]
        assert roles[-2:] == ["tool", "user"]


def test_images_over_the_budget_are_named_not_sent(model_server, make_session):
    session = make_session(model_server, config=config(
        stdio_entry("stub", sys.executable, [str(STUB)])))
    model_server.responder = calls(("stub__pictures", {"count": 6}),
                                   ("stub__pictures", {"size": 2_000_000}),
                                   ("stub__pictures", {"format": "svg+xml"}))
    session.ask("too many, too big, not a bitmap")
    request = model_server.requests[-1]
    many, big, svg = tool_contents(request)
    assert many.count("(not shown: only the first 4 images are)") == 2
    assert big == "[image image/png, 2,000,000 bytes] (not shown: larger than 1,000,000 bytes)"
    assert svg.endswith("(not shown: only PNG, JPEG, GIF and WebP are)")
    assert len(sent_images("openai", request)) == 4


def test_images_count_against_the_context_and_go_when_results_are_shortened():
    from goose_nb.context import IMAGE_TOKENS, estimate_tokens, shorten_results
    from goose_nb.messages import Message, ToolImage, ToolResult

    image = ToolImage(mime_type="image/png", data="iVBORw0KGgo=")
    results = (ToolResult(tool_call_id="c1", content="one", images=(image,) * 3),)
    message = Message(role="tool", tool_results=results)
    plain = Message(role="tool", tool_results=(results[0].model_copy(update={"images": ()}),))
    assert estimate_tokens("", [message], []) - estimate_tokens("", [plain], []) == \
        3 * IMAGE_TOKENS
    shortened, count = shorten_results([message, plain])
    assert count == 1 and shortened[0].tool_results[0].images == ()


def test_reset_stops_the_servers_and_the_next_turn_starts_them_again(model_server,
                                                                     make_session):
    session = make_session(model_server, config=config(
        stdio_entry("stub", sys.executable, [str(STUB)])))
    model_server.responder = calls(("stub__count", {}))
    session.ask("count")
    pid = tool_contents(model_server.requests[-1])[-1].split()[-1]
    session.reset()
    assert session.extensions.rows()[0].status == "not started"
    assert subprocess.run(["kill", "-0", pid], capture_output=True).returncode != 0
    session.ask("count")
    assert tool_contents(model_server.requests[-1])[-1].split()[-1] != pid


# configuration problems ---------------------------------------------------------------------


def test_entries_goose_has_and_goose_nb_does_not_are_listed_not_errors(model_server,
                                                                      make_session):
    text = config(
        '  developer: {"enabled": true, "type": "builtin", "name": "developer", '
        '"display_name": "Developer", "bundled": true, "timeout": 300}\n',
        '  computercontroller: {"enabled": true, "type": "builtin", '
        '"name": "computercontroller", "bundled": true}\n',
        '  broken: {"enabled": true, "type": "stdio", "name": "broken"}\n',
        '  notamap: 3\n')
    session = make_session(model_server, config=text)
    model_server.queue(openai_reply("fine"), openai_reply("still fine"))
    assert session.ask("hello").status == "ok"
    shown = warnings(session)
    assert any("extensions.notamap: expected a mapping" in w for w in shown)
    assert "extension broken is not available: a stdio extension needs a cmd" in shown
    assert any(w.startswith("extension computercontroller is not available: Goose's "
                            "builtin 'computercontroller' is not part of goose_nb")
               for w in shown)
    rows = {row.name: row.status for row in session.extensions.rows()}
    assert rows["developer"] == "builtin: goose_nb's notebook tools"
    assert session.ask("again").status == "ok"
    assert warnings(session) == shown  # said once, not every turn


def test_env_keys_pass_the_named_variables_and_a_missing_one_is_named(model_server,
                                                                     make_session):
    session = make_session(model_server, config=config(stdio_entry(
        "stub", sys.executable, [str(STUB)], env_keys=["STUB_DATABASE_URL"])))
    model_server.queue(openai_reply("fine"))
    session.ask("hello")
    assert warnings(session) == [
        "extension stub: env_keys names STUB_DATABASE_URL, which is not set; set it in the "
        "environment or remove it from the extension; this turn goes on without it"]


# a real server from npm, run with npx -------------------------------------------------------

needs_npm = pytest.mark.skipif(
    not NPM_DIR, reason="GOOSE_NB_MCP_NPM_DIR is not set: `make test` installs "
    "@modelcontextprotocol/server-everything there and runs these")


@needs_npm
def test_an_npm_server_run_with_npx_gives_text_images_and_scrubbed_environment(
        model_server, make_session):
    entry = stdio_entry("everything", "npx",
                        ["--no-install", "--prefix", NPM_DIR, "mcp-server-everything"],
                        envs={"WAREHOUSE_TOKEN": "wh-tok-9a8b7c6d5e"})
    session = make_session(model_server, config=config(entry))
    model_server.responder = calls(("everything__echo", {"message": "hi from the notebook"}),
                                   ("everything__get-tiny-image", {}),
                                   ("everything__get-env", {}))
    record = session.ask("echo, an image, the environment")
    assert record.status == "ok"
    echo, image, environment = tool_contents(model_server.requests[-1])
    assert echo == "Echo: hi from the notebook"
    assert "[image image/png," in image
    [tiny] = sent_images("openai", model_server.requests[-1])  # the server's own image
    assert base64.b64decode(tiny).startswith(b"\x89PNG")
    # the server sees the variable (passed with envs); the model never sees its value
    assert "WAREHOUSE_TOKEN" in environment and "wh-tok-9a8b7c6d5e" not in environment
    assert "everything__echo" in {t for row in session.extensions.rows() for t in row.tools}


def test_the_servers_end_with_the_kernels_process(tmp_path):
    """A kernel that exits (or is killed) takes its servers with it: they are its
    children, and their stdin closes with it."""
    tag = f"goose-nb-kernel-{tmp_path.name}"  # an argument the stub ignores
    script = tmp_path / "kernel.py"
    entry = {"type": "stdio", "cmd": sys.executable, "args": [str(STUB), tag]}
    (tmp_path / "config.yaml").write_text(f"extensions:\n  stub: {json.dumps(entry)}\n")
    script.write_text(
        "from goose_nb.session import Session\n"
        f"s = Session(environ={{'OPENAI_API_KEY': {OPENAI_KEY!r}, 'GOOSE_PROVIDER': 'openai'}},"
        f" config_path={str(tmp_path / 'config.yaml')!r})\n"
        "print(len(s.runtime.run(s.extensions.tools())), flush=True)\n"
        "import sys; sys.stdin.readline()\n", encoding="utf-8")

    def running() -> list[str]:
        found = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True)
        return found.stdout.split()

    for ending in ("exit", "kill"):
        kernel = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert kernel.stdout is not None and kernel.stdin is not None
        assert int(kernel.stdout.readline()) > 0 and len(running()) == 1
        if ending == "exit":
            kernel.stdin.write("\n")
            kernel.stdin.flush()
        else:
            kernel.kill()
        kernel.wait(timeout=30)
        deadline = time.monotonic() + 10
        while running() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert running() == [], ending


# %goose extensions ------------------------------------------------------------------------


def test_the_magic_adds_lists_disables_and_enables_an_extension(shell, model_server,
                                                                tmp_path, monkeypatch):
    magics = register_goose(shell, model_server, tmp_path, monkeypatch, OPENAI_KEY,
                            GOOSE_PROVIDER="openai", GOOSE_MODEL="gpt-test")
    try:
        add = f"%goose extensions add stub -- {sys.executable} {STUB}"
        _, shown = run_cell(shell, add)
        assert "| stub | notebook | yes | not started | — |" in shown
        result, _ = run_cell(shell, add)  # a notebook run again adds it again: no error
        assert result.error_in_exec is None
        model_server.responder = calls(("stub__count", {}))
        result, shown = run_cell(shell, "%%goose\ncount")
        assert result.error_in_exec is None and "stub__count" in shown
        assert "<code>stub__count</code> · extension <b>stub</b>" in shown  # the tool block
        _, shown = run_cell(shell, "%goose status")
        assert "| extensions | stub: running (6 tools) |" in shown
        _, shown = run_cell(shell, "%goose extensions")
        assert "| stub | notebook | yes | running |" in shown and "stub__write_note" in shown
        _, shown = run_cell(shell, "%goose extensions disable stub")
        assert "| stub | notebook | no | running |" in shown  # stopped by the next turn
        run_cell(shell, "%%goose\nanything")
        assert not any(n.startswith("stub__") for n in offered(model_server.requests[-1]))
        run_cell(shell, "%goose extensions enable stub")
        run_cell(shell, "%%goose\ncount")
        assert "stub__count" in offered(model_server.requests[-2])
        for line, message in [
            ("%goose extensions enable nope",
             "no extension named 'nope' (configured: stub); `%goose extensions` lists them"),
            ("%goose extensions add x", "give the server's command after --, e.g. "
             "%goose extensions add time -- uvx mcp-server-time"),
            ("%goose extensions restart stub", "unknown %goose extensions action 'restart'"),
        ]:
            result, _ = run_cell(shell, line)
            assert isinstance(result.error_in_exec, UsageError), line
            assert str(result.error_in_exec).startswith(message), result.error_in_exec
    finally:
        magics.session.close()


# recipes and subagents ----------------------------------------------------------------------


def stub_recipe(folder: Path, name: str = "stubbed") -> Path:
    """A recipe whose run needs the stub server, as a Goose recipe lists an extension."""
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"type": "stdio", "name": "stub", "cmd": sys.executable, "args": [str(STUB)],
             "timeout": 30, "bundled": None, "description": "the test stub"}
    path = folder / f"{name}.yaml"
    path.write_text("version: 1.0.0\ntitle: Stubbed\ndescription: needs the stub\n"
                    "prompt: Count with the stub.\n"
                    f"extensions:\n  - {json.dumps(entry)}\n", encoding="utf-8")
    return path


def stub_processes() -> list[str]:
    found = subprocess.run(["pgrep", "-f", str(STUB)], capture_output=True, text=True)
    return found.stdout.split()


def test_a_recipe_runs_its_extensions_for_its_run_only(shell, model_server, tmp_path,
                                                       monkeypatch):
    stub_recipe(tmp_path / "recipes")
    before = stub_processes()
    magics = register_goose(shell, model_server, tmp_path, monkeypatch, OPENAI_KEY,
                            GOOSE_PROVIDER="openai", GOOSE_MODEL="gpt-test",
                            GOOSE_RECIPE_PATH=str(tmp_path / "recipes"))
    try:
        model_server.responder = calls(("stub__count", {}))
        result, shown = run_cell(shell, "%goose_recipe run stubbed")
        assert result.error_in_exec is None, shown
        assert "stub__count" in offered(model_server.requests[0])
        assert tool_contents(model_server.requests[1])[-1].startswith("call 1 in process")
        assert stub_processes() == before  # stopped when the run ended
        run_cell(shell, "%%goose\nand now?")  # a plain cell does not get them
        assert not any(n.startswith("stub__") for n in offered(model_server.requests[-1]))
    finally:
        magics.session.close()


def test_subagents_inherit_the_parents_extensions_and_cannot_manage_them(model_server,
                                                                      make_session):
    session = make_session(model_server, config=config(
        stdio_entry("stub", sys.executable, [str(STUB)])))
    session.namespace = {}
    model_server.responder = calls(("stub__count", {}),
                                   ("platform__manage_extensions",
                                    {"action": "disable", "extension_name": "stub"}),
                                   answer="counted")
    summary = session.run_subagents(["count with the stub"])
    assert summary.model_dump()["task_results"][0]["status"] == "success"
    request = model_server.requests[-1]
    counted, refused = tool_contents(request)
    assert counted.startswith("call 1 in process")
    assert refused == "platform__manage_extensions is not available: subagents cannot " \
                      "manage extensions"


def test_a_subagent_running_a_recipe_gets_the_recipes_extensions(model_server, make_session,
                                                                 tmp_path):
    stub_recipe(tmp_path / "recipes")
    before = stub_processes()
    session = make_session(model_server, GOOSE_RECIPE_PATH=str(tmp_path / "recipes"),
                           GOOSE_MODEL="gpt-test")
    session.namespace = {}
    model_server.responder = calls(("stub__count", {}), answer="counted")
    summary = session.run_subagents([{"recipe": "stubbed"}])
    assert summary.model_dump()["task_results"][0]["status"] == "success"
    assert tool_contents(model_server.requests[-1])[-1].startswith("call 1 in process")
    assert stub_processes() == before


def test_a_recipe_naming_extensions_runs_the_configured_ones(model_server, make_session,
                                                            tmp_path, recwarn):
    """``extensions: [stub, github, developer]`` as published recipes write them: the
    user's disabled ``stub`` runs for the recipe, ``developer`` is the notebook's tools, and
    ``github``, configured nowhere, is one warning line."""
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "named.yaml").write_text(
        "title: Named\ndescription: D\nprompt: Count.\n"
        "extensions:\n  - stub\n  - github\n  - Developer\n", encoding="utf-8")
    before = stub_processes()
    session = make_session(model_server, GOOSE_RECIPE_PATH=str(folder), config=config(
        stdio_entry("stub", sys.executable, [str(STUB)], enabled=False)))
    session.namespace = {}
    model_server.responder = calls(("stub__count", {}), answer="counted")
    summary = session.run_subagents([{"recipe": "named"}])
    assert summary.model_dump()["task_results"][0]["status"] == "success"
    assert tool_contents(model_server.requests[-1])[-1].startswith("call 1 in process")
    assert "python" in offered(model_server.requests[0])
    assert warnings(session) == [
        "the recipe's extension 'github' is not configured; add it to config.yaml's "
        "extensions, or run `%goose extensions add github -- CMD ARGS`; the run goes on "
        "without it"]
    assert stub_processes() == before
    [row] = session.extensions.rows()
    assert (row.name, row.enabled, row.status) == ("stub", False, "not started")
    # what the loader noticed is in the task's transcript, not Python warnings on stderr
    from goose_nb.events import Notice
    from goose_nb.recipes import RecipeWarning

    noticed = [e.text for e in summary.task_results[0].detail.events if isinstance(e, Notice)]
    assert noticed[:3] == [f"recipe named: extension {name!r} is a bare name: the run uses "
                           "the configured extension of that name"
                           for name in ("stub", "github", "Developer")]
    assert not [w for w in recwarn if issubclass(w.category, RecipeWarning)]


# Goose's platform tools: search, resources ----------------------------------------------------


def test_the_model_can_search_the_extensions_but_not_manage_them(model_server, make_session):
    session = make_session(model_server, config=config(
        stdio_entry("time", str(TIME_SERVER), description="Clocks and time zones"),
        stdio_entry("stub", sys.executable, [str(STUB)], enabled=False)))
    model_server.responder = calls(("platform__search_available_extensions", {"query": "zones"}),
                                   ("platform__search_available_extensions", {}),
                                   ("platform__list_resources", {"extension_name": "time"}))
    session.ask("which extensions are there?")
    tools = offered(model_server.requests[0])
    assert "platform__manage_extensions" not in tools
    zones, every, resources = tool_contents(model_server.requests[-1])
    assert zones.startswith("- time (enabled; running): Clocks and time zones; tools: "
                            "time__get_current_time, time__convert_time")
    assert "- stub (disabled (the user can enable it); not started)" in every
    assert resources == "no extension lists any resources"


@needs_npm
def test_resources_of_a_real_server_are_listed_and_read(model_server, make_session):
    entry = stdio_entry("everything", "npx",
                        ["--no-install", "--prefix", NPM_DIR, "mcp-server-everything"])
    session = make_session(model_server, config=config(entry))
    uri = "demo://resource/static/document/architecture.md"
    model_server.responder = calls(("platform__list_resources", {}),
                                   ("platform__read_resource", {"uri": uri}))
    session.ask("what documents are there?")
    listed, read = tool_contents(model_server.requests[-1])
    assert f"- [everything] {uri}" in listed
    assert len(read) > 100 and "[" not in read[:1]  # the document's own text


# servers reached over HTTP ----------------------------------------------------------------------


@pytest.fixture
def http_everything(request) -> str:
    """server-everything serving ``request.param`` (streamableHttp or sse) on a free port;
    its URL once it accepts connections (within 30 s)."""
    port = free_port()
    process = subprocess.Popen(
        ["npx", "--no-install", "--prefix", NPM_DIR, "mcp-server-everything", request.param],
        env={**os.environ, "PORT": str(port)}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    try:
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert process.poll() is None, "server-everything exited before it listened"
            assert time.monotonic() < deadline, "server-everything did not listen in 30 s"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


@needs_npm
@pytest.mark.parametrize(("http_everything", "kind", "path"), [
    ("streamableHttp", "streamable_http", "/mcp"), ("sse", "sse", "/sse"),
], indirect=["http_everything"], ids=["streamable_http", "sse"])
def test_a_server_reached_over_http_works_like_a_command(http_everything, model_server,
                                                         make_session, kind, path):
    """(The server is set up first, so that it is stopped after the session is closed.)"""
    entry = {"enabled": True, "type": kind, "name": "remote", "uri": http_everything + path,
             "headers": {"Authorization": "Bearer remote-token-5f4e3d2c1b"}, "timeout": 30,
             "envs": {}, "env_keys": [], "bundled": None, "description": None}
    session = make_session(model_server, config=config(f"  remote: {json.dumps(entry)}\n"))
    model_server.responder = calls(("remote__echo", {"message": "over http"}),
                                   ("remote__get-sum", {"a": 2, "b": 3}))
    assert session.ask("echo and add").status == "ok"
    echo, total = tool_contents(model_server.requests[-1])
    assert echo == "Echo: over http" and "5" in total
    # a header's value is a secret, and so is its credential alone
    assert {"Bearer remote-token-5f4e3d2c1b", "remote-token-5f4e3d2c1b"} <= set(session.secrets())
