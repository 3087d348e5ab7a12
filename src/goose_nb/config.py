"""Settings: built-in defaults < Goose's config.yaml < environment < notebook overrides.

The keys are Goose's own (``GOOSE_PROVIDER``, ``GOOSE_LEAD_MODEL``, ...), in the environment
and in ``~/.config/goose/config.yaml`` alike, so a Goose user's configuration works unchanged.
Values are coerced by hand rather than by pydantic's validators so that a bad value gives
one line naming the variable, the value, where it came from and what is allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, SecretStr

from goose_nb.budget import parse_budget
from goose_nb.errors import ConfigError
from goose_nb.messages import ReasoningEffort
from goose_nb.secrets import environment_secrets, mask_url, scrub, url_secrets

Source = Literal["default", "config.yaml", "environment", "notebook"]
ApprovalMode = Literal["auto", "approve", "smart_approve", "chat"]

APPROVAL_MODES: tuple[str, ...] = ("auto", "approve", "smart_approve", "chat")
REASONING_EFFORTS: tuple[ReasoningEffort, ...] = ("low", "medium", "high")
#: the providers a setting may name; ``providers/registry.py`` maps each to its class
PROVIDER_NAMES: tuple[str, ...] = ("openai", "anthropic", "ollama", "replay")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# ASCII digits only: int() would also take "1_000" and non-ASCII digits such as "٣".
_INTEGER = re.compile(r"[+-]?[0-9]+")


class Settings(BaseModel):
    """The resolved configuration of one session. Immutable: changes make a new one."""

    model_config = ConfigDict(frozen=True)

    provider: str | None = None
    model: str | None = None
    lead_model: str | None = None
    lead_provider: str | None = None
    lead_turns: int = 3
    lead_failure_threshold: int = 2
    lead_fallback_turns: int = 2
    planner_provider: str | None = None
    planner_model: str | None = None
    mode: ApprovalMode = "auto"
    recipe_path: str | None = None
    alpha_features: bool = False
    subagent_max_turns: int = 10
    subagent_timeout: int = 300
    subagent_max_concurrency: int = 10
    #: dollars the session may spend on models (no limit when unset)
    budget: float | None = None
    #: how hard models think (low / medium / high), in each provider's own parameter
    reasoning_effort: ReasoningEffort | None = None
    lead_reasoning_effort: ReasoningEffort | None = None
    subagent_provider: str | None = None
    subagent_model: str | None = None
    #: the models the agent may choose for a subagent task, comma-separated
    subagent_models: str | None = None
    openai_host: str = "https://api.openai.com"
    openai_base_path: str = "v1/chat/completions"
    openai_api_key: SecretStr | None = None
    anthropic_host: str = "https://api.anthropic.com"
    anthropic_api_key: SecretStr | None = None
    ollama_host: str = "localhost:11434"
    cassette: str | None = None
    record: str | None = None
    context_limit: int | None = None
    lead_context_limit: int | None = None
    worker_context_limit: int | None = None
    show_cost: bool = True
    prices: str | None = None
    max_steps: int = 25
    max_tokens: int = 4096
    lead_max_tokens: int | None = None
    worker_max_tokens: int | None = None
    stream_idle_timeout: int = 60
    step_timeout: int = 600
    workspace: str | None = None
    max_answer_chars: int = 1_000_000
    render_timeout: int = 10
    #: megabytes of the user's variables copied before each turn for ``--check``
    check_memory_mb: int = 50

    def reasoning_effort_for(self, role: str | None) -> ReasoningEffort | None:
        """The lead's own effort where it differs, else ``GOOSE_REASONING_EFFORT``."""
        return (self.lead_reasoning_effort if role == "lead" else None) or self.reasoning_effort

    @property
    def lead_worker_enabled(self) -> bool:
        return bool(self.lead_model)

    def output_limit(self, role: str | None) -> int:
        """The most tokens one model call may answer with: the role's own limit, else
        ``GOOSE_MAX_TOKENS``. Every provider sends it, so no call runs unbounded."""
        by_role = {"lead": self.lead_max_tokens, "worker": self.worker_max_tokens}
        return (by_role.get(role) if role else None) or self.max_tokens

    def secrets(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """Every secret these settings hold (the API keys, what the host URLs carry) and
        the secret-named variables of ``environ`` (by default the process environment),
        for scrubbing whatever leaves goose_nb."""
        values = (self.openai_api_key, self.anthropic_api_key)
        found = [s.get_secret_value() for s in values if s and s.get_secret_value()]
        for key in KEYS:
            if key.kind == "url":
                found.extend(url_secrets(getattr(self, key.field)))
        return found + environment_secrets(os.environ if environ is None else environ)

    def __repr_args__(self) -> Any:
        """``str(settings)`` and ``repr`` show URLs masked (keys are ``SecretStr``)."""
        urls = {key.field for key in KEYS if key.kind == "url"}
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name in urls and isinstance(value, str) else value


@dataclass(frozen=True)
class Key:
    """One configuration key: its Goose name, the Settings field, its kind and bounds."""

    name: str
    field: str
    kind: Literal["str", "int", "bool", "secret", "provider", "mode", "url", "folder",
                  "effort", "dollars"]
    minimum: int = 0
    help: str = ""


KEYS: tuple[Key, ...] = (
    Key("GOOSE_PROVIDER", "provider", "provider", help="worker provider"),
    Key("GOOSE_MODEL", "model", "str", help="worker model"),
    Key("GOOSE_LEAD_MODEL", "lead_model", "str", help="turns lead/worker mode on"),
    Key("GOOSE_LEAD_PROVIDER", "lead_provider", "provider", help="lead provider"),
    Key("GOOSE_LEAD_TURNS", "lead_turns", "int", 0, "initial turns handled by the lead"),
    Key("GOOSE_LEAD_FAILURE_THRESHOLD", "lead_failure_threshold", "int", 1,
        "consecutive worker failures that trigger fallback"),
    Key("GOOSE_LEAD_FALLBACK_TURNS", "lead_fallback_turns", "int", 0,
        "clean turns on the lead in fallback"),
    Key("GOOSE_PLANNER_PROVIDER", "planner_provider", "provider", help="plan mode provider"),
    Key("GOOSE_PLANNER_MODEL", "planner_model", "str", help="plan mode model"),
    Key("GOOSE_MODE", "mode", "mode", help="tool approval mode"),
    Key("GOOSE_RECIPE_PATH", "recipe_path", "str", help="extra recipe folders"),
    Key("ALPHA_FEATURES", "alpha_features", "bool", help="model may spawn subagents"),
    Key("GOOSE_SUBAGENT_MAX_TURNS", "subagent_max_turns", "int", 1, "max turns per subagent"),
    Key("GOOSE_SUBAGENT_TIMEOUT", "subagent_timeout", "int", 1, "seconds per subagent"),
    Key("GOOSE_SUBAGENT_MAX_CONCURRENCY", "subagent_max_concurrency", "int", 1,
        "subagents running at once"),
    Key("GOOSE_NB_BUDGET", "budget", "dollars", help="USD the session may spend"),
    Key("GOOSE_REASONING_EFFORT", "reasoning_effort", "effort",
        help="low / medium / high: how hard models think"),
    Key("GOOSE_LEAD_REASONING_EFFORT", "lead_reasoning_effort", "effort",
        help="the lead's own reasoning effort"),
    Key("GOOSE_SUBAGENT_PROVIDER", "subagent_provider", "provider", help="subagent provider"),
    Key("GOOSE_SUBAGENT_MODEL", "subagent_model", "str",
        help="subagent model (runs alone, no lead/worker)"),
    Key("GOOSE_SUBAGENT_MODELS", "subagent_models", "str",
        help="models the agent may pick for a task, comma-separated"),
    Key("OPENAI_HOST", "openai_host", "url"),
    Key("OPENAI_BASE_PATH", "openai_base_path", "str"),
    Key("OPENAI_API_KEY", "openai_api_key", "secret"),
    Key("ANTHROPIC_HOST", "anthropic_host", "url"),
    Key("ANTHROPIC_API_KEY", "anthropic_api_key", "secret"),
    Key("OLLAMA_HOST", "ollama_host", "url"),
    Key("GOOSE_NB_CASSETTE", "cassette", "str", help="cassette played by the replay provider"),
    Key("GOOSE_NB_RECORD", "record", "str", help="record model calls into this cassette"),
    Key("GOOSE_CONTEXT_LIMIT", "context_limit", "int", 1),
    Key("GOOSE_LEAD_CONTEXT_LIMIT", "lead_context_limit", "int", 1),
    Key("GOOSE_WORKER_CONTEXT_LIMIT", "worker_context_limit", "int", 1),
    Key("GOOSE_NB_SHOW_COST", "show_cost", "bool"),
    Key("GOOSE_NB_PRICES", "prices", "str",
        help="YAML file of USD prices per million tokens, for models genai-prices lacks"),
    Key("GOOSE_MAX_STEPS", "max_steps", "int", 1, "model calls allowed in one turn"),
    Key("GOOSE_MAX_TOKENS", "max_tokens", "int", 1, "most tokens one model answer may have"),
    Key("GOOSE_LEAD_MAX_TOKENS", "lead_max_tokens", "int", 1,
        "the lead's own answer limit (default GOOSE_MAX_TOKENS)"),
    Key("GOOSE_WORKER_MAX_TOKENS", "worker_max_tokens", "int", 1,
        "the worker's own answer limit (default GOOSE_MAX_TOKENS)"),
    Key("GOOSE_NB_STREAM_IDLE_TIMEOUT", "stream_idle_timeout", "int", 1,
        "seconds a model's answer may bring nothing new before it is retried"),
    Key("GOOSE_NB_MAX_ANSWER_CHARS", "max_answer_chars", "int", 1,
        help="characters of one model answer read before it is cut"),
    Key("GOOSE_NB_WORKSPACE", "workspace", "folder",
        help="the folder write_file and edit_file may change (default: the working folder)"),
    Key("GOOSE_NB_STEP_TIMEOUT", "step_timeout", "int", 1,
        "seconds one model call may take, retries included"),
    Key("GOOSE_NB_RENDER_TIMEOUT", "render_timeout", "int", 1,
        "seconds a recipe's templates may take to render"),
    Key("GOOSE_NB_CHECK_MEMORY_MB", "check_memory_mb", "int", 0,
        "MB of your variables kept before a turn for %goose export --check (0: none)"),
)
KEYS_BY_NAME: dict[str, Key] = {key.name: key for key in KEYS}


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Goose's own config file, unless ``GOOSE_CONFIG_PATH`` (in ``environ``, by default
    the process environment) points elsewhere."""
    configured = (os.environ if environ is None else environ).get("GOOSE_CONFIG_PATH")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".config" / "goose" / "config.yaml"


#: the largest config.yaml read: Goose writes a few kilobytes; parsing megabytes of YAML
#: takes longer than a cell should wait
MAX_CONFIG_BYTES = 1_000_000


def read_config_file(path: Path) -> dict[str, Any]:
    """Read Goose's config.yaml; a missing file is an empty config, a broken one an error."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path} is {size:,} bytes, more than a config file needs "
                              f"(at most {MAX_CONFIG_BYTES:,}); point GOOSE_CONFIG_PATH at "
                              "Goose's own config.yaml")
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 "
                          "or set GOOSE_CONFIG_PATH") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}, line {mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{where}: {problem}; fix the file or set GOOSE_CONFIG_PATH") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of KEY: value at the top level, got "
                          f"{type(data).__name__}; fix the file or set GOOSE_CONFIG_PATH")
    return data


def coerce(key: Key, value: Any, source: Source, *, origin: str | None = None) -> Any:
    """Turn a raw value (a string from the environment, anything from YAML) into the
    field's type, or raise a one-line ``ConfigError`` that never echoes a secret.
    ``origin`` is where the error says the value came from, if not ``source``: the file
    a config.yaml value was read from, since GOOSE_CONFIG_PATH may name any file."""
    if value is None:
        return None
    if isinstance(value, SecretStr):
        value = value.get_secret_value()  # str() of a SecretStr is its mask, not the value
    if key.kind == "secret":
        text = str(value).strip()
        return SecretStr(text) if text else None
    text = str(value).strip()
    # what an error message echoes: the value on one line, unless it looks like an API key;
    # a URL with its userinfo masked
    shown = scrub(mask_url(text) if key.kind == "url" else text)
    bad = (f"{key.name}={shown if shown.isprintable() else repr(shown)} "
           f"(from {origin or source})")
    if key.kind == "int":
        if isinstance(value, bool) or not _INTEGER.fullmatch(text):
            raise ConfigError(f"{bad} is not valid: expected a whole number >= {key.minimum}")
        number = int(text)
        if number < key.minimum:
            raise ConfigError(f"{bad} is not valid: expected a whole number >= {key.minimum}")
        return number
    if key.kind == "bool":
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"{bad} is not valid: use true/false, yes/no or 1/0")
    if key.kind == "provider":
        if not text:
            return None
        lowered = text.lower()
        if lowered not in PROVIDER_NAMES:
            raise ConfigError(f"unknown {bad}: choose one of {', '.join(PROVIDER_NAMES)}")
        return lowered
    if key.kind == "mode":
        lowered = text.lower()
        if lowered not in APPROVAL_MODES:
            raise ConfigError(f"{bad} is not valid: choose one of {', '.join(APPROVAL_MODES)}")
        return lowered
    if key.kind == "dollars":
        if not text:
            return None
        try:
            return parse_budget(text, key.name)
        except ValueError as exc:
            raise ConfigError(f"{bad} is not valid: {str(exc).split(' needs ', 1)[1]}") from None
    if key.kind == "effort":
        lowered = text.lower()
        if lowered and lowered not in REASONING_EFFORTS:
            raise ConfigError(f"{bad} is not valid: choose one of "
                              f"{', '.join(REASONING_EFFORTS)} (or leave it empty: off)")
        return lowered or None
    if key.kind == "url":
        return _checked_url(text, bad) if text else None
    if not text.isprintable():
        raise ConfigError(f"{bad} is not valid: it holds a line break or another control "
                          "character; give the value on one line")
    if key.kind == "folder" and text and not Path(text).expanduser().is_dir():
        raise ConfigError(f"{bad} is not a folder; give an existing folder")
    return text or None


def _checked_url(text: str, bad: str) -> str:
    """A host URL that httpx can use: ``host:port`` or ``scheme://host[:port][/path]``."""
    candidate = text if "://" in text else f"http://{text}"
    try:
        parts = urlsplit(candidate)
        _ = parts.port  # a port that is not a number raises here
    except ValueError as exc:
        raise ConfigError(f"{bad} is not a valid URL ({exc}); write it as "
                          "https://host[:port]") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{bad} is not a valid URL: write it as https://host[:port] "
                          "(http or https)")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise ConfigError(f"{bad} is not a valid URL: it holds spaces or control characters")
    return text


@dataclass(frozen=True)
class ResolvedSettings:
    """Settings together with where each value came from (for ``%goose config``)."""

    settings: Settings
    sources: Mapping[str, Source]
    #: config.yaml's ``extensions:`` map as Goose writes it (read by goose_nb.extensions)
    extensions: Any = None
    #: the config file that was read
    path: Path | None = None


def resolve_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
) -> ResolvedSettings:
    """Layer the four sources. Each key takes its value from the highest
    source that sets it, and only that value is validated: a bad value in the environment
    is fixed by a notebook override, as the session promises."""
    environ = os.environ if environ is None else environ
    if config_path is not None:
        path = Path(config_path).expanduser()
    else:
        path = default_config_path(environ)
    config_file = read_config_file(path)
    layers: list[tuple[Source, Mapping[str, Any]]] = [
        ("notebook", overrides or {}),
        ("environment", environ),
        ("config.yaml", config_file),
    ]
    values: dict[str, Any] = {}
    sources: dict[str, Source] = {key.field: "default" for key in KEYS}
    for key in KEYS:
        for source, layer in layers:
            raw = layer.get(key.name)
            if raw is None or str(raw).strip() == "":
                continue
            origin = str(path) if source == "config.yaml" else None
            values[key.field] = coerce(key, raw, source, origin=origin)
            sources[key.field] = source
            break
    return ResolvedSettings(Settings(**values), sources, config_file.get("extensions"), path)


def mask_secret(secret: SecretStr | None) -> str:
    """``sk-…abcd`` at most: enough to tell two keys apart, never enough to use one."""
    if secret is None:
        return "(not set)"
    value = secret.get_secret_value()
    if len(value) < 16:
        return "…(set)"
    prefix = value[: value.find("-") + 1] if 0 < value.find("-") <= 2 else ""  # "sk-"
    return f"{prefix}…{value[-4:]}"


def display_value(settings: Settings, key: Key) -> str:
    """A key's value as shown to the user: secrets masked, unset values marked."""
    value = getattr(settings, key.field)
    if key.kind == "secret":
        return mask_secret(value)
    if key.kind == "url" and value is not None:
        return mask_url(value)
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
