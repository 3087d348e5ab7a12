"""Configuration (behaviour.md §1): defaults < config.yaml < environment < notebook overrides.

Every test passes ``environ`` and ``config_path`` explicitly, so the developer's own
environment and ``~/.config/goose/config.yaml`` never leak in.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from goose_nb.config import (
    KEYS,
    KEYS_BY_NAME,
    Settings,
    coerce,
    display_value,
    mask_secret,
    read_config_file,
    resolve_settings,
)
from goose_nb.errors import ConfigError
from goose_nb.session import Session

OPENAI_KEY = "sk-proj-Zq9sT3cr3tV4lu3xYz0123abcd"
ANTHROPIC_KEY = "sk-ant-api03-S3cr3tAnthr0p1cK3y-wxyz"

# The table of behaviour.md §1: env var -> (Settings field, default).
TABLE: dict[str, tuple[str, object]] = {
    "GOOSE_PROVIDER": ("provider", None),  # auto-detected later, not by config
    "GOOSE_MODEL": ("model", None),  # provider's default, chosen later
    "GOOSE_LEAD_MODEL": ("lead_model", None),
    "GOOSE_LEAD_PROVIDER": ("lead_provider", None),  # falls back to GOOSE_PROVIDER later
    "GOOSE_LEAD_TURNS": ("lead_turns", 3),
    "GOOSE_LEAD_FAILURE_THRESHOLD": ("lead_failure_threshold", 2),
    "GOOSE_LEAD_FALLBACK_TURNS": ("lead_fallback_turns", 2),
    "GOOSE_PLANNER_PROVIDER": ("planner_provider", None),
    "GOOSE_PLANNER_MODEL": ("planner_model", None),
    "GOOSE_MODE": ("mode", "auto"),
    "GOOSE_RECIPE_PATH": ("recipe_path", None),
    "ALPHA_FEATURES": ("alpha_features", False),
    "GOOSE_SUBAGENT_MAX_TURNS": ("subagent_max_turns", 10),
    "GOOSE_SUBAGENT_TIMEOUT": ("subagent_timeout", 300),
    "GOOSE_SUBAGENT_MAX_CONCURRENCY": ("subagent_max_concurrency", 10),
    "GOOSE_NB_BUDGET": ("budget", None),  # no limit
    "GOOSE_REASONING_EFFORT": ("reasoning_effort", None),  # no thinking asked for
    "GOOSE_LEAD_REASONING_EFFORT": ("lead_reasoning_effort", None),  # the general one
    "GOOSE_SUBAGENT_PROVIDER": ("subagent_provider", None),  # the worker's, when unset
    "GOOSE_SUBAGENT_MODEL": ("subagent_model", None),  # the session's models, when unset
    "GOOSE_SUBAGENT_MODELS": ("subagent_models", None),  # the model may pick none
    "OPENAI_HOST": ("openai_host", "https://api.openai.com"),
    "OPENAI_BASE_PATH": ("openai_base_path", "v1/chat/completions"),
    "OPENAI_API_KEY": ("openai_api_key", None),
    "ANTHROPIC_HOST": ("anthropic_host", "https://api.anthropic.com"),
    "ANTHROPIC_API_KEY": ("anthropic_api_key", None),
    "OLLAMA_HOST": ("ollama_host", "localhost:11434"),
    "GOOSE_NB_CASSETTE": ("cassette", None),
    "GOOSE_NB_RECORD": ("record", None),
    "GOOSE_CONTEXT_LIMIT": ("context_limit", None),
    "GOOSE_LEAD_CONTEXT_LIMIT": ("lead_context_limit", None),
    "GOOSE_WORKER_CONTEXT_LIMIT": ("worker_context_limit", None),
    "GOOSE_NB_SHOW_COST": ("show_cost", True),
    "GOOSE_NB_PRICES": ("prices", None),  # goose_nb's own: user prices (pricing.py)
    "GOOSE_MAX_STEPS": ("max_steps", 25),
    "GOOSE_MAX_TOKENS": ("max_tokens", 4096),
    "GOOSE_LEAD_MAX_TOKENS": ("lead_max_tokens", None),  # GOOSE_MAX_TOKENS when unset
    "GOOSE_WORKER_MAX_TOKENS": ("worker_max_tokens", None),
    "GOOSE_NB_STREAM_IDLE_TIMEOUT": ("stream_idle_timeout", 60),
    "GOOSE_NB_STEP_TIMEOUT": ("step_timeout", 600),
    "GOOSE_NB_RENDER_TIMEOUT": ("render_timeout", 10),
    "GOOSE_NB_CHECK_MEMORY_MB": ("check_memory_mb", 50),
    "GOOSE_NB_WORKSPACE": ("workspace", None),
    "GOOSE_NB_MAX_ANSWER_CHARS": ("max_answer_chars", 1_000_000),
}
INT_KEYS = [key for key in KEYS if key.kind == "int"]
BOOL_KEYS = [key for key in KEYS if key.kind == "bool"]
PROVIDER_KEYS = ["GOOSE_PROVIDER", "GOOSE_LEAD_PROVIDER", "GOOSE_PLANNER_PROVIDER"]


@pytest.fixture
def no_file(tmp_path: Path) -> Path:
    return tmp_path / "absent" / "config.yaml"


@pytest.fixture
def config_file(tmp_path: Path):
    def write(text: str) -> Path:
        path = tmp_path / "config.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def resolve(environ=None, overrides=None, config_path=None, *, missing: Path):
    return resolve_settings(overrides or {}, environ or {}, config_path or missing)


def config_error(environ: dict[str, str], no_file: Path) -> str:
    with pytest.raises(ConfigError) as info:
        resolve_settings({}, environ, no_file)
    message = str(info.value)
    assert "\n" not in message, "a configuration error is one line"
    return message


# defaults and the key table ----------------------------------------------------------


def test_every_key_of_the_table_exists_with_its_field():
    assert {key.name for key in KEYS} == set(TABLE)
    for name, (field, _) in TABLE.items():
        assert KEYS_BY_NAME[name].field == field


def test_defaults_when_nothing_is_configured(no_file):
    resolved = resolve(missing=no_file)
    for name, (field, default) in TABLE.items():
        assert getattr(resolved.settings, field) == default, name
    assert set(resolved.sources.values()) == {"default"}
    assert set(resolved.sources) == {key.field for key in KEYS}
    assert resolved.settings == Settings()
    assert not resolved.settings.lead_worker_enabled


def test_lead_model_turns_lead_worker_on(no_file):
    settings = resolve({"GOOSE_LEAD_MODEL": "gpt-4o"}, missing=no_file).settings
    assert settings.lead_worker_enabled


# precedence ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("in_file", "in_env", "in_notebook", "value", "source"),
    [
        (False, False, False, None, "default"),
        (True, False, False, "from-file", "config.yaml"),
        (False, True, False, "from-env", "environment"),
        (True, True, False, "from-env", "environment"),
        (False, False, True, "from-notebook", "notebook"),
        (True, False, True, "from-notebook", "notebook"),
        (True, True, True, "from-notebook", "notebook"),
    ],
)
def test_precedence(config_file, in_file, in_env, in_notebook, value, source):
    path = config_file("GOOSE_MODEL: from-file\n" if in_file else "")
    environ = {"GOOSE_MODEL": "from-env"} if in_env else {}
    overrides = {"GOOSE_MODEL": "from-notebook"} if in_notebook else {}
    resolved = resolve_settings(overrides, environ, path)
    assert resolved.settings.model == value
    assert resolved.sources["model"] == source


def test_each_key_takes_its_own_highest_source(config_file):
    path = config_file("GOOSE_LEAD_TURNS: 5\nGOOSE_MODEL: file-model\nGOOSE_MODE: chat\n")
    resolved = resolve_settings(
        {"GOOSE_MODE": "approve"}, {"GOOSE_MODEL": "env-model"}, path
    )
    settings, sources = resolved.settings, resolved.sources
    assert (settings.lead_turns, sources["lead_turns"]) == (5, "config.yaml")
    assert (settings.model, sources["model"]) == ("env-model", "environment")
    assert (settings.mode, sources["mode"]) == ("approve", "notebook")
    assert (settings.max_steps, sources["max_steps"]) == (25, "default")


def test_empty_values_do_not_override(config_file):
    path = config_file("GOOSE_MODEL: file-model\n")
    resolved = resolve_settings({"GOOSE_MODEL": ""}, {"GOOSE_MODEL": "  "}, path)
    assert resolved.settings.model == "file-model"
    assert resolved.sources["model"] == "config.yaml"


def test_a_valid_higher_source_hides_a_bad_lower_one(config_file):
    path = config_file("GOOSE_LEAD_TURNS: many\n")
    resolved = resolve_settings(
        {"GOOSE_MAX_STEPS": "7"}, {"GOOSE_LEAD_TURNS": "4", "GOOSE_MAX_STEPS": "x"}, path
    )
    assert resolved.settings.lead_turns == 4
    assert resolved.settings.max_steps == 7


def test_unrelated_environment_variables_are_ignored(no_file):
    resolved = resolve({"PATH": "/bin", "GOOSE_UNKNOWN": "x", "HOME": "/h"}, missing=no_file)
    assert resolved.settings == Settings()


# integers --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "-1", "2.5", "3x", "1_000", "٣", "0x10"])
def test_bad_lead_turns_is_one_line_naming_variable_value_and_allowed(no_file, value):
    message = config_error({"GOOSE_LEAD_TURNS": value}, no_file)
    assert "GOOSE_LEAD_TURNS" in message
    assert value in message
    assert "whole number >= 0" in message
    assert "environment" in message


def test_zero_lead_turns_is_allowed(no_file):
    assert resolve({"GOOSE_LEAD_TURNS": "0"}, missing=no_file).settings.lead_turns == 0


def test_zero_fallback_turns_is_allowed(no_file):
    settings = resolve({"GOOSE_LEAD_FALLBACK_TURNS": "0"}, missing=no_file).settings
    assert settings.lead_fallback_turns == 0


def test_zero_failure_threshold_is_refused(no_file):
    message = config_error({"GOOSE_LEAD_FAILURE_THRESHOLD": "0"}, no_file)
    assert "GOOSE_LEAD_FAILURE_THRESHOLD=0" in message
    assert ">= 1" in message


@pytest.mark.parametrize(
    "name", ["GOOSE_SUBAGENT_MAX_TURNS", "GOOSE_SUBAGENT_TIMEOUT",
             "GOOSE_SUBAGENT_MAX_CONCURRENCY", "GOOSE_MAX_STEPS", "GOOSE_CONTEXT_LIMIT"]
)
def test_counts_and_limits_must_be_positive(no_file, name):
    assert f"{name}=0" in config_error({name: "0"}, no_file)
    assert getattr(resolve({name: "1"}, missing=no_file).settings, KEYS_BY_NAME[name].field) == 1


def test_integers_from_config_yaml(config_file):
    path = config_file("GOOSE_LEAD_TURNS: 0\nGOOSE_SUBAGENT_TIMEOUT: 60\nGOOSE_MAX_STEPS: '9'\n")
    settings = resolve_settings({}, {}, path).settings
    assert (settings.lead_turns, settings.subagent_timeout, settings.max_steps) == (0, 60, 9)


@pytest.mark.parametrize("text", ["GOOSE_LEAD_TURNS: true", "GOOSE_LEAD_TURNS: 2.0"])
def test_non_integers_from_config_yaml_are_refused(config_file, text):
    with pytest.raises(ConfigError, match=r"GOOSE_LEAD_TURNS=.*config\.yaml.*whole number"):
        resolve_settings({}, {}, config_file(text + "\n"))


def test_integers_tolerate_surrounding_spaces_and_a_sign(no_file):
    assert resolve({"GOOSE_LEAD_TURNS": " 4 "}, missing=no_file).settings.lead_turns == 4
    assert resolve({"GOOSE_LEAD_TURNS": "+4"}, missing=no_file).settings.lead_turns == 4


@given(
    key=st.sampled_from(INT_KEYS),
    offset=st.integers(min_value=0, max_value=10**12),
    padding=st.sampled_from(["", " ", "\t", "  "]),
)
def test_property_any_integer_at_or_above_minimum_round_trips(key, offset, padding):
    number = key.minimum + offset
    assert coerce(key, f"{padding}{number}{padding}", "environment") == number
    assert coerce(key, number, "config.yaml") == number


@given(key=st.sampled_from(INT_KEYS), number=st.integers(max_value=-1))
def test_property_integers_below_minimum_are_refused(key, number):
    with pytest.raises(ConfigError) as info:
        coerce(key, str(number), "environment")
    assert f"{key.name}={number}" in str(info.value)
    assert f">= {key.minimum}" in str(info.value)


@given(
    key=st.sampled_from(INT_KEYS),
    text=st.text(min_size=1).filter(
        lambda s: s.strip() and not re.fullmatch(r"[+-]?[0-9]+", s.strip())
    ),
)
def test_property_non_integer_text_is_refused_naming_the_key(key, text):
    with pytest.raises(ConfigError) as info:
        coerce(key, text, "notebook")
    message = str(info.value)
    assert key.name in message
    assert "whole number" in message
    assert "\n" not in message and "\r" not in message


# booleans --------------------------------------------------------------------------------

TRUTHS = ["1", "true", "TRUE", "True", "yes", "YES", "Yes", "tRuE", " yes "]
FALSEHOODS = ["0", "false", "FALSE", "False", "no", "NO", "No", "fAlSe"]


@pytest.mark.parametrize("key", BOOL_KEYS, ids=lambda key: key.name)
@pytest.mark.parametrize("value", TRUTHS + FALSEHOODS)
def test_booleans_in_any_case(no_file, key, value):
    settings = resolve({key.name: value}, missing=no_file).settings
    assert getattr(settings, key.field) is (value in TRUTHS)


def test_booleans_from_config_yaml(config_file):
    path = config_file("ALPHA_FEATURES: true\nGOOSE_NB_SHOW_COST: no\n")
    settings = resolve_settings({}, {}, path).settings
    assert settings.alpha_features is True
    assert settings.show_cost is False


@pytest.mark.parametrize("value", ["maybe", "2", "y", "t"])
def test_bad_boolean_is_refused(no_file, value):
    message = config_error({"ALPHA_FEATURES": value}, no_file)
    assert f"ALPHA_FEATURES={value}" in message
    assert "true/false" in message and "yes/no" in message and "1/0" in message


# providers and modes ---------------------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDER_KEYS)
def test_unknown_provider_lists_the_choices(no_file, name):
    message = config_error({name: "gemini"}, no_file)
    assert f"{name}=gemini" in message
    for choice in ("openai", "anthropic", "ollama", "replay"):
        assert choice in message


@pytest.mark.parametrize("value", ["openai", "anthropic", "ollama", "replay", "OpenAI"])
def test_known_providers_are_accepted_in_any_case(no_file, value):
    assert resolve({"GOOSE_PROVIDER": value}, missing=no_file).settings.provider == value.lower()


@pytest.mark.parametrize("mode", ["auto", "approve", "smart_approve", "chat", "APPROVE"])
def test_modes(no_file, mode):
    assert resolve({"GOOSE_MODE": mode}, missing=no_file).settings.mode == mode.lower()


def test_bad_mode_lists_the_choices(no_file):
    message = config_error({"GOOSE_MODE": "yolo"}, no_file)
    assert "GOOSE_MODE=yolo" in message
    for choice in ("auto", "approve", "smart_approve", "chat"):
        assert choice in message


# config.yaml -----------------------------------------------------------------------------


def test_missing_config_file_is_fine(no_file):
    assert read_config_file(no_file) == {}
    assert resolve(missing=no_file).settings == Settings()


def test_empty_config_file_is_fine(config_file):
    assert read_config_file(config_file("")) == {}
    assert read_config_file(config_file("# only a comment\n")) == {}


def test_config_file_in_goose_format(config_file):
    path = config_file(
        "GOOSE_PROVIDER: anthropic\n"
        "GOOSE_MODEL: claude-sonnet-4\n"
        "GOOSE_LEAD_MODEL: claude-opus-4\n"
        "GOOSE_LEAD_PROVIDER: openai\n"
        "GOOSE_MODE: smart_approve\n"
        "extensions:\n  developer:\n    enabled: true\n"  # Goose's own sections are ignored
    )
    resolved = resolve_settings({}, {}, path)
    settings = resolved.settings
    assert settings.provider == "anthropic"
    assert settings.model == "claude-sonnet-4"
    assert settings.lead_model == "claude-opus-4"
    assert settings.lead_provider == "openai"
    assert settings.mode == "smart_approve"
    assert resolved.sources["provider"] == "config.yaml"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("GOOSE_PROVIDER: openai\nGOOSE_MODEL: gpt-4o\nGOOSE_MODE: [auto\n", 4),
        ("GOOSE_PROVIDER: openai\nGOOSE_MODEL: a: b\n", 2),
        ("GOOSE_PROVIDER: openai\n\tGOOSE_MODEL: x\n", 2),
    ],
)
def test_malformed_config_names_the_file_and_line(config_file, text, line):
    path = config_file(text)
    with pytest.raises(ConfigError) as info:
        resolve_settings({}, {}, path)
    message = str(info.value)
    assert str(path) in message
    assert f"line {line}" in message
    assert "\n" not in message


def test_config_that_is_not_a_mapping_is_an_error(config_file):
    path = config_file("- GOOSE_PROVIDER\n- openai\n")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        resolve_settings({}, {}, path)


def test_goose_config_path_in_the_given_environment(tmp_path):
    path = tmp_path / "elsewhere.yaml"
    path.write_text("GOOSE_MODEL: from-elsewhere\n")
    resolved = resolve_settings({}, {"GOOSE_CONFIG_PATH": str(path)})
    assert resolved.settings.model == "from-elsewhere"
    assert resolved.sources["model"] == "config.yaml"


def test_goose_config_path_in_the_process_environment(tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.yaml"
    path.write_text("GOOSE_LEAD_TURNS: 7\n")
    monkeypatch.setenv("GOOSE_CONFIG_PATH", str(path))
    for name in TABLE:
        monkeypatch.delenv(name, raising=False)
    assert resolve_settings().settings.lead_turns == 7
    assert Session().settings.lead_turns == 7


def test_goose_config_path_expands_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "goose.yaml").write_text("GOOSE_MODEL: home-model\n")
    resolved = resolve_settings({}, {"GOOSE_CONFIG_PATH": "~/goose.yaml"})
    assert resolved.settings.model == "home-model"


def test_default_config_path_is_goose_own(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = tmp_path / ".config" / "goose"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("GOOSE_MODEL: goose-home\n")
    assert resolve_settings({}, {}).settings.model == "goose-home"


# secrets ---------------------------------------------------------------------------------


@pytest.fixture
def secret_settings(no_file) -> Settings:
    environ = {"OPENAI_API_KEY": OPENAI_KEY, "ANTHROPIC_API_KEY": ANTHROPIC_KEY}
    return resolve(environ, missing=no_file).settings


def test_keys_are_secret_strings(secret_settings):
    assert isinstance(secret_settings.openai_api_key, SecretStr)
    assert isinstance(secret_settings.anthropic_api_key, SecretStr)
    assert secret_settings.openai_api_key.get_secret_value() == OPENAI_KEY
    assert sorted(secret_settings.secrets()) == sorted([OPENAI_KEY, ANTHROPIC_KEY])


def test_keys_never_appear_in_repr_or_dumps(secret_settings):
    shown = [repr(secret_settings), str(secret_settings), secret_settings.model_dump_json(),
             str(secret_settings.model_dump())]
    for text in shown:
        assert OPENAI_KEY not in text
        assert ANTHROPIC_KEY not in text


def test_display_value_masks_keys(secret_settings):
    openai = display_value(secret_settings, KEYS_BY_NAME["OPENAI_API_KEY"])
    anthropic = display_value(secret_settings, KEYS_BY_NAME["ANTHROPIC_API_KEY"])
    assert openai == "sk-…abcd"
    assert anthropic == "sk-…wxyz"
    for key in KEYS:
        value = display_value(secret_settings, key)
        assert OPENAI_KEY not in value and ANTHROPIC_KEY not in value


@pytest.mark.parametrize(
    "secret",
    [OPENAI_KEY, ANTHROPIC_KEY, "abcdefghijklmnopqrstuvwxyz", "short-key", "x" * 16,
     "sk-1234567890abcdef"],
)
def test_mask_shows_at_most_a_prefix_and_four_characters(secret):
    masked = mask_secret(SecretStr(secret))
    assert secret not in masked
    assert re.fullmatch(r"(?:[A-Za-z]{1,3}-)?…(?:[^…]{4}|\(set\))", masked), masked
    visible = masked.replace("…", "").replace("(set)", "")
    assert len(visible) <= 7


def test_mask_of_unset_key():
    assert mask_secret(None) == "(not set)"


@given(st.text(min_size=1).filter(str.strip))
def test_property_mask_never_shows_the_secret(secret):
    masked = mask_secret(SecretStr(secret))
    if len(secret) >= 8:
        assert secret not in masked
    assert len(masked.replace("…", "")) <= 7


def test_errors_never_contain_keys(no_file):
    environ = {"OPENAI_API_KEY": OPENAI_KEY, "GOOSE_LEAD_TURNS": "abc"}
    message = config_error(environ, no_file)
    assert OPENAI_KEY not in message
    session = Session(environ=environ, config_path=no_file)
    with pytest.raises(ConfigError) as info:
        _ = session.settings
    assert OPENAI_KEY not in str(info.value)
    assert OPENAI_KEY not in repr(info.value)


@pytest.mark.parametrize("name", ["GOOSE_PROVIDER", "GOOSE_LEAD_TURNS", "GOOSE_MODE",
                                  "ALPHA_FEATURES"])
def test_a_key_given_to_the_wrong_setting_is_not_echoed(no_file, name):
    message = config_error({name: OPENAI_KEY}, no_file)
    assert name in message
    assert OPENAI_KEY not in message
    assert "Zq9sT3cr3t" not in message


def test_secret_string_values_keep_their_value(no_file):
    key = KEYS_BY_NAME["OPENAI_API_KEY"]
    assert coerce(key, SecretStr(OPENAI_KEY), "notebook").get_secret_value() == OPENAI_KEY
    resolved = resolve_settings({"OPENAI_API_KEY": SecretStr(OPENAI_KEY)}, {}, no_file)
    assert resolved.settings.openai_api_key.get_secret_value() == OPENAI_KEY
    assert resolved.sources["openai_api_key"] == "notebook"


def test_blank_key_is_unset(no_file):
    assert coerce(KEYS_BY_NAME["OPENAI_API_KEY"], "   ", "environment") is None
    assert resolve({"OPENAI_API_KEY": ""}, missing=no_file).settings.openai_api_key is None


def test_key_from_config_yaml_is_secret(config_file):
    settings = resolve_settings({}, {}, config_file(f"OPENAI_API_KEY: {OPENAI_KEY}\n")).settings
    assert isinstance(settings.openai_api_key, SecretStr)
    assert OPENAI_KEY not in repr(settings)


# display ---------------------------------------------------------------------------------


def test_display_values(no_file):
    settings = resolve({"GOOSE_LEAD_TURNS": "0", "ALPHA_FEATURES": "yes"}, missing=no_file).settings
    assert display_value(settings, KEYS_BY_NAME["GOOSE_LEAD_TURNS"]) == "0"
    assert display_value(settings, KEYS_BY_NAME["ALPHA_FEATURES"]) == "true"
    assert display_value(settings, KEYS_BY_NAME["GOOSE_NB_SHOW_COST"]) == "true"
    assert display_value(settings, KEYS_BY_NAME["GOOSE_MODEL"]) == "(not set)"
    assert display_value(settings, KEYS_BY_NAME["OPENAI_API_KEY"]) == "(not set)"
    assert display_value(settings, KEYS_BY_NAME["GOOSE_MODE"]) == "auto"


# the session -----------------------------------------------------------------------------


def test_session_settings_and_sources(config_file):
    path = config_file("GOOSE_MODEL: file-model\n")
    session = Session({"GOOSE_MODE": "chat"}, environ={"GOOSE_LEAD_TURNS": "1"},
                      config_path=path)
    assert session.settings.model == "file-model"
    assert session.settings.lead_turns == 1
    assert session.settings.mode == "chat"
    assert session.sources["model"] == "config.yaml"
    assert session.sources["lead_turns"] == "environment"
    assert session.sources["mode"] == "notebook"
    assert session.sources["max_steps"] == "default"
    assert session.overrides == {"GOOSE_MODE": "chat"}


def test_bad_environment_value_is_reported_until_a_notebook_override_fixes_it(no_file):
    session = Session(environ={"GOOSE_LEAD_TURNS": "abc"}, config_path=no_file)
    with pytest.raises(ConfigError, match="GOOSE_LEAD_TURNS=abc"):
        _ = session.settings
    with pytest.raises(ConfigError, match="GOOSE_LEAD_TURNS=abc"):
        _ = session.sources
    session.set_override("GOOSE_LEAD_TURNS", "2")
    assert session.settings.lead_turns == 2
    assert session.sources["lead_turns"] == "notebook"
    session.set_override("GOOSE_LEAD_TURNS", None)  # removing the fix brings the error back
    with pytest.raises(ConfigError, match="GOOSE_LEAD_TURNS=abc"):
        _ = session.settings


def test_a_bad_value_elsewhere_does_not_break_other_overrides(no_file):
    session = Session(environ={"GOOSE_LEAD_TURNS": "-1"}, config_path=no_file)
    session.set_override("GOOSE_MODEL", "gpt-4o-mini")  # accepted, error still reported
    assert session.overrides == {"GOOSE_MODEL": "gpt-4o-mini"}
    with pytest.raises(ConfigError, match="GOOSE_LEAD_TURNS=-1"):
        _ = session.settings


def test_malformed_config_leaves_the_session_constructible(config_file):
    path = config_file("GOOSE_MODEL: [\n")
    session = Session(config_path=path, environ={})
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        _ = session.settings


def test_set_override_with_a_bad_value_is_refused_and_keeps_the_previous(no_file):
    session = Session({"GOOSE_LEAD_TURNS": "1"}, environ={}, config_path=no_file)
    with pytest.raises(ConfigError) as info:
        session.set_override("GOOSE_LEAD_TURNS", "-3")
    assert "GOOSE_LEAD_TURNS=-3" in str(info.value)
    assert "notebook" in str(info.value)
    assert session.settings.lead_turns == 1
    assert session.overrides == {"GOOSE_LEAD_TURNS": "1"}
    with pytest.raises(ConfigError, match="choose one of"):
        session.set_override("GOOSE_PROVIDER", "gemini")
    assert session.settings.provider is None


def test_set_override_refuses_unknown_keys(no_file):
    session = Session(environ={}, config_path=no_file)
    with pytest.raises(ConfigError, match="GOOSE_NOPE"):
        session.set_override("GOOSE_NOPE", "1")
    assert session.overrides == {}


def test_set_override_accepts_lowercase_names(no_file):
    session = Session(environ={}, config_path=no_file)
    session.set_override("goose_lead_turns", 0)
    assert session.overrides == {"GOOSE_LEAD_TURNS": "0"}
    assert session.settings.lead_turns == 0


def test_session_refuses_bad_constructor_overrides(no_file):
    with pytest.raises(ConfigError, match="GOOSE_MODE=wild"):
        Session({"GOOSE_MODE": "wild"}, environ={}, config_path=no_file)


def test_reload_rereads_environment_and_config(config_file):
    path = config_file("GOOSE_MODEL: first\n")
    environ: dict[str, str] = {}
    session = Session(environ=environ, config_path=path)
    assert session.settings.model == "first"
    path.write_text("GOOSE_MODEL: second\n")
    environ["GOOSE_LEAD_TURNS"] = "5"
    assert session.settings.model == "first"  # read when created, not on every access
    session.reload()
    assert session.settings.model == "second"
    assert session.settings.lead_turns == 5
    environ["GOOSE_LEAD_TURNS"] = "five"
    session.reload()
    with pytest.raises(ConfigError, match="GOOSE_LEAD_TURNS=five"):
        _ = session.settings
    del environ["GOOSE_LEAD_TURNS"]
    session.reload()
    assert session.settings.lead_turns == 3


def test_session_reload_uses_the_process_environment(monkeypatch, no_file):
    monkeypatch.setenv("GOOSE_MAX_STEPS", "11")
    session = Session(config_path=no_file)
    assert session.settings.max_steps == 11
    monkeypatch.setenv("GOOSE_MAX_STEPS", "12")
    session.reload()
    assert session.settings.max_steps == 12
    assert session.sources["max_steps"] == "environment"
