"""Cassettes: model calls recorded to YAML, so a notebook re-runs with no key and no network.

A cassette holds, per model call, what was asked (provider, model, URL, scrubbed headers,
the last message) and the complete answer (text, tool calls, usage). It stores answers, not
wire bytes, so one cassette replays the same whatever provider recorded it, and a person can
write one by hand for a demo — which the header must then admit with ``scripted: true``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from goose_nb.errors import CassetteError
from goose_nb.messages import Message, ModelResponse
from goose_nb.secrets import scrub

FORMAT = "goose_nb-cassette/1"
#: what to do about a cassette that cannot be read as one
_FIX = "fix the file, or re-record it with GOOSE_NB_RECORD"


class RecordedRequest(BaseModel):
    """What was asked. ``last_message`` is what replay checks besides the model."""

    provider: str = ""
    model: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    messages: int | None = None
    tools: list[str] = Field(default_factory=list)
    last_message: dict[str, Any] = Field(default_factory=dict)


class Interaction(BaseModel):
    request: RecordedRequest
    response: ModelResponse


class Cassette(BaseModel):
    """The whole file. ``scripted`` is required: true for hand-written cassettes."""

    format: str = FORMAT
    scripted: bool
    note: str = ""
    interactions: list[Interaction] = Field(default_factory=list)


def describe_message(message: Message | None) -> dict[str, Any]:
    """The part of a message a cassette keeps to recognise the request again."""
    if message is None:
        return {}
    if message.role == "tool":
        return {"role": "tool", "tool_call_ids": [r.tool_call_id for r in message.tool_results]}
    return {"role": message.role, "text": message.text}


def message_key(described: dict[str, Any]) -> tuple[Any, ...]:
    """What must be equal for two described messages to match (whitespace-insensitive)."""
    role = described.get("role")
    if role == "tool":
        return ("tool", tuple(described.get("tool_call_ids") or ()))
    return (role, " ".join(str(described.get("text", "")).split()))


def load_cassette(path: str | Path) -> Cassette:
    path = Path(path).expanduser()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        where = "" if path.is_absolute() else f" (a relative path, looked for in {Path.cwd()})"
        raise CassetteError(f"cassette {path} does not exist{where}; check GOOSE_NB_CASSETTE"
                            ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise CassetteError(f"cannot read cassette {path} ({reason}); check GOOSE_NB_CASSETTE"
                            ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise CassetteError(f"cassette {path}{line} is not valid YAML ({problem}); {_FIX}"
                            ) from None
    if not isinstance(data, dict) or "scripted" not in data:
        raise CassetteError(
            f"cassette {path} has no 'scripted:' header: recorded cassettes say "
            "'scripted: false', hand-written ones must say 'scripted: true'"
        )
    if data.get("format", FORMAT) != FORMAT:
        raise CassetteError(
            f"cassette {path} is in format {data['format']!r}, which goose_nb does not read "
            f"(it reads {FORMAT}); re-record it with GOOSE_NB_RECORD")
    try:
        return Cassette.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CassetteError(f"cassette {path}: {where}: {first['msg']}; {_FIX}") from None


def save_cassette(cassette: Cassette, path: str | Path, secrets: list[str]) -> None:
    """Write the cassette, scrubbing every secret and key-shaped string on the way."""
    data = cassette.model_dump(mode="json", exclude_defaults=False)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    header = "# goose_nb cassette: model calls recorded for replay (GOOSE_PROVIDER=replay)\n"
    if cassette.scripted:
        header = "# goose_nb cassette, SCRIPTED: written by hand, not recorded from a model\n"
    target = Path(path).expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(header + scrub(text, secrets), encoding="utf-8")
    except OSError as exc:
        raise CassetteError(
            f"cannot write cassette {target} ({_write_problem(target, exc)}); check "
            "GOOSE_NB_RECORD"
        ) from None


def _write_problem(target: Path, exc: OSError) -> str:
    """Why ``target`` cannot be written, in the user's terms: a file where the path needs
    a folder makes ``mkdir`` say "File exists", which names neither."""
    blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        return f"{blocking} is a file, not a folder"
    return exc.strerror or type(exc).__name__
