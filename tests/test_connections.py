"""One connection for a session's sequential model calls: each streamed body is read to its
end, so httpx returns the connection to its pool (against HTTPS, no TLS handshake per step)."""

from __future__ import annotations

import time

import pytest
from model_server import ModelServer, anthropic_reply, ollama_reply, openai_reply, python_call

REPLIES = {"openai": openai_reply, "anthropic": anthropic_reply, "ollama": ollama_reply}


@pytest.mark.parametrize("provider", sorted(REPLIES))
def test_sequential_steps_and_turns_reuse_one_connection(provider, model_server: ModelServer,
                                                         make_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = make_session(model_server, provider, GOOSE_MODEL="m")
    session.namespace = {}
    reply = REPLIES[provider]
    call = [("python", {"code": "x = 1"})] if provider == "ollama" else [python_call("c1", "x = 1")]
    model_server.queue(reply("", call), reply("Done."), reply("Again."))
    session.ask("Set x.")
    session.ask("And again.")
    ports = [request.client_port for request in model_server.requests]
    assert len(ports) == 3 and len(set(ports)) == 1, ports


def test_a_server_that_keeps_the_body_open_after_its_end_marker_does_not_hold_the_turn(
        model_server: ModelServer, make_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = make_session(model_server, "openai", GOOSE_MODEL="m")
    lingering = openai_reply("Finished.")
    lingering.pause_after = (len(lingering.chunks) - 1, 5.0)  # after [DONE], 5 s more
    model_server.queue(lingering)
    session.ask("Hi.")
    left_at = time.time()
    assert session.turns[-1].answer == "Finished."
    # the turn was over before the server ended the body: the client did not wait for it
    deadline = time.monotonic() + 10
    while not model_server.requests[-1].finished_at and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left_at < model_server.requests[-1].finished_at
