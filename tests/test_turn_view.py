"""The streamed view of a turn: throttled updates, and a final render that is complete."""

from __future__ import annotations

from IPython.testing.globalipapp import start_ipython
from IPython.utils.capture import capture_output

from goose_nb.display.turn import MAX_UPDATES_PER_SECOND, TurnView
from goose_nb.events import (
    AnswerDelta,
    StepFinished,
    StepRestarted,
    StepStarted,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
)
from goose_nb.messages import ModelRef, ToolCall, ToolResult, Usage

MODEL = ModelRef(provider="openai", model="gpt-test")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_two_thousand_deltas_make_a_few_dozen_updates():
    start_ipython()
    clock = FakeClock()
    with capture_output() as captured:
        view = TurnView(live=True, clock=clock)
        view(StepStarted(1, 1, MODEL))
        for _ in range(2000):
            clock.now += 0.001  # 2,000 tokens over two seconds
            view(AnswerDelta(1, 1, "tok "))
        view(StepFinished(1, 1, MODEL, Usage(input_tokens=5, output_tokens=2000)))
        view(TurnFinished(1, "ok", 1, Usage(input_tokens=5, output_tokens=2000), 2.0))
    updates = len(captured.outputs)
    assert updates <= 2 * MAX_UPDATES_PER_SECOND + 4
    final = captured.outputs[-1].data
    assert final["text/plain"].count("tok ") == 2000
    assert "5 in / 2,000 out tokens" in final["text/plain"]


def test_the_first_words_show_at_once_and_held_back_text_is_flushed_by_a_timer():
    """A model that sends a few words and then pauses must not leave them hidden: the first
    text of a step renders at once, and text the rate limit held back renders when the
    interval ends, without waiting for another chunk."""
    start_ipython()
    clock = FakeClock()
    timers: list[tuple[float, object]] = []
    with capture_output() as captured:
        view = TurnView(live=True, clock=clock, schedule=lambda delay, fn: timers.append(
            (delay, fn)))
        view(StepStarted(1, 1, MODEL))
        clock.now += 0.001
        view(AnswerDelta(1, 1, "Hello"))  # within the interval of the header's render
        assert "Hello" in captured.outputs[-1].data["text/plain"]
        shown = len(captured.outputs)
        clock.now += 0.001
        view(AnswerDelta(1, 1, " there"))
        view(AnswerDelta(1, 1, ", friend"))
        assert len(captured.outputs) == shown  # held back by the rate limit
        assert len(timers) == 1  # one trailing render set, not one per chunk
        delay, flush = timers[0]
        assert 0 < delay <= 1 / MAX_UPDATES_PER_SECOND
        clock.now += delay
        flush()  # the model is still silent: the timer renders what was held back
        assert "Hello there, friend" in captured.outputs[-1].data["text/plain"]
        flushed = len(captured.outputs)
        flush()  # nothing new: a second call renders nothing
        assert len(captured.outputs) == flushed


def test_a_restarted_step_drops_its_partial_text():
    start_ipython()
    with capture_output() as captured:
        view = TurnView(live=False)
        view(StepStarted(1, 1, MODEL, role="worker"))
        view(AnswerDelta(1, 1, "half an ans"))
        view(StepRestarted(1, 1, "openai answered 503"))
        view(AnswerDelta(1, 1, "the whole answer"))
        view(StepFinished(1, 1, MODEL, Usage()))
        view(TurnFinished(1, "ok", 1, Usage(), 0.5))
    assert len(captured.outputs) == 1  # not live: one complete render at the end
    plain = captured.outputs[0].data["text/plain"]
    assert "half an ans" not in plain
    assert "the whole answer" in plain
    assert plain.startswith("[WORKER · openai/gpt-test]")
    assert "1 retry" in plain


def test_interrupted_and_failed_turns_say_so():
    start_ipython()
    with capture_output() as captured:
        view = TurnView(live=False)
        view(StepStarted(1, 1, MODEL))
        view(AnswerDelta(1, 1, "some"))
        view(TurnFinished(1, "interrupted", 1, Usage(), 0.2))
    assert "interrupted · 1 step" in captured.outputs[0].data["text/plain"]
    with capture_output() as captured:
        view = TurnView(live=False)
        view(TurnFinished(2, "error", 0, Usage(), 0.0, "no model"))
    assert captured.outputs == []  # nothing to show: the error line says it all


def _displays(outputs) -> dict[str, list[str]]:
    """Display id -> the plain texts it was shown with, in order."""
    shown: dict[str, list[str]] = {}
    for output in outputs:
        shown.setdefault(output.transient["display_id"], []).append(output.data["text/plain"])
    return shown


def test_a_long_answer_is_sent_in_finished_paragraphs_and_only_its_tail_is_updated():
    """Bytes sent must grow with the answer, not with its square: finished paragraphs go
    into displays of their own that are never updated again, and never inside a code
    block."""
    start_ipython()
    clock = FakeClock()
    paragraphs = [f"Paragraph {i}: " + "word " * 60 for i in range(40)]
    code = "```python\n" + "\n\n".join(f"x{i} = {i}" for i in range(200)) + "\n```"
    answer = "\n\n".join([*paragraphs[:20], code, *paragraphs[20:]])
    with capture_output() as captured:
        view = TurnView(live=True, clock=clock)
        view(StepStarted(1, 1, MODEL))
        for start in range(0, len(answer), 40):
            clock.now += 0.01
            view(AnswerDelta(1, 1, answer[start:start + 40]))
        view(StepFinished(1, 1, MODEL, Usage(input_tokens=5, output_tokens=900)))
        view(TurnFinished(1, "ok", 1, Usage(input_tokens=5, output_tokens=900), 4.0))
    displays = _displays(captured.outputs)
    assert len(displays) > 5
    finals = [texts[-1] for texts in displays.values()]
    joined = "\n".join(finals)
    assert all(p in joined for p in paragraphs) and code in joined  # nothing lost
    assert sum(f.count("```") for f in finals[:-1]) % 2 == 0  # no block cut in two
    assert next(f for f in finals if "x0 = 0" in f).count("```python") == 1
    assert joined.count("[openai/gpt-test]") == 1  # the step's header once, at its start
    assert "5 in / 900 out tokens" in finals[-1]  # the footer in the last display
    sent = sum(len(o.data["text/plain"]) for o in captured.outputs)
    assert sent < 6 * len(answer)  # sent once each, plus the tail's updates


def test_a_retried_step_empties_the_displays_its_discarded_text_was_frozen_into():
    start_ipython()
    clock = FakeClock()
    partial = "\n\n".join(f"Draft {i}: " + "word " * 80 for i in range(12))
    with capture_output() as captured:
        view = TurnView(live=True, clock=clock)
        view(StepStarted(1, 1, MODEL))
        for start in range(0, len(partial), 50):
            clock.now += 0.01
            view(AnswerDelta(1, 1, partial[start:start + 50]))
        view(StepRestarted(1, 1, "timeout"))
        view(AnswerDelta(1, 1, "The real answer."))
        view(StepFinished(1, 1, MODEL, Usage(input_tokens=5, output_tokens=4)))
        view(TurnFinished(1, "ok", 1, Usage(input_tokens=5, output_tokens=4), 1.0))
    finals = [texts[-1] for texts in _displays(captured.outputs).values()]
    assert len(finals) > 1 and "Draft" not in "".join(finals)
    assert [f for f in finals if f] == [finals[-1]]
    assert "The real answer." in finals[-1] and "[openai/gpt-test]" in finals[-1]


def test_a_step_is_shown_above_what_its_tool_displays_however_fast_events_come():
    """Each step after the first opens its display lazily (a render costs a kernel's main
    thread milliseconds), but always before its tool runs: what the tool displays must
    come below the step that ran it, on every run."""
    start_ipython()
    from IPython.display import display

    clock = FakeClock()  # never advances: every render but the forced ones is held back
    call = ToolCall(id="c1", name="python", arguments={"code": "df"})
    with capture_output() as captured:
        view = TurnView(live=True, clock=clock)
        view(StepStarted(1, 1, MODEL))
        view(AnswerDelta(1, 1, "Looking."))
        view(StepFinished(1, 1, MODEL, Usage()))
        view(StepStarted(1, 2, MODEL))
        view(ToolCallStarted(1, 2, call))
        display("WHAT THE TOOL SHOWED")  # the tool runs now, on the main thread
        view(ToolCallFinished(1, 2, call, ToolResult(tool_call_id="c1", name="python",
                                                     content="ok"), None, 0.01))
        view(StepFinished(1, 2, MODEL, Usage()))
        view(StepStarted(1, 3, MODEL))
        view(AnswerDelta(1, 3, "Done."))
        view(TurnFinished(1, "ok", 3, Usage(), 1.0))
    order = list(dict.fromkeys(o.transient["display_id"] if o.transient else "tool"
                               for o in captured.outputs))
    finals = {o.transient["display_id"] if o.transient else "tool": o.data["text/plain"]
              for o in captured.outputs}
    shown = [finals[key] for key in order]
    assert len(shown) == 4 and shown[2] == "'WHAT THE TOOL SHOWED'"
    assert "Looking." in shown[0] and "python" in shown[1] and "Done." in shown[3]
    # each step's header once, in its own display: never repeated at the end of the one before
    assert [part.count("[openai/gpt-test]") for part in shown] == [1, 1, 0, 1]
