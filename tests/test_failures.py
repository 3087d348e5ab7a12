"""What counts as a failed step and as a user correction (behaviour.md §2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goose_nb.failures import (
    Failure,
    StepOutcome,
    classify_step,
    is_user_correction,
    normalise_prompt,
)

# ---------------------------------------------------------------- steps


def test_a_step_without_tool_calls_is_text_only() -> None:
    outcome = classify_step([])
    assert outcome == StepOutcome("text_only")
    assert not outcome.failed
    assert outcome.failures == ()


def test_a_step_whose_tools_all_succeeded_is_clean() -> None:
    outcome = classify_step([None, None, None])
    assert outcome.kind == "clean"
    assert not outcome.failed
    assert outcome.failures == ()


def test_one_failed_tool_call_fails_the_step_and_is_listed() -> None:
    error = Failure("python_error", "ZeroDivisionError")
    outcome = classify_step([None, error, None])
    assert outcome.kind == "failed"
    assert outcome.failed
    assert outcome.failures == (error,)


def test_every_failure_of_a_step_is_listed_in_order() -> None:
    first = Failure("unknown_tool", "plot")
    second = Failure("shell_error", "exit status 127")
    outcome = classify_step(iter([first, None, second]))  # any iterable, read once
    assert outcome.failures == (first, second)


def test_failure_text_shows_kind_and_detail() -> None:
    assert str(Failure("shell_error", "exit status 2")) == "shell_error (exit status 2)"
    assert str(Failure("tool_error")) == "tool_error"


# ---------------------------------------------------------------- corrections

CORRECTIONS = [
    # every phrase behaviour.md §2 names
    "that's wrong",
    "that's not right",
    "that doesn't work",
    "try again",
    "not what I asked",
    "this is broken",
    "no, use the median",
    "wrong column",
    "incorrect",
    # curly apostrophes, as macOS and phones type them
    "that’s wrong",
    "that’s not right",
    "that doesn’t work",
    "that‘s wrong",
    # any case
    "THAT'S WRONG",
    "Try Again",
    "Not What I Asked",
    "THIS IS BROKEN",
    "No, the other file",
    "WRONG!",
    "Incorrect: the mean is 4.2",
    # surrounded by other text, over lines, with extra spaces
    "Hmm, that's wrong. The total should be 42.",
    "The chart is empty.\nThat doesn’t work — try again with the price column.",
    "that's   not\n right",
    "please try again",
    "this is not what I asked for",
    "ok so this is broken now.",
    "  no , I meant the second sheet",
    "no. use the median",
    "Nope, still the old values",
    "wrong: it should be grouped by month",
    "still wrong",
    "No, still wrong",  # behaviour.md's worked example
    "that's wrong, try again",
]

NOT_CORRECTIONS = [
    "now plot the column",
    "know your data: describe df",
    # "no" that is not a judgement of the answer: not followed by a comma or a stop
    "no need to plot, just print the mean",
    "None of the rows should be dropped",
    "normalise the prices",
    # "wrong" / "incorrect" as part of another word, or not at the start
    "wrongly labelled axis? fix it",
    "incorrectly parsed dates: parse them with dayfirst=True",
    "show the rows with a wrong postcode",
    "flag incorrect entries in the table",
    # the phrases' words inside other words
    "Now do the same per country again",
    "Add the entry again",
    "now try against the validation set",
    # "broken down" is how data is split
    "show how this is broken down by region",
    "this is broken out by month in the second sheet",
    # "No." as the abbreviation of "number"
    "No. of rows with a missing price?",
    "No. 5 in the list: what is its price?",
    "what is the right answer to question 3?",
    "",
    "   ",
]


@pytest.mark.parametrize("prompt", CORRECTIONS)
def test_corrections_are_recognised(prompt: str) -> None:
    assert is_user_correction(prompt), prompt


@pytest.mark.parametrize("prompt", NOT_CORRECTIONS)
def test_other_prompts_are_not_corrections(prompt: str) -> None:
    assert not is_user_correction(prompt), prompt


def test_normalise_prompt() -> None:
    assert normalise_prompt("  That’S\tNOT \n right ") == "that's not right"
    assert normalise_prompt("‘quoted’") == "'quoted'"


# ---------------------------------------------------------------- property

_WORDS = [
    "that's", "that’s", "wrong", "not", "right", "try", "again", "no,", "No.", "what",
    "I", "asked", "this", "is", "broken", "down", "doesn't", "work", "plot", "the",
    "mean", "incorrect", "country", "now", "still", "of", "5", "column", "it",
]


def _restyle(text: str, upper: list[bool], curly: list[bool]) -> str:
    """The same prompt typed differently: other letter case, other apostrophes."""
    out = []
    for i, char in enumerate(text):
        if char in "'’‘":
            char = "’" if curly[i % len(curly)] else "'"
        elif char.isascii() and char.isalpha():
            char = char.upper() if upper[i % len(upper)] else char.lower()
        out.append(char)
    return "".join(out)


@given(
    words=st.lists(st.sampled_from(_WORDS), max_size=12),
    separators=st.lists(st.sampled_from([" ", "  ", "\n", " \t"]), min_size=1, max_size=5),
    upper=st.lists(st.booleans(), min_size=1, max_size=20),
    curly=st.lists(st.booleans(), min_size=1, max_size=5),
)
def test_case_spacing_and_apostrophe_style_never_change_the_verdict(
    words: list[str], separators: list[str], upper: list[bool], curly: list[bool]
) -> None:
    plain = " ".join(words)
    typed = "".join(w + separators[i % len(separators)] for i, w in enumerate(words))
    assert is_user_correction(_restyle(typed, upper, curly)) == is_user_correction(plain)


@given(
    before=st.lists(st.sampled_from(["ok", "hmm,", "the", "plot", "42", "."]), max_size=4),
    phrase=st.sampled_from(["that's wrong", "that doesn't work", "try again",
                            "not what I asked", "this is broken", "that’s not right"]),
    after=st.lists(st.sampled_from(["please", "the", "mean", "!", "thanks"]), max_size=4),
)
def test_a_correction_phrase_counts_wherever_it_is(
    before: list[str], phrase: str, after: list[str]
) -> None:
    assert is_user_correction(" ".join([*before, phrase, *after]))
