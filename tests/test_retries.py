"""Faults through the real server: what is retried, how long it waits, what fails at once.

Technical errors (5xx, 429, dropped or cut-off connections, Anthropic overload) are retried
as a whole step, and a partial answer is never kept; authentication and request errors fail
at once with a message that names what to fix and never contains the key. A failed turn
leaves the history as it was, and the next prompt works.
"""

from __future__ import annotations

import email.utils
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from conftest import (
    ANTHROPIC_KEY,
    OPENAI_KEY,
    closed_port_url,
    settings_for,
    simple_request,
)
from model_server import Reply, anthropic_reply, error_reply, ollama_reply, openai_reply

from goose_nb.errors import (
    AuthenticationError,
    BadRequestError,
    ProviderError,
    ProviderUnavailableError,
    TransientProviderError,
)
from goose_nb.events import AnswerDelta, StepRestarted, TurnFinished
from goose_nb.providers.http import RetryPolicy

REPLIES = {"openai": openai_reply, "anthropic": anthropic_reply, "ollama": ollama_reply}
PROVIDERS = list(REPLIES)
ANSWER = "The quick brown fox jumps over the lazy dog"
KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
KEYS = {"openai": OPENAI_KEY, "anthropic": ANTHROPIC_KEY}
HOST_ENV = {"openai": "OPENAI_HOST", "anthropic": "ANTHROPIC_HOST", "ollama": "OLLAMA_HOST"}


def listen(session) -> list:
    events: list = []
    session.subscribe(events.append)
    return events


def streamed_after_last_restart(events) -> str:
    last = max((i for i, e in enumerate(events) if isinstance(e, StepRestarted)), default=-1)
    return "".join(e.text for e in events[last + 1:] if isinstance(e, AnswerDelta))


def warm_up(session, server, provider: str) -> None:
    """One good turn, so that 'history unchanged' is checked against a non-empty history."""
    server.queue(REPLIES[provider]("warm"))
    session.ask("warm up")
    assert len(session.history) == 2


def assert_failed_cleanly(session, server, provider: str, history_before: int) -> None:
    """History as before the failed prompt; the failure is recorded; the next ask works."""
    assert len(session.history) == history_before
    assert session.turns[-1].status == "error"
    server.queue(REPLIES[provider]("recovered fine"))
    record = session.ask("try again")
    assert record.status == "ok"
    assert record.answer.strip() == "recovered fine"
    assert len(session.history) == history_before + 2


def cut(reply: Reply, after: int) -> Reply:
    reply.cut_after = after
    return reply


def without(reply: Reply, marker: bytes) -> Reply:
    """The same stream with every chunk containing ``marker`` left out (a clean close)."""
    reply.chunks = [c for c in reply.chunks if marker not in c]
    return reply


# Transient errors are retried -------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_500_then_200_succeeds(model_server, make_session, provider):
    model_server.queue(error_reply(500, "internal"), REPLIES[provider](ANSWER))
    session = make_session(model_server, provider)
    record = session.ask("hello")
    assert record.status == "ok"
    assert record.answer.strip() == ANSWER
    assert len(model_server.requests) == 2
    assert record.steps[0].retries == 1
    # a retry is not a turn
    assert len(session.turns) == 1
    assert len(session.history) == 2


@pytest.mark.parametrize("status", [408, 409, 429, 502, 503, 504, 529])
def test_retryable_statuses(model_server, run_provider, status):
    model_server.queue(error_reply(status), openai_reply("ok"))
    result = run_provider("openai", settings_for(model_server), simple_request(),
                          retry=RetryPolicy(base_delay=0.01))
    assert result.error is None
    assert result.response.text == "ok"
    assert len(model_server.requests) == 2


def test_retry_after_one_second_is_honoured(model_server, make_session):
    """The one wall-clock test: the server says wait a second, so we do."""
    model_server.queue(error_reply(429, "slow down", headers={"Retry-After": "1"}),
                       openai_reply("ok"))
    session = make_session(model_server, "openai")
    started = time.monotonic()
    record = session.ask("hello")
    elapsed = time.monotonic() - started
    assert record.answer == "ok"
    assert len(model_server.requests) == 2
    assert elapsed >= 0.9
    assert elapsed < 10


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after-ms": "250", "Retry-After": "30"}, 0.25),  # the precise one wins
    ({"Retry-After": "2"}, 2.0),
    ({"Retry-After": "3600"}, 60.0),  # capped at 60 s
])
def test_retry_after_headers_set_the_delay(model_server, run_provider, headers, expected):
    model_server.queue(error_reply(429, headers=headers), openai_reply("ok"))
    result = run_provider("openai", settings_for(model_server), simple_request(),
                          retry=RetryPolicy(base_delay=0.01))
    assert result.error is None
    assert result.sleeps == [pytest.approx(expected)]


def test_retry_after_http_date(model_server, run_provider):
    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    header = email.utils.format_datetime(when, usegmt=True)
    model_server.queue(error_reply(503, headers={"Retry-After": header}), openai_reply("ok"))
    result = run_provider("openai", settings_for(model_server), simple_request(),
                          retry=RetryPolicy(base_delay=0.01))
    assert result.error is None
    assert len(result.sleeps) == 1
    assert 20 <= result.sleeps[0] <= 31


@pytest.mark.parametrize("value", ["soon", "", "Tomorrow-ish"])
def test_unreadable_retry_after_falls_back_to_backoff(model_server, run_provider, value):
    model_server.queue(error_reply(429, headers={"Retry-After": value}), openai_reply("ok"))
    result = run_provider("openai", settings_for(model_server), simple_request(),
                          retry=RetryPolicy(base_delay=0.01))
    assert result.error is None, result.error
    assert result.response.text == "ok"
    assert len(result.sleeps) == 1
    assert 0.005 <= result.sleeps[0] <= 0.01


def test_backoff_grows_exponentially_with_jitter(model_server, run_provider):
    model_server.queue(*[error_reply(503) for _ in range(3)], openai_reply("ok"))
    result = run_provider("openai", settings_for(model_server), simple_request(),
                          retry=RetryPolicy(max_retries=3, base_delay=0.1, max_delay=0.3))
    assert result.error is None
    assert len(result.sleeps) == 3
    for delay, ceiling in zip(result.sleeps, (0.1, 0.2, 0.3), strict=True):
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize("provider", PROVIDERS)
def test_dropped_connection_is_retried(model_server, make_session, provider):
    model_server.queue(Reply(drop=True), REPLIES[provider](ANSWER))
    record = make_session(model_server, provider).ask("hello")
    assert record.answer.strip() == ANSWER
    assert len(model_server.requests) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stream_cut_off_mid_body_is_redone_without_duplicates(model_server, make_session,
                                                              provider):
    broken = cut(REPLIES[provider](ANSWER), after=4)
    model_server.queue(broken, REPLIES[provider](ANSWER))
    session = make_session(model_server, provider)
    events = listen(session)
    record = session.ask("hello")

    assert len(model_server.requests) == 2
    restart = next(i for i, e in enumerate(events) if isinstance(e, StepRestarted))
    # the broken attempt really did show partial text before it broke ...
    assert any(isinstance(e, AnswerDelta) and e.text for e in events[:restart])
    # ... and none of it survives: the answer, the history and the final stream are whole
    assert record.answer.strip() == ANSWER
    assert record.answer.count("quick") == 1
    assert session.history[-1].text.strip() == ANSWER
    assert streamed_after_last_restart(events).strip() == ANSWER
    assert record.steps[0].retries == 1


@pytest.mark.parametrize(("provider", "broken"), [
    # an OpenAI stream that closes cleanly with neither finish_reason nor [DONE]
    ("openai", lambda: without(without(openai_reply(ANSWER), b"finish_reason"), b"[DONE]")),
    # an Anthropic stream that closes cleanly before message_stop
    ("anthropic", lambda: without(anthropic_reply(ANSWER), b"message_stop")),
    # an Ollama stream that closes cleanly before the done:true line
    ("ollama", lambda: without(ollama_reply(ANSWER), b'"done": true')),
])
def test_incomplete_stream_is_redone_without_duplicates(model_server, make_session, provider,
                                                        broken):
    model_server.queue(broken(), REPLIES[provider](ANSWER))
    session = make_session(model_server, provider)
    events = listen(session)
    record = session.ask("hello")
    assert len(model_server.requests) == 2
    assert record.answer.strip() == ANSWER
    assert record.answer.count("quick") == 1
    assert streamed_after_last_restart(events).strip() == ANSWER
    assert any(isinstance(e, StepRestarted) for e in events)


def test_openai_stream_with_finish_reason_but_no_done_is_accepted(model_server, make_session):
    """finish_reason says the answer is complete; a server that omits [DONE] is tolerated."""
    model_server.queue(openai_reply(ANSWER, done=False))
    record = make_session(model_server, "openai").ask("hello")
    assert record.answer == ANSWER
    assert len(model_server.requests) == 1


def test_anthropic_overloaded_error_event_is_retried(model_server, make_session):
    good = anthropic_reply(ANSWER)
    overloaded = {"type": "error",
                  "error": {"type": "overloaded_error", "message": "Overloaded"}}
    broken = Reply(chunks=[*good.chunks[:5],
                           f"event: error\ndata: {json.dumps(overloaded)}\n\n".encode()])
    model_server.queue(broken, anthropic_reply(ANSWER))
    session = make_session(model_server, "anthropic")
    events = listen(session)
    record = session.ask("hello")
    assert len(model_server.requests) == 2
    assert record.answer == ANSWER
    assert streamed_after_last_restart(events) == ANSWER
    restarts = [e for e in events if isinstance(e, StepRestarted)]
    assert len(restarts) == 1
    assert "overloaded" in restarts[0].reason


def test_anthropic_invalid_request_error_event_is_not_retried(model_server, make_session):
    invalid = {"type": "error",
               "error": {"type": "invalid_request_error", "message": "bad things"}}
    model_server.queue(Reply(chunks=[f"event: error\ndata: {json.dumps(invalid)}\n\n".encode()]))
    session = make_session(model_server, "anthropic")
    with pytest.raises(ProviderError, match="bad things") as info:
        session.ask("hello")
    assert not isinstance(info.value, TransientProviderError)
    assert len(model_server.requests) == 1
    assert_failed_cleanly(session, model_server, "anthropic", 0)


def test_openai_error_chunk_mid_stream_is_retried(model_server, make_session):
    chunk = {"error": {"message": "The server had an error", "type": "server_error"}}
    broken = Reply(chunks=[*openai_reply(ANSWER).chunks[:2],
                           f"data: {json.dumps(chunk)}\n\n".encode()])
    model_server.queue(broken, openai_reply(ANSWER))
    record = make_session(model_server, "openai").ask("hello")
    assert record.answer == ANSWER
    assert len(model_server.requests) == 2


def test_ollama_error_line_fails_with_its_message(model_server, make_session):
    session = make_session(model_server, "ollama")
    warm_up(session, model_server, "ollama")
    model_server.queue(Reply(chunks=[b'{"error": "model \\"qwen9\\" not found"}\n'],
                             content_type="application/x-ndjson"))
    with pytest.raises(ProviderError, match="qwen9") as info:
        session.ask("hello")
    assert not isinstance(info.value, TransientProviderError)
    assert len(model_server.requests) == 2  # warm-up + one attempt
    assert_failed_cleanly(session, model_server, "ollama", 2)


def test_ollama_overloaded_error_line_is_retried(model_server, make_session):
    model_server.queue(Reply(chunks=[b'{"error": "server overloaded, try later"}\n'],
                             content_type="application/x-ndjson"),
                       ollama_reply(ANSWER))
    record = make_session(model_server, "ollama").ask("hello")
    assert record.answer.strip() == ANSWER
    assert len(model_server.requests) == 2


# Errors that are not retried ---------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_auth_error_fails_at_once_naming_the_variable(model_server, make_session, provider,
                                                      status):
    key = KEYS[provider]
    session = make_session(model_server, provider)
    warm_up(session, model_server, provider)
    events = listen(session)
    # the server echoes the key back, as real APIs partly do
    model_server.queue(error_reply(status, f"Incorrect API key provided: {key}"))
    with pytest.raises(AuthenticationError) as info:
        session.ask("hello")
    message = str(info.value)
    assert KEY_ENV[provider] in message
    assert key not in message
    assert "SECRETVALUE" not in message
    assert len(model_server.requests) == 2  # warm-up + exactly one attempt
    finished = [e for e in events if isinstance(e, TurnFinished)]
    assert finished[-1].status == "error"
    assert key not in (finished[-1].error or "")
    assert all(key not in repr(e) for e in session.events)
    assert_failed_cleanly(session, model_server, provider, 2)


@pytest.mark.parametrize("status", [400, 404, 422])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_bad_request_is_not_retried(model_server, make_session, provider, status):
    session = make_session(model_server, provider)
    warm_up(session, model_server, provider)
    model_server.queue(error_reply(status, f"model 'nope' does not exist (key {OPENAI_KEY})"))
    with pytest.raises(BadRequestError) as info:
        session.ask("hello")
    message = str(info.value)
    assert str(status) in message
    assert "model 'nope' does not exist" in message  # the server's reason is shown ...
    assert OPENAI_KEY not in message  # ... without the key
    assert "SECRETVALUE" not in message
    assert len(model_server.requests) == 2
    assert_failed_cleanly(session, model_server, provider, 2)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retries_exhausted_is_provider_unavailable(model_server, make_session, provider):
    session = make_session(model_server, provider)
    warm_up(session, model_server, provider)
    model_server.queue(*[error_reply(503, "busy") for _ in range(4)])
    with pytest.raises(ProviderUnavailableError) as info:
        session.ask("hello")
    assert "503" in str(info.value)
    assert len(model_server.requests) == 1 + 4  # warm-up + first try + 3 retries
    assert_failed_cleanly(session, model_server, provider, 2)


def test_max_retries_is_respected(model_server, run_provider):
    model_server.queue(*[error_reply(500) for _ in range(5)])
    result = run_provider("openai", settings_for(model_server), simple_request(),
                          retry=RetryPolicy(max_retries=1, base_delay=0.01))
    assert isinstance(result.error, ProviderUnavailableError)
    assert len(model_server.requests) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unreachable_host_names_the_host_variable(make_session, provider):
    url = closed_port_url()
    session = make_session(None, provider, OPENAI_HOST=url, ANTHROPIC_HOST=url, OLLAMA_HOST=url)
    with pytest.raises(ProviderUnavailableError) as info:
        session.ask("hello")
    message = str(info.value)
    assert HOST_ENV[provider] in message
    assert url in message
    assert KEYS["openai"] not in message and KEYS["anthropic"] not in message
    assert session.history == []
    assert session.turns[-1].status == "error"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unreadable_body_is_retried_then_says_what_was_sent(model_server, make_session,
                                                               provider):
    """A 200 whose stream holds a line that is not the protocol (a proxy's garbled or cut
    line) is a technical error: the step is retried as a whole, and after the retries the
    one-line error names the host variable and shows what the server sent."""
    content_type = {"openai": "text/event-stream", "anthropic": "text/event-stream",
                    "ollama": "application/x-ndjson"}[provider]
    body = b"<html>gateway says hi</html>\n"
    if provider != "ollama":
        body = b"data: <html>gateway says hi</html>\n\n"
    session = make_session(model_server, provider)
    warm_up(session, model_server, provider)
    model_server.queue(*[Reply(chunks=[body], content_type=content_type)] * 4)
    with pytest.raises(ProviderUnavailableError) as info:
        session.ask("hello")
    message = str(info.value)
    assert HOST_ENV[provider] in message and "gateway says hi" in message, message
    assert "gave up after 3 retries" in message and "\n" not in message
    assert len(model_server.requests) == 1 + 4
    assert_failed_cleanly(session, model_server, provider, 2)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unreadable_json_body_is_retried_then_a_clear_error(model_server, make_session,
                                                            provider):
    model_server.queue(*[Reply(chunks=[b"{not json"], content_type="application/json")] * 4)
    session = make_session(model_server, provider)
    with pytest.raises(ProviderError) as info:
        session.ask("hello")
    assert HOST_ENV[provider] in str(info.value) and "{not json" in str(info.value)
    assert session.history == []
    assert session.turns[-1].status == "error"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_page_that_is_not_a_model_answer_is_not_retried(model_server, make_session, provider):
    """A 200 with an HTML page (a proxy, a wrong base path) is a configuration problem:
    one request, an error naming the content type and the host variable."""
    model_server.queue(Reply(chunks=[b"<html>login</html>"], content_type="text/html"))
    session = make_session(model_server, provider)
    with pytest.raises(ProviderError) as info:
        session.ask("hello")
    assert "text/html" in str(info.value) and HOST_ENV[provider] in str(info.value)
    assert len(model_server.requests) == 1
    assert session.history == []
