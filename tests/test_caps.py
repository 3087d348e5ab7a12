"""Caps on what a server or a file can make goose_nb hold: an answer past
GOOSE_NB_MAX_ANSWER_CHARS is cut and not read further, a cell shows at most
MAX_SHOWN_CHARS of a step, and an oversized config.yaml is refused by its size."""

from __future__ import annotations

import time

import pytest
from IPython.testing.globalipapp import start_ipython
from IPython.utils.capture import capture_output
from model_server import openai_reply

from goose_nb.config import MAX_CONFIG_BYTES, ConfigError
from goose_nb.display.turn import MAX_SHOWN_CHARS, TurnView
from goose_nb.events import AnswerDelta, Notice, StepFinished, StepStarted, TurnFinished
from goose_nb.messages import ModelRef, Usage
from goose_nb.session import Session

MODEL = ModelRef(provider="openai", model="gpt-test")


def test_an_answer_past_the_cap_is_cut_there_and_not_read_further(model_server,
                                                                   make_session):
    session = make_session(model_server, GOOSE_NB_MAX_ANSWER_CHARS="5000")
    events: list = []
    session.subscribe(events.append)
    # 400 pieces of 100 characters, 5 ms apart: about 2 s to send whole
    slow = openai_reply("x" * 40_000, pieces=400)
    slow.chunk_delay = 0.005
    model_server.queue(slow, openai_reply("small and whole"))
    began = time.perf_counter()
    record = session.ask("write a lot")
    cut_seconds = time.perf_counter() - began
    assert record.status == "ok"
    assert record.answer == "x" * 5000
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert any("cut there" in n and "GOOSE_NB_MAX_ANSWER_CHARS" in n for n in notices)
    # the cut answer stopped the reading: its turn took a fraction of the 2 s stream
    assert cut_seconds < 0.5 * (400 * 0.005)
    assert session.ask("and now a short one").answer == "small and whole"


def test_a_cell_shows_at_most_the_cap_of_a_step_and_says_where_the_rest_is():
    start_ipython()
    with capture_output() as captured:
        view = TurnView(live=False)
        view(StepStarted(1, 1, MODEL, role=None))
        for _ in range(30):
            view(AnswerDelta(1, 1, "y" * 5000 + "\n\n"))
        view(StepFinished(1, 1, MODEL, Usage()))
        view(TurnFinished(1, "ok", 1, Usage(), 0.5))
    shown = "".join(o.data["text/plain"] for o in captured.outputs)
    # 100,000 characters of the answer shown, its blank lines among them
    assert MAX_SHOWN_CHARS - 2 * 20 <= shown.count("y") <= MAX_SHOWN_CHARS
    hidden = 30 * 5002 - MAX_SHOWN_CHARS
    assert f"{hidden:,} more characters" in shown
    assert "current_session().turns[-1].answer" in shown


def test_an_oversized_config_file_is_refused_without_being_parsed(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("GOOSE_MODEL: gpt-test\n" + "# padding\n" * (MAX_CONFIG_BYTES // 10))
    session = Session(environ={}, config_path=config)
    with pytest.raises(ConfigError) as raised:
        _ = session.settings
    message = str(raised.value)
    assert "more than a config file needs" in message and "GOOSE_CONFIG_PATH" in message
    assert "\n" not in message
    # the session stays usable: a smaller file is read on the next reload
    config.write_text("GOOSE_MODEL: gpt-test\n")
    session.reload()
    assert session.settings.model == "gpt-test"
