"""What a subagent run is asked to do (behaviour.md §4); ``summary.py`` is what it reports.

Tasks come either as a YAML list in the cell (no model needed to split them, so a notebook
re-runs the same) or from the model through the subagent tools. Mode and limits come from
flags, or from the prompt's own words ("in parallel", "timeout after 7 minutes", "limit
each to 5 turns"), as Goose users are used to saying them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from goose_nb.errors import GooseError

Mode = Literal["sequential", "parallel"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?)?\s*$")
_PARALLEL_WORDS = re.compile(r"\b(parallel|simultaneous(ly)?|at the same time|concurrent(ly)?)\b")
_SEQUENTIAL_WORDS = re.compile(r"\b(sequential(ly)?|one after (the )?other|in sequence|"
                               r"first\b.*\bthen|after)\b", re.DOTALL)
_TIMEOUT_WORDS = re.compile(
    r"time ?out (?:after|of|in)?\s*(\d+(?:\.\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|m)\b")
_TURN_WORDS = re.compile(r"\b(?:limit|cap|restrict)\w*\b[^.]*?\bto\s+(\d+)\s+turns?\b"
                         r"|\b(?:max(?:imum)?|at most)\s+(\d+)\s+turns?\b")


def parse_duration(value: str | float | int, *, what: str = "timeout") -> float:
    """Seconds from ``90``, ``"90s"``, ``"7m"``, ``"1.5 minutes"``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value).lower())
        if not match:
            raise GooseError(f"{what} {value!r} is not a duration: use seconds or a suffix, "
                             "e.g. 90s or 7m")
        seconds = float(match.group(1)) * (60 if (match.group(2) or "s")[0] == "m" else 1)
    if seconds <= 0:
        raise GooseError(f"{what} must be more than 0 seconds, not {value!r}")
    return seconds


def mode_from_words(text: str) -> Mode | None:
    """``parallel`` when the prompt asks for it; ``sequential`` when it orders the tasks
    ("first … then", "after"); None when it says neither."""
    # "timeout after 90 seconds" sets a limit; its "after" does not order the tasks
    lowered = _TIMEOUT_WORDS.sub(" ", text.lower())
    if _PARALLEL_WORDS.search(lowered):
        return "parallel"
    if _SEQUENTIAL_WORDS.search(lowered):
        return "sequential"
    return None


def limits_from_words(text: str) -> tuple[float | None, int | None]:
    """(timeout in seconds, max turns) a prompt states, each None when it does not."""
    lowered = text.lower()
    timeout = None
    if match := _TIMEOUT_WORDS.search(lowered):
        timeout = parse_duration(f"{match.group(1)}{match.group(2)[0]}")
    turns = None
    if match := _TURN_WORDS.search(lowered):
        turns = int(match.group(1) or match.group(2))
    return timeout, turns


class SubagentTask(BaseModel):
    """One task: a prompt, or a recipe with parameters (or both: the prompt then joins
    the recipe's), and optional limits of its own. With ``extension`` the prompt goes to
    that extension's agent tool instead (an external subagent, ``external.py``)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    prompt: str | None = None
    recipe: str | None = None
    extension: str | None = None
    #: the task's own model (``models.py``): alone, or as the worker of ``lead_model``
    provider: str | None = None
    model: str | None = None
    lead_provider: str | None = None
    lead_model: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    timeout: float | None = None
    max_turns: int | None = Field(default=None, ge=1)

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        try:
            return None if value is None else parse_duration(value)
        except GooseError as exc:
            raise ValueError(str(exc)) from None

    def model_post_init(self, context: Any) -> None:
        has_prompt = bool(self.prompt and self.prompt.strip())
        if not has_prompt and not self.recipe:
            raise ValueError("a task needs a prompt or a recipe")
        if self.extension is not None and (self.recipe or not has_prompt):
            raise ValueError("a task for an external agent (extension) needs a prompt, "
                             "and no recipe")


def _looks_like_a_list(body: str) -> bool:
    """Whether the body's first line that is not blank or a comment is a YAML list item:
    a broken list is then an error to explain, not a request in words."""
    for line in body.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped == "-" or stripped.startswith(("- ", "-\t"))
    return False


def parse_task_list(body: str) -> list[SubagentTask] | None:
    """The tasks of a YAML list cell body; None when the body is not a YAML list (it is
    then a natural-language request). A list with a bad item is an error naming it."""
    try:
        data = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        if _looks_like_a_list(body):  # meant as a list: say why it is not one
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise GooseError(f"the task list is not valid YAML{where} "
                             f"({getattr(exc, 'problem', None) or 'syntax error'}); quote an "
                             "item that contains ': ' or '#'") from None
        return None
    if not isinstance(data, list):
        return None
    tasks = [task_from(item, index) for index, item in enumerate(data, start=1)]
    if not tasks:
        raise GooseError("the task list is empty: give one task per item")
    return tasks


def task_from(item: Any, index: int) -> SubagentTask:
    """Task ``index`` (from 1) of a list, given as a prompt string, a mapping or a
    ``SubagentTask``; a bad one is a one-line error naming it and its field (pydantic's
    own message is several lines), from a cell's YAML list and the API alike."""
    if isinstance(item, SubagentTask):
        return item
    try:
        if isinstance(item, str):
            return SubagentTask(prompt=item)
        return SubagentTask.model_validate(dict(item) if isinstance(item, Mapping) else item)
    except (ValidationError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")  # a validator's own words
            reason = f"{field}: {message}" if field else message
        else:
            reason = str(exc)
        raise GooseError(f"task {index} of the list is not valid: {reason}; give a prompt "
                         "string, or a mapping with prompt/recipe/params/extension/"
                         "provider/model/lead_model/timeout/max_turns/id") from None
