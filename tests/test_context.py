"""The system prompt, .goosehints, and keeping requests inside the context window."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from goose_nb.context import (
    CONTEXT_BUDGET,
    DEFAULT_CONTEXT_LIMIT,
    build_system_prompt,
    context_limit,
    digest_turn,
    estimate_tokens,
    fit_context,
    load_hints,
    shorten_results,
    split_turns,
)
from goose_nb.messages import Message, ToolCall, ToolResult
from goose_nb.tools import BUILTIN_TOOLS

SPECS = [tool.spec() for tool in BUILTIN_TOOLS]
REMOVED = "[output removed to fit the context window]"

# ================================================================ hints


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    home, cwd = tmp_path / "home", tmp_path / "project"
    (home / ".config" / "goose").mkdir(parents=True)
    cwd.mkdir()
    return cwd, home


def test_hints_from_home_then_folder(dirs: tuple[Path, Path]) -> None:
    cwd, home = dirs
    (home / ".config" / "goose" / ".goosehints").write_text("Use British spelling.\n")
    (cwd / ".goosehints").write_text("\nThe data is in data/sales.csv.\n")
    assert load_hints(cwd, home) == "Use British spelling.\n\nThe data is in data/sales.csv."


def test_hints_are_read_again_only_when_the_file_changes(dirs: tuple[Path, Path]) -> None:
    """Every step builds the system prompt: a hints file is read once, then only a changed
    modification time or size brings the new text in."""
    cwd, home = dirs
    hints = cwd / ".goosehints"
    hints.write_text("first")
    assert load_hints(cwd, home) == "first"
    stamp = hints.stat().st_mtime_ns
    hints.write_text("FIRST")  # same size, and the old modification time put back:
    os.utime(hints, ns=(stamp, stamp))
    assert load_hints(cwd, home) == "first"  # so the file was not read again
    hints.write_text("second, longer")
    assert load_hints(cwd, home) == "second, longer"
    hints.unlink()
    assert load_hints(cwd, home) == ""


def test_hints_from_one_place_only(dirs: tuple[Path, Path]) -> None:
    cwd, home = dirs
    (cwd / ".goosehints").write_text("folder hint")
    assert load_hints(cwd, home) == "folder hint"
    (cwd / ".goosehints").unlink()
    (home / ".config" / "goose" / ".goosehints").write_text("home hint")
    assert load_hints(cwd, home) == "home hint"


def test_missing_empty_or_unreadable_hints_are_fine(dirs: tuple[Path, Path]) -> None:
    cwd, home = dirs
    assert load_hints(cwd, home) == ""
    assert load_hints(cwd / "no-such-folder", home / "nobody") == ""
    (cwd / ".goosehints").write_text("  \n\n")
    (home / ".config" / "goose" / ".goosehints").write_bytes(b"\xff\xfe not utf-8")
    assert load_hints(cwd, home) == ""


# ================================================================ system prompt


def test_system_prompt_lists_the_tools() -> None:
    prompt = build_system_prompt(SPECS)
    for spec in SPECS:
        assert f"- {spec.name}: {spec.description}" in prompt
    assert "No tools are available" not in prompt


def test_system_prompt_in_chat_mode_says_there_are_no_tools() -> None:
    prompt = build_system_prompt([])
    assert "No tools are available" in prompt
    assert "Your tools:" not in prompt
    assert "- shell:" not in prompt


def test_system_prompt_includes_hints_and_digest() -> None:
    digest = "- asked: 'load sales'; answered: 'loaded 5 rows'"
    prompt = build_system_prompt(SPECS, hints="Plots use seaborn.", digest=digest)
    assert "Plots use seaborn." in prompt
    assert digest in prompt
    assert prompt.index("Your tools:") < prompt.index("Plots use seaborn.") < prompt.index(digest)
    plain = build_system_prompt(SPECS)
    assert ".goosehints" not in plain and "trimmed" not in plain


# ================================================================ limits


@pytest.mark.parametrize(
    ("model", "limit"),
    [
        ("gpt-4o-mini", 128_000),
        ("gpt-4o", 128_000),
        ("gpt-4.1", 1_047_576),
        ("gpt-4.1-mini", 1_047_576),
        ("gpt-4", 8_192),
        ("claude-sonnet-4-20250514", 200_000),
        ("claude-3-5-haiku-latest", 200_000),
        ("qwen3", 40_960),
        ("qwen3:8b", 40_960),
        ("Qwen2.5-Coder", 32_768),
        ("llama3.2:3b", 128_000),
        ("llama3", 8_192),
        ("openai/gpt-4o", 128_000),
        ("openrouter/anthropic/claude-opus-4", 200_000),
        ("my-finetune", DEFAULT_CONTEXT_LIMIT),
        ("", DEFAULT_CONTEXT_LIMIT),
    ],
)
def test_context_limit_of_known_models(model: str, limit: int) -> None:
    assert context_limit(model) == limit


def test_unknown_models_get_128k() -> None:
    assert DEFAULT_CONTEXT_LIMIT == 128_000


def test_a_configured_limit_wins() -> None:
    assert context_limit("gpt-4.1", 32_000) == 32_000
    assert context_limit("unknown-model", 5_000) == 5_000
    assert context_limit("gpt-4.1", None) == 1_047_576


# ================================================================ estimate


def test_estimate_tokens_grows_with_every_part() -> None:
    base = estimate_tokens("system", [Message.user("hi")], [])
    assert base > 0
    assert estimate_tokens("system" * 100, [Message.user("hi")], []) > base
    assert estimate_tokens("system", [Message.user("hi" * 100)], []) > base
    assert estimate_tokens("system", [Message.user("hi")], SPECS) > base
    code_call = ToolCall(id="1", name="python", arguments={"code": "x" * 400})
    with_call = Message(role="assistant", tool_calls=(code_call,))
    assert estimate_tokens("system", [Message.user("hi"), with_call], []) > base + 100
    with_result = Message(role="tool",
                          tool_results=(ToolResult(tool_call_id="1", content="y" * 400),))
    assert estimate_tokens("system", [Message.user("hi"), with_result], []) > base + 100


def test_estimate_tokens_is_conservative() -> None:
    # an English sentence is about 4 characters per token; the estimate must not be lower
    text = "The quick brown fox jumps over the lazy dog. " * 100
    assert estimate_tokens("", [Message.user(text)], []) >= len(text) / 4


# ================================================================ fitting


def tool_turn(index: int, size: int) -> list[Message]:
    """One turn: a prompt, a tool call, its (big) result, an answer."""
    call_id = f"call_{index}"
    return [
        Message.user(f"question {index}"),
        Message(role="assistant", text="",
                tool_calls=(ToolCall(id=call_id, name="python", arguments={"code": "df"}),)),
        Message(role="tool", tool_results=(
            ToolResult(tool_call_id=call_id, name="python", content=f"{index}:" + "r" * size),)),
        Message(role="assistant", text=f"answer {index}"),
    ]


def history_of(turns: int, size: int) -> list[Message]:
    return [message for index in range(turns) for message in tool_turn(index, size)]


def test_split_turns_starts_each_turn_at_a_user_message() -> None:
    history = history_of(3, 10)
    turns = split_turns(history)
    assert [len(turn) for turn in turns] == [4, 4, 4]
    assert all(turn[0].role == "user" for turn in turns)
    assert [m for turn in turns for m in turn] == history
    assert split_turns([]) == []


def test_digest_turn() -> None:
    line = digest_turn(tool_turn(7, 50))
    assert line == "- asked: 'question 7'; answered: 'answer 7'"
    assert "no text answer" in digest_turn(tool_turn(1, 5)[:3])
    long = digest_turn([Message.user("word " * 200), Message(role="assistant", text="ok")])
    assert len(long) < 200 + 100


def test_a_history_that_fits_is_left_alone() -> None:
    history = history_of(3, 100)
    turn = [Message.user("now plot it")]
    trimmed = fit_context(system="sys", history=history, turn_messages=turn, tools=SPECS,
                          limit=100_000)
    assert trimmed.history == history
    assert trimmed.turn_messages == turn
    assert trimmed.dropped_turns == []
    assert trimmed.shortened_results == 0
    assert trimmed.tokens == estimate_tokens("sys", [*history, *turn], SPECS)
    assert trimmed.limit == 100_000


def test_oldest_whole_turns_are_dropped_first() -> None:
    history = history_of(10, 3_500)  # about 1,000 tokens a turn
    turn = [Message.user("and the median?")]
    limit = 5_000  # a budget of 4,000 tokens: room for about three turns
    trimmed = fit_context(system="sys", history=history, turn_messages=turn, tools=[],
                          limit=limit)
    budget = limit * CONTEXT_BUDGET
    assert trimmed.tokens <= budget
    assert trimmed.tokens == estimate_tokens("sys", [*trimmed.history, *turn], [])
    kept = split_turns(trimmed.history)
    assert 1 <= len(kept) < 10
    # the newest turns are kept, whole and in order; the oldest are the dropped ones
    assert trimmed.history == history[-4 * len(kept):]
    assert trimmed.history[0].role == "user"
    assert [t[0].text for t in trimmed.dropped_turns] == [
        f"question {i}" for i in range(10 - len(kept))]
    assert [m for t in trimmed.dropped_turns for m in t] + trimmed.history == history
    # dropping one turn fewer would not have fitted
    one_more = [*trimmed.dropped_turns[-1], *trimmed.history]
    assert estimate_tokens("sys", [*one_more, *turn], []) > budget
    assert trimmed.turn_messages == turn
    assert trimmed.shortened_results == 0


def test_a_kept_history_never_starts_inside_a_turn() -> None:
    # turns of uneven size: cutting by messages rather than turns would start at a result
    history = []
    for index, size in enumerate([200, 9_000, 300, 6_000, 100, 4_000]):
        history += tool_turn(index, size)
    for limit in range(1_000, 12_000, 500):
        trimmed = fit_context(system="", history=history, turn_messages=[], tools=[],
                              limit=limit)
        if trimmed.history:
            assert trimmed.history[0].role == "user", limit
            assert trimmed.history == history[len(history) - len(trimmed.history):]


def test_this_turns_older_tool_results_are_shortened_when_still_too_big() -> None:
    history = history_of(3, 1_000)
    turn = [
        Message.user("explore the data"),
        *tool_turn(100, 10_000)[1:3],
        *tool_turn(101, 10_000)[1:3],
        *tool_turn(102, 500)[1:3],
    ]
    trimmed = fit_context(system="sys", history=history, turn_messages=turn, tools=SPECS,
                          limit=5_000)
    assert trimmed.history == []
    assert len(trimmed.dropped_turns) == 3
    assert trimmed.shortened_results == 2
    results = [m.tool_results[0].content for m in trimmed.turn_messages if m.role == "tool"]
    assert results[:2] == [REMOVED, REMOVED]
    assert results[2] == "102:" + "r" * 500  # the newest result is kept
    assert [m.role for m in trimmed.turn_messages] == [m.role for m in turn]
    assert trimmed.tokens == estimate_tokens("sys", trimmed.turn_messages, SPECS)
    assert trimmed.tokens <= 5_000 * CONTEXT_BUDGET


def test_what_cannot_fit_is_reported_not_hidden() -> None:
    turn = [Message.user("x" * 50_000)]
    trimmed = fit_context(system="", history=history_of(2, 10), turn_messages=turn, tools=[],
                          limit=1_000)
    assert trimmed.tokens > 1_000 * CONTEXT_BUDGET  # the caller must see it does not fit
    assert trimmed.history == []
    assert trimmed.turn_messages == turn


def test_shorten_results_keeps_the_newest_and_ids() -> None:
    messages = [*tool_turn(1, 50), *tool_turn(2, 50)[1:]]
    shortened, count = shorten_results(messages)
    assert count == 1
    tools = [m for m in shortened if m.role == "tool"]
    assert tools[0].tool_results[0].content == REMOVED
    assert tools[0].tool_results[0].tool_call_id == "call_1"
    assert tools[1].tool_results[0].content.startswith("2:")
    assert [m.text for m in shortened if m.role != "tool"] == [
        m.text for m in messages if m.role != "tool"]
    assert shorten_results([Message.user("hi")]) == ([Message.user("hi")], 0)
