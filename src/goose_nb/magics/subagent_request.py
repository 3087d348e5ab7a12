"""``%%goose_subagents`` / ``%goose_subagents``: what the user typed, turned into a run.

Leading flags (``--parallel``, ``--sequential``, ``--timeout 7m``, ``--max-turns 5``,
``--max-concurrency N``, ``--model PROVIDER/MODEL``) are read off the line; what follows,
or the cell body, is either a YAML list of tasks or a request in words. Words set the mode
and limits the flags leave open ("in parallel", "timeout after 90 seconds", "limit each to
5 turns").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from goose_nb.budget import parse_budget
from goose_nb.errors import GooseError
from goose_nb.subagents.spec import Mode, limits_from_words, mode_from_words, parse_duration

_FLAG = re.compile(r"\s*--([a-z-]+)")
_VALUE = re.compile(r"(?:=|\s+)([^\s]+)")
_VALUED = {"timeout", "max-turns", "max-concurrency", "model", "budget"}
USAGE = ("usage: %%goose_subagents [--parallel | --sequential] [--timeout 7m] "
         "[--max-turns N] [--max-concurrency N] [--model PROVIDER/MODEL] [--budget DOLLARS], "
         "then a YAML list of tasks or a request")


@dataclass
class SubagentRequest:
    """A parsed run: YAML tasks or a natural-language prompt, and its mode and limits."""

    text: str
    mode: Mode | None = None
    timeout: float | None = None
    max_turns: int | None = None
    max_concurrency: int | None = None
    #: the model of every task that names none
    model: str | None = None
    #: dollars the whole run may spend, its subagents together
    budget: float | None = None


def _positive_int(flag: str, value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise GooseError(f"--{flag} needs a whole number of at least 1, not {value!r}")
    return int(value)


def parse_request(line: str, cell: str | None) -> SubagentRequest:
    """Flags from the start of ``line``; the text is the cell, or the rest of the line."""
    request = SubagentRequest(text="")
    position = 0
    while match := _FLAG.match(line, position):
        flag = match.group(1)
        position = match.end()
        if flag in ("parallel", "sequential"):
            request.mode = "parallel" if flag == "parallel" else "sequential"
            continue
        if flag not in _VALUED:
            raise GooseError(f"unknown flag --{flag}; {USAGE}")
        value = _VALUE.match(line, position)
        if value is None:
            raise GooseError(f"--{flag} needs a value; {USAGE}")
        position = value.end()
        if flag == "timeout":
            request.timeout = parse_duration(value.group(1), what="--timeout")
        elif flag == "max-turns":
            request.max_turns = _positive_int(flag, value.group(1))
        elif flag == "model":
            request.model = value.group(1)
        elif flag == "budget":
            try:
                request.budget = parse_budget(value.group(1))
            except ValueError as exc:
                raise GooseError(str(exc)) from None
        else:
            request.max_concurrency = _positive_int(flag, value.group(1))
    request.text = cell if cell is not None else line[position:]
    if not request.text.strip():
        raise GooseError(f"no tasks given; {USAGE}")
    return request


def words_fill_in(request: SubagentRequest) -> SubagentRequest:
    """Mode and limits from the prompt's words, where no flag set them."""
    timeout, turns = limits_from_words(request.text)
    return SubagentRequest(
        text=request.text,
        mode=request.mode or mode_from_words(request.text),
        timeout=request.timeout or timeout,
        max_turns=request.max_turns or turns,
        max_concurrency=request.max_concurrency,
        model=request.model,
        budget=request.budget,
    )

