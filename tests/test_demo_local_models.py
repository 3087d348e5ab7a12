"""notebooks/local_models.ipynb replays, offline, a session the live suite recorded from a
real llama.cpp server: it must read like that session (the recorded provider in the
headers, token counts "not reported", the limit notice) and give the same outputs on every
run."""

from __future__ import annotations

import nbformat
import pytest
import yaml
from notebook_checks import (
    API_KEY,
    NOTEBOOKS,
    assert_no_errors,
    cell_for,
    masked,
    run_offline,
    shown,
)


@pytest.fixture(scope="module")
def runs() -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    return run_offline("local_models"), run_offline("local_models")


def test_the_cassette_was_recorded_not_written() -> None:
    cassette = yaml.safe_load((NOTEBOOKS / "cassettes" / "local_models.yaml").read_text())
    assert cassette["scripted"] is False
    calls = cassette["interactions"]
    assert {call["request"]["provider"] for call in calls} == {"openai"}
    assert all(call["response"]["usage"]["unreported"] == 1 for call in calls)


def test_the_replay_reads_like_the_recorded_session(runs) -> None:
    notebook, _ = runs
    assert_no_errors(notebook)
    turns = [shown(c) for c in notebook.cells
             if c.cell_type == "code" and c.source.startswith("%%goose")]
    assert len(turns) == 3
    for turn in turns:
        assert "`openai/smollm2`" in turn and "replay" not in turn
        assert "tokens not reported" in turn and "0 in / 0 out" not in turn
    cut = shown(cell_for(notebook, "%%goose\nName two things"))
    assert "The answer stopped at the output limit of 64 tokens" in cut
    usage = shown(cell_for(notebook, "%goose usage"))
    assert "Token counts not reported by openai/smollm2" in usage
    assert "replay/" not in usage  # no model is priced under the replay provider's name


def test_the_replay_leaks_no_key_and_is_the_same_every_run(runs) -> None:
    first, second = runs
    for notebook in runs:
        assert not API_KEY.search(nbformat.writes(notebook))
    assert masked(first) == masked(second)
