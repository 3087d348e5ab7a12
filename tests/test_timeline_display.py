"""``%goose timeline`` in a kernel: a display that later turns update, the newest few only."""

from __future__ import annotations

from IPython.testing.globalipapp import start_ipython
from IPython.utils.capture import capture_output
from model_server import ModelServer, openai_reply

from goose_nb.display.timeline import LIVE_TIMELINES, show_timeline


def test_later_turns_update_only_the_newest_timeline_displays(make_session, tmp_path,
                                                             monkeypatch):
    start_ipython()
    monkeypatch.chdir(tmp_path)
    with ModelServer() as server:
        session = make_session(server, "openai", GOOSE_MODEL="gpt-4o-mini")
        listening = len(session._listeners)
        with capture_output() as captured:
            for _ in range(LIVE_TIMELINES + 2):
                show_timeline(session)
            shown = len(captured.outputs)
            server.queue(openai_reply("Hi."))
            session.ask("Hello?")
        assert len(session._listeners) == listening + LIVE_TIMELINES
        updates = captured.outputs[shown:]
        assert len(updates) == LIVE_TIMELINES
        assert all("| 1 |" in u.data["text/markdown"] and "Hello?" in u.data["text/markdown"]
                   for u in updates)  # each shows the turn just finished
