"""``%goose settings``: the Lead/Worker Settings panel, against the local model server.

The widget tree mirrors the session's settings; the model pickers offer what the providers'
models endpoints list (free text when they list nothing); Apply turns the edits into
notebook overrides, reports bad values in its status line, and turns lead/worker off; the
static forms give the equivalent ``%goose config`` line; no API key shows anywhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ipywidgets
import pytest
from conftest import ANTHROPIC_KEY, OPENAI_KEY, register_goose
from IPython import get_ipython
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython
from IPython.utils.capture import capture_output
from model_server import ModelServer, Reply
from test_providers_list_models import (
    ANTHROPIC_MODELS,
    OLLAMA_TAGS,
    OPENAI_MODELS,
    json_reply,
    write_cassette,
)

from goose_nb.display.settings_panel import SettingsPanel, settings_forms, settings_panel
from goose_nb.display.status import config_view

OPENAI_LIST = ("gpt-4o", "gpt-4o-mini", "o3-mini")
ANTHROPIC_LIST = ("claude-sonnet-4-5", "claude-haiku-4-5")
OLLAMA_LIST = ("qwen3:latest", "llama3.2:3b")


@pytest.fixture
def server() -> Iterator[ModelServer]:
    """A model server whose three models endpoints answer."""
    with ModelServer() as server:
        server.get_routes.update({
            "/v1/models": json_reply(OPENAI_MODELS),
            "/v1/models?limit=1000": json_reply(ANTHROPIC_MODELS),
            "/api/tags": json_reply(OLLAMA_TAGS),
        })
        yield server


def open_panel(session) -> tuple[Any, SettingsPanel]:
    """(the WithFallback, its widget) once the model lists have arrived."""
    shown = settings_panel(session)
    panel = shown.widget
    assert isinstance(panel, SettingsPanel)
    assert panel.wait_for_models(timeout=10)
    return shown, panel


def source_in_config_view(session, key: str) -> str:
    """The source column of ``key`` in ``%goose config``'s plain table."""
    (line,) = [row for row in config_view(session).plain.splitlines()
               if row.startswith(key + " ")]
    return line.split()[-1]


def lead_worker_session(make_session, server, **env):
    values = {"GOOSE_MODEL": "gpt-4o-mini", "GOOSE_LEAD_MODEL": "claude-sonnet-4-5",
              "GOOSE_LEAD_PROVIDER": "anthropic", "GOOSE_LEAD_TURNS": "4"}
    values.update(env)
    return make_session(server, "openai", **values)


# the widget tree -------------------------------------------------------------------------


def test_widget_tree_shows_the_settings_and_the_servers_models(make_session, server):
    session = lead_worker_session(make_session, server)
    _, panel = open_panel(session)
    assert isinstance(panel, ipywidgets.VBox)
    assert isinstance(panel.enabled, ipywidgets.Checkbox)
    assert panel.enabled.description == "Enable lead/worker mode"
    assert panel.enabled.value is True
    for dropdown in (panel.lead_provider, panel.worker_provider):
        assert isinstance(dropdown, ipywidgets.Dropdown)
        assert dropdown.options == ("openai", "anthropic", "ollama", "replay")
    assert (panel.lead_provider.value, panel.lead_model.value) == ("anthropic",
                                                                   "claude-sonnet-4-5")
    assert (panel.worker_provider.value, panel.worker_model.value) == ("openai", "gpt-4o-mini")
    assert isinstance(panel.lead_model, ipywidgets.Combobox)
    assert panel.lead_model.options == ANTHROPIC_LIST
    assert panel.worker_model.options == OPENAI_LIST
    numbers = (panel.lead_turns, panel.failure_threshold, panel.fallback_turns)
    assert all(isinstance(w, ipywidgets.IntText) for w in numbers)
    assert [w.value for w in numbers] == [4, 2, 2]
    assert isinstance(panel.apply_button, ipywidgets.Button)
    assert panel.apply_button.description == "Apply"
    assert isinstance(panel.status_line, ipywidgets.HTML)

    def tree(widget) -> list[Any]:
        return [widget, *(w for child in getattr(widget, "children", ()) for w in tree(child))]

    every = tree(panel)
    for widget in (panel.enabled, panel.lead_provider, panel.lead_model, panel.worker_provider,
                   panel.worker_model, *numbers, panel.apply_button, panel.status_line):
        assert widget in every  # shown, not just attributes
    requested = [r.path for r in server.get_requests]
    assert sorted(requested) == ["/v1/models", "/v1/models?limit=1000"]


def test_off_when_no_lead_model_and_lead_inputs_greyed(make_session, server):
    session = make_session(server, "ollama", GOOSE_MODEL="qwen3:latest")
    _, panel = open_panel(session)
    assert panel.enabled.value is False
    assert all(w.disabled for w in (panel.lead_provider, panel.lead_model, panel.lead_turns,
                                    panel.failure_threshold, panel.fallback_turns))
    assert not panel.worker_model.disabled
    assert panel.lead_provider.value == "ollama"  # the lead follows GOOSE_PROVIDER
    assert panel.lead_model.value == ""
    assert panel.worker_model.options == OLLAMA_LIST
    assert [r.path for r in server.get_requests] == ["/api/tags"]  # one fetch per provider


def test_free_text_when_the_server_has_no_models_endpoint(make_session, server):
    server.get_routes.clear()
    session = make_session(server, "openai", GOOSE_MODEL="my-local-model")
    _, panel = open_panel(session)
    assert panel.worker_model.options == ()
    assert "type a model name" in panel.worker_model.placeholder
    assert panel.worker_model.value == "my-local-model"
    panel.worker_model.value = "another-model"
    panel.apply_button.click()
    assert session.settings.model == "another-model"
    assert session.sources["model"] == "notebook"


def test_replay_picker_offers_the_cassettes_models(make_session, tmp_path):
    cassette = write_cassette(tmp_path / "demo.yaml", ["gpt-4o-mini", "gpt-4o"])
    session = make_session(None, "replay", GOOSE_NB_CASSETTE=str(cassette))
    _, panel = open_panel(session)
    assert panel.worker_provider.value == "replay"
    assert panel.worker_model.options == ("gpt-4o-mini", "gpt-4o")


def test_auto_detected_provider_is_shown_and_not_pinned(make_session, server):
    session = make_session(server, None, ANTHROPIC_API_KEY=None)
    _, panel = open_panel(session)
    assert panel.worker_provider.value == "openai"  # OPENAI_API_KEY → openai
    assert panel.worker_model.options == OPENAI_LIST
    panel.apply_button.click()
    assert "nothing to apply" in panel.message
    assert session.overrides == {}
    assert session.sources["provider"] == "default"


# Apply -----------------------------------------------------------------------------------


def test_apply_sets_notebook_overrides_for_the_changed_values(make_session, server):
    session = lead_worker_session(make_session, server)
    _, panel = open_panel(session)
    panel.lead_model.value = "claude-haiku-4-5"
    panel.worker_model.value = "o3-mini"
    panel.lead_turns.value = 0
    panel.failure_threshold.value = 5
    panel.fallback_turns.value = 0
    panel.apply_button.click()

    settings = session.settings
    assert (settings.lead_model, settings.model) == ("claude-haiku-4-5", "o3-mini")
    assert (settings.lead_turns, settings.lead_failure_threshold,
            settings.lead_fallback_turns) == (0, 5, 0)
    for field in ("lead_model", "model", "lead_turns", "lead_failure_threshold",
                  "lead_fallback_turns"):
        assert session.sources[field] == "notebook", field
    for key in ("GOOSE_LEAD_MODEL", "GOOSE_MODEL", "GOOSE_LEAD_TURNS",
                "GOOSE_LEAD_FAILURE_THRESHOLD", "GOOSE_LEAD_FALLBACK_TURNS"):
        assert source_in_config_view(session, key) == "notebook", key
    # untouched values keep their source
    assert session.sources["provider"] == "environment"
    assert session.sources["lead_provider"] == "environment"
    assert "GOOSE_LEAD_PROVIDER" not in session.overrides
    assert panel.message.startswith("applied as notebook overrides")
    assert "GOOSE_LEAD_TURNS=0" in panel.status_line.value
    # the policy follows the new numbers live
    assert session.policy is not None
    assert session.policy.config.failure_threshold == 5


def test_the_subagent_model_is_set_and_cleared_from_the_panel(make_session, server):
    session = lead_worker_session(make_session, server)
    _, panel = open_panel(session)
    assert panel.subagent_provider.value == session.settings.provider  # follows the worker
    assert "Subagent model" in " ".join(child.value for child in panel.children
                                        if hasattr(child, "value") and
                                        isinstance(child.value, str))
    panel.subagent_provider.value = "anthropic"
    panel.subagent_model.value = "claude-haiku-4-5"
    panel.apply_button.click()
    settings = session.settings
    assert (settings.subagent_provider, settings.subagent_model) == ("anthropic",
                                                                     "claude-haiku-4-5")
    assert session.sources["subagent_model"] == "notebook"
    static, _ = settings_forms(session)
    assert "GOOSE_SUBAGENT_PROVIDER=anthropic GOOSE_SUBAGENT_MODEL=claude-haiku-4-5" in \
        static.plain
    panel.subagent_model.value = ""
    panel.apply_button.click()
    assert (session.settings.subagent_provider, session.settings.subagent_model) == (None, None)
    assert panel.message.startswith("applied as notebook overrides"), panel.message


def test_reasoning_effort_and_the_session_budget_from_the_panel(make_session, server):
    session = lead_worker_session(make_session, server)
    _, panel = open_panel(session)
    assert (panel.reasoning_effort.value, panel.budget.value) == ("", "")
    panel.reasoning_effort.value = "high"
    panel.budget.value = "0.50"
    panel.apply_button.click()
    settings = session.settings
    assert (settings.reasoning_effort, settings.budget) == ("high", 0.5)
    assert session.sources["budget"] == "notebook"
    static, _ = settings_forms(session)
    assert "GOOSE_REASONING_EFFORT=high GOOSE_NB_BUDGET=0.5" in static.plain
    panel.budget.value = "lots"
    panel.apply_button.click()
    assert "GOOSE_NB_BUDGET=lots (from notebook) is not valid" in panel.message
    assert session.settings.budget == 0.5  # nothing applied


def test_turning_lead_worker_on(make_session, server):
    session = make_session(server, "openai", GOOSE_MODEL="gpt-4o-mini")
    _, panel = open_panel(session)
    assert session.policy is None
    panel.enabled.value = True
    assert not panel.lead_model.disabled
    panel.lead_provider.value = "anthropic"
    assert panel.wait_for_models()
    assert panel.lead_model.options == ANTHROPIC_LIST
    panel.lead_model.value = "claude-sonnet-4-5"
    panel.apply_button.click()
    assert session.settings.lead_worker_enabled
    assert (session.settings.lead_provider, session.settings.lead_model) == (
        "anthropic", "claude-sonnet-4-5")
    assert session.sources["lead_model"] == session.sources["lead_provider"] == "notebook"
    assert session.policy is not None
    # numbers the user did not touch stay defaults, not overrides
    assert session.sources["lead_turns"] == "default"


def test_changing_the_worker_provider_loads_its_models_and_keeps_the_lead(make_session, server):
    session = make_session(server, "openai", GOOSE_MODEL="gpt-4o",
                           GOOSE_LEAD_MODEL="o3-mini")  # the lead follows GOOSE_PROVIDER
    _, panel = open_panel(session)
    assert panel.lead_provider.value == "openai"
    panel.worker_provider.value = "ollama"
    assert panel.worker_model.value == ""  # gpt-4o is not an Ollama model
    assert panel.wait_for_models()
    assert panel.worker_model.options == OLLAMA_LIST
    assert panel.lead_model.options == OPENAI_LIST
    panel.worker_model.value = "qwen3:latest"
    panel.apply_button.click()
    settings = session.settings
    assert (settings.provider, settings.model) == ("ollama", "qwen3:latest")
    # the panel showed an openai lead: it stays one, rather than following GOOSE_PROVIDER
    assert (settings.lead_provider, settings.lead_model) == ("openai", "o3-mini")
    assert session.sources["provider"] == session.sources["lead_provider"] == "notebook"


@pytest.mark.parametrize(("widget", "value", "fragment"), [
    ("lead_turns", -1, "GOOSE_LEAD_TURNS=-1 (from notebook) is not valid"),
    ("failure_threshold", 0, "GOOSE_LEAD_FAILURE_THRESHOLD=0 (from notebook) is not valid"),
    ("fallback_turns", -3, "GOOSE_LEAD_FALLBACK_TURNS=-3 (from notebook) is not valid"),
])
def test_invalid_values_go_to_the_status_line_and_nothing_is_applied(make_session, server,
                                                                     widget, value, fragment):
    session = lead_worker_session(make_session, server)
    _, panel = open_panel(session)
    before = session.settings
    panel.lead_model.value = "claude-haiku-4-5"  # valid, but not applied alone
    getattr(panel, widget).value = value
    panel.apply_button.click()
    assert fragment in panel.message
    assert "whole number" in panel.message
    assert "✗" in panel.status_line.value
    assert session.settings == before
    assert session.overrides == {}
    panel.apply()  # and calling it directly does not raise either
    assert fragment in panel.message


def test_lead_worker_on_without_a_lead_model_is_explained(make_session, server):
    session = make_session(server, "openai")
    _, panel = open_panel(session)
    panel.enabled.value = True
    panel.apply_button.click()
    assert "type a lead model" in panel.message
    assert not session.settings.lead_worker_enabled


def test_unticking_turns_lead_worker_off(make_session, server):
    session = make_session(server, "openai", GOOSE_MODEL="gpt-4o-mini")
    session.set_override("GOOSE_LEAD_MODEL", "gpt-4o")
    session.set_override("GOOSE_LEAD_TURNS", "1")
    _, panel = open_panel(session)
    assert panel.enabled.value is True
    assert session.policy is not None
    panel.enabled.value = False
    assert panel.lead_model.disabled
    panel.apply_button.click()
    assert not session.settings.lead_worker_enabled
    assert session.policy is None
    assert session.sources["lead_model"] == "default"
    assert "GOOSE_LEAD_MODEL removed" in panel.message
    assert panel.enabled.value is False
    assert session.settings.lead_turns == 1  # the rest is left as it was


def test_unticking_when_the_environment_sets_the_lead_model_says_so(make_session, server):
    session = lead_worker_session(make_session, server)
    _, panel = open_panel(session)
    panel.enabled.value = False
    panel.apply_button.click()
    assert "GOOSE_LEAD_MODEL is still claude-sonnet-4-5 from the environment" in panel.message
    assert "stays on" in panel.message
    assert session.settings.lead_worker_enabled
    assert panel.enabled.value is True  # the panel shows what is in force


def test_a_second_apply_with_no_edit_changes_nothing(make_session, server):
    session = lead_worker_session(make_session, server)
    _, panel = open_panel(session)
    panel.lead_turns.value = 6
    panel.apply_button.click()
    overrides = dict(session.overrides)
    panel.apply_button.click()
    assert "nothing to apply" in panel.message
    assert session.overrides == overrides == {"GOOSE_LEAD_TURNS": "6"}


def test_a_silent_models_server_does_not_hold_up_the_panel(make_session, server):
    body = json.dumps(OPENAI_MODELS).encode()
    server.get_routes["/v1/models"] = Reply(200, [body], content_type="application/json",
                                            delay=4)
    session = make_session(server, "openai", GOOSE_MODEL="gpt-4o")
    started = time.monotonic()
    panel = settings_panel(session).widget
    assert time.monotonic() - started < 1.0
    assert panel.worker_model.placeholder == "loading models…"
    panel.worker_model.value = "typed-while-loading"
    panel.apply_button.click()  # Apply works while the list is on its way
    assert session.settings.model == "typed-while-loading"
    assert panel.wait_for_models(timeout=5)
    assert panel.worker_model.options == ()


# the static forms ------------------------------------------------------------------------


def test_static_forms_give_the_config_line_and_no_key(make_session, server):
    session = lead_worker_session(make_session, server)
    shown, panel = open_panel(session)
    line = ("%goose config GOOSE_PROVIDER=openai GOOSE_MODEL=gpt-4o-mini "
            "GOOSE_LEAD_PROVIDER=anthropic GOOSE_LEAD_MODEL=claude-sonnet-4-5 "
            "GOOSE_LEAD_TURNS=4 GOOSE_LEAD_FAILURE_THRESHOLD=2 GOOSE_LEAD_FALLBACK_TURNS=2")
    bundle = shown._repr_mimebundle_()
    assert line in bundle["text/markdown"]
    assert line in bundle["text/plain"]
    assert line in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "| lead model | GOOSE_LEAD_MODEL | claude-sonnet-4-5 | environment |" in (
        bundle["text/markdown"])
    assert "set in the environment" in bundle["text/plain"]

    def tree(widget) -> list[Any]:
        return [widget, *(w for child in getattr(widget, "children", ()) for w in tree(child))]

    states = json.dumps([w.get_state() for w in tree(panel)], default=str)
    everything = json.dumps(bundle) + states + repr(shown)
    for key in (OPENAI_KEY, ANTHROPIC_KEY, OPENAI_KEY[-4:] + '"'):
        assert key not in everything

    panel.lead_turns.value = 1
    panel.apply_button.click()
    assert "GOOSE_LEAD_TURNS=1 " in shown.static.plain  # refreshed after Apply
    assert "| initial lead turns | GOOSE_LEAD_TURNS | 1 | notebook |" in shown.static.markdown


def test_static_forms_when_off_say_how_to_turn_it_on(make_session, server):
    session = make_session(server, "openai", GOOSE_MODEL="gpt-4o")
    plain = settings_panel(session).static.plain
    assert "To set them: %goose config GOOSE_PROVIDER=openai GOOSE_MODEL=gpt-4o\n" in plain
    assert ("To turn lead/worker mode on: %goose config GOOSE_LEAD_MODEL=MODEL "
            "GOOSE_LEAD_TURNS=3 GOOSE_LEAD_FAILURE_THRESHOLD=2 GOOSE_LEAD_FALLBACK_TURNS=2"
            ) in plain


# %goose settings -------------------------------------------------------------------------


@pytest.fixture
def goose(server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    shell = start_ipython() or get_ipython()  # started once per process
    magics = register_goose(shell, server, tmp_path, monkeypatch, OPENAI_KEY,
                            GOOSE_PROVIDER="openai", GOOSE_MODEL="gpt-4o")
    yield shell, magics
    magics.session.close()


def test_goose_settings_magic_shows_the_panel(goose):
    shell, magics = goose
    with capture_output():
        result = shell.run_cell("%goose settings")
    assert result.error_in_exec is None
    panel = result.result
    assert isinstance(panel.widget, SettingsPanel)
    assert panel.widget.session is magics.session
    assert panel.widget.wait_for_models()
    panel.widget.worker_model.value = "gpt-4o-mini"
    panel.widget.apply_button.click()
    with capture_output():
        config = shell.run_cell("%goose config").result
    (row,) = [r for r in config.plain.splitlines() if r.startswith("GOOSE_MODEL ")]
    assert row.split()[1:] == ["gpt-4o-mini", "notebook"]
    assert "%goose settings" in shell.find_line_magic("goose").__doc__


def test_goose_settings_takes_no_arguments(goose):
    _, magics = goose
    with pytest.raises(UsageError, match="takes no arguments"):
        magics.goose("settings now")
