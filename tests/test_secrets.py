"""Secrets never leave goose_nb: a notebook run in a real kernel, scanned for every form of
every secret it was given.

Distinctive values come from every source a secret can come from (the environment, Goose's
config.yaml, a host URL's userinfo, a secret-named variable of no known key shape) and the
model's tools print the environment. The saved notebook (outputs, widget state, metadata),
the log at debug level, the cassette, the session's events and errors, and every request
body the server received are scanned for each of them; a scan is a (secret, place) pair.
"""

from __future__ import annotations

import base64
import json
import textwrap

import nbformat
import pytest
from kernels import outputs_of
from model_server import ModelServer, error_reply, openai_reply, python_call
from test_notebooks import notebook_client, offline_env

from goose_nb.secrets import MASK, environment_secrets, mask_url, scrub, url_secrets

ENV_KEY = "sk-envKEY0123456789abcdefSECRET"
CONFIG_KEY = "cfgANTHROPICkey5566778899QQ"
HOST_USER, HOST_PASSWORD = "goose", "hostPASSWORD2468xyz"
UNSHAPED = "zq7Unshaped4Token9Wq"  # a variable named like a secret, shaped like nothing known
BASIC = base64.b64encode(f"{HOST_USER}:{HOST_PASSWORD}".encode()).decode()
SECRETS = {"env key": ENV_KEY, "config.yaml key": CONFIG_KEY, "URL password": HOST_PASSWORD,
           "Basic auth": BASIC, "unshaped token": UNSHAPED}

PRINT_ENVIRONMENT = textwrap.dedent("""\
    import os
    print(dict(os.environ))
    os.environ
""")


def secrets_in(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


@pytest.fixture(scope="module")
def leaked_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Run the notebook once; return each place's text, to be scanned."""
    tmp_path = tmp_path_factory.mktemp("secrets")
    config = tmp_path / "config.yaml"
    config.write_text(f"ANTHROPIC_API_KEY: {CONFIG_KEY}\n", encoding="utf-8")
    cassette = tmp_path / "recorded.yaml"
    cells = [
        "%load_ext goose_nb",
        "%goose log debug",
        "%%goose\nWhat is in the environment?",
        "%goose config",
        "%goose config OPENAI_HOST={host}",
        "%%goose\nTry once more.",
        "from goose_nb import current_session\nsession = current_session()\n"
        "print(session.settings)\nprint(session.events)\nprint(session.history)",
        "%goose status",
        "%goose settings",
    ]
    with ModelServer() as server:
        port = server.url.rsplit(":", 1)[1]
        host = f"http://{HOST_USER}:{HOST_PASSWORD}@127.0.0.1:{port}"
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(c.replace("{host}", host)) for c in cells]
        server.queue(
            openai_reply("", [python_call("env", PRINT_ENVIRONMENT)]),
            openai_reply("", [("sh", "shell", json.dumps({"command": "env"}))]),
            openai_reply("The environment holds the usual variables."),
            # a server that echoes what it was sent, credentials included
            error_reply(400, f"bad request from {host} with Basic {BASIC} and {ENV_KEY}"),
        )
        env = offline_env({
            "GOOSE_PROVIDER": "openai", "GOOSE_MODEL": "gpt-test", "OPENAI_HOST": host,
            "OPENAI_API_KEY": ENV_KEY, "WAREHOUSE_TOKEN": UNSHAPED,
            "GOOSE_CONFIG_PATH": str(config), "GOOSE_MODE": "auto",
            "GOOSE_NB_RECORD": str(cassette),
        })
        client = notebook_client(notebook, tmp_path, timeout=60, allow_errors=True)
        client.execute(env=env)
        bodies = "\n".join(r.body.decode("utf-8", "replace") for r in server.requests)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    typed = code[4].source
    code[4].source = ""  # the user typed that URL into the cell; only goose_nb's output counts
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)
    code[4].source = typed
    return {
        "saved notebook": path.read_text(encoding="utf-8"),
        "tool blocks": outputs_of(code[2]),
        "config display": outputs_of(code[3]) + outputs_of(code[4]),
        "error": outputs_of(code[5]),
        "settings, events, history": outputs_of(code[6]),
        "status": outputs_of(code[7]),
        "widget state": json.dumps(notebook.metadata.get("widgets", {})),
        "log at debug": "".join(o.get("text", "") for c in code for o in c.outputs
                                if o.get("name") == "stderr"),
        "cassette": cassette.read_text(encoding="utf-8") if cassette.exists() else "",
        "request bodies": bodies,
    }


PLACES = ["saved notebook", "tool blocks", "config display", "error",
          "settings, events, history", "status", "widget state", "log at debug", "cassette",
          "request bodies"]


@pytest.mark.parametrize("place", PLACES)
def test_no_secret_reaches(leaked_run: dict[str, str], place: str) -> None:
    assert secrets_in(leaked_run[place]) == []


def test_the_scanned_places_hold_what_was_scrubbed(leaked_run: dict[str, str]) -> None:
    """The scan means something only if each place really holds the scrubbed text."""
    assert "WAREHOUSE_TOKEN" in leaked_run["tool blocks"]
    assert "[redacted]" in leaked_run["tool blocks"]
    assert "OPENAI_API_KEY" in leaked_run["request bodies"]  # the tool result went back
    assert f"{MASK}@127.0.0.1" in leaked_run["config display"]
    assert "bad request from" in leaked_run["error"]
    assert "ToolCallFinished" in leaked_run["settings, events, history"]
    assert "DEBUG" in leaked_run["log at debug"] and "127.0.0.1" in leaked_run["log at debug"]
    assert "127.0.0.1" in leaked_run["cassette"]
    assert "widget-state" in leaked_run["widget state"]
    assert "gpt-test" in leaked_run["widget state"]  # the settings panel's own values


def test_url_secrets_cover_every_form_of_userinfo() -> None:
    found = url_secrets("https://me:p%40ss-word1@host.example/v1?api_key=QUERYKEY99&x=1")
    assert {"p%40ss-word1", "p@ss-word1", "QUERYKEY99"} <= set(found)
    assert base64.b64encode(b"me:p@ss-word1").decode() in found
    assert url_secrets("https://longtokenonly123@host/") == ["longtokenonly123",
                                                            "bG9uZ3Rva2Vub25seTEyMzo="]


def test_masked_urls_keep_host_and_path() -> None:
    assert mask_url("https://me:pw@host:8080/v1?token=abc&n=2") == \
        "https://***@host:8080/v1?token=***&n=2"
    assert mask_url("http://localhost:11434") == "http://localhost:11434"


def test_short_and_unnamed_values_are_not_secrets() -> None:
    environ = {"LEVEL_KEY": "1", "HOME": "/home/user-with-long-name", "DB_PASSWORD": "hunter22"}
    assert environment_secrets(environ) == ["hunter22"]


def test_scrub_replaces_longest_first_and_unknown_userinfo() -> None:
    text = "abc-secret-long and abc-secret, see postgres://u:pw@db/x"
    assert scrub(text, ["abc-secret", "abc-secret-long"]) == \
        "[redacted] and [redacted], see postgres://***@db/x"
