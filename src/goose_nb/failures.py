"""What counts as a failure: of a tool call, of a step, and in a user's prompt.

The lead/worker policy decides on these and nothing else, so the rules live here, apart,
where they can be read and tested on their own (behaviour.md §2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

FailureKind = Literal[
    "unknown_tool",
    "bad_arguments",
    "python_error",
    "shell_error",
    "file_error",
    "permission_error",
    "tool_error",
]


@dataclass(frozen=True, slots=True)
class Failure:
    """Why one tool call failed. ``detail`` is short: an exception type, an exit status."""

    kind: FailureKind
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})" if self.detail else self.kind


StepKind = Literal["clean", "failed", "text_only"]


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """A step is failed when any of its tool calls failed, clean when all succeeded, and
    text-only when it called no tool (the user has not judged that answer yet)."""

    kind: StepKind
    failures: tuple[Failure, ...] = ()

    @property
    def failed(self) -> bool:
        return self.kind == "failed"


def classify_step(tool_failures: Iterable[Failure | None]) -> StepOutcome:
    """Classify a step from the failure (or ``None``) of each of its tool calls."""
    outcomes = list(tool_failures)
    if not outcomes:
        return StepOutcome("text_only")
    failures = tuple(f for f in outcomes if f is not None)
    return StepOutcome("failed", failures) if failures else StepOutcome("clean")


_CORRECTION_PHRASES = (
    "that's wrong",
    "that is wrong",
    "that's not right",
    "that is not right",
    "that's incorrect",
    "that doesn't work",
    "that does not work",
    "it doesn't work",
    "this doesn't work",
    "try again",
    "not what i asked",
    "this is broken",
    "that's broken",
    "still wrong",
    "still broken",
)
_CORRECTION_START = re.compile(
    # "No. of rows…" / "No. 5" are the abbreviation of "number", not a "no"
    r"^\s*(no\s*,|no\s*[.!](?!\s*(?:of\b|\d))|nope\b|wrong\b|incorrect\b)"
)
#: whole words only ("country again", "try against" are not "try again"), and "broken
#: down / out / up / into" is how data is split, not a complaint
_CORRECTION_PHRASE = re.compile(
    r"(?<!\w)(?:" + "|".join(re.escape(p) for p in _CORRECTION_PHRASES) + r")(?!\w)"
    r"(?!(?<=broken)\s(?:down|out|up|into)\b)"
)


def normalise_prompt(text: str) -> str:
    """Lower case, curly apostrophes made straight, whitespace collapsed."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    return " ".join(text.split())


def is_user_correction(prompt: str) -> bool:
    """True when the user's new prompt says the last answer was wrong.

    Goose scanned the assistant's own text for these phrases; we scan the user's prompt,
    which is where a judgement of the answer actually is.
    """
    text = normalise_prompt(prompt)
    return bool(_CORRECTION_START.match(text) or _CORRECTION_PHRASE.search(text))
