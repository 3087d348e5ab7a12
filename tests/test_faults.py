"""Faults a real stream can have, through the real server, for every provider.

A stream that stays busy with keep-alives but brings no answer, a server that answers with
headers and then nothing (or never answers at all), retries that together outlast the step,
a garbled chunk, a body whose gzip encoding is broken: each ends within its configured bound
(``GOOSE_NB_STREAM_IDLE_TIMEOUT``, ``GOOSE_NB_STEP_TIMEOUT``), is retried as a whole step
where a retry can help, keeps no partial answer, never runs a tool call twice, never counts
as a lead/worker failure, and when it cannot be helped ends in one line that names what to
change; the session works on afterwards.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable

import httpx
import pytest
from model_server import (
    ModelServer,
    Reply,
    anthropic_reply,
    error_reply,
    ollama_reply,
    openai_reply,
    python_call,
)
from test_retries import (
    ANSWER,
    HOST_ENV,
    KEYS,
    PROVIDERS,
    REPLIES,
    assert_failed_cleanly,
    listen,
    streamed_after_last_restart,
    warm_up,
)

from goose_nb.errors import ProviderError, ProviderUnavailableError
from goose_nb.events import (
    AnswerDelta,
    FallbackStarted,
    StepFailed,
    StepRestarted,
    ToolCallFinished,
)
from goose_nb.providers.http import RetryPolicy
from goose_nb.session import Session

#: GOOSE_NB_STREAM_IDLE_TIMEOUT in these tests (whole seconds: the setting's smallest value)
IDLE = 1
#: one retry, quickly: a fault that lasts every attempt costs two idle timeouts, not four
ONE_RETRY = RetryPolicy(max_retries=1, base_delay=0.01)
#: how long a stalled reply stalls at most: far past every bound here, so a stall that is
#: not cut short by goose_nb shows as a test that takes 20 s and fails
STALL = 20.0
#: seconds of slack on top of a bound (thread start-up, a loaded 2-core machine)
SLACK = 3.0

#: what each protocol sends to keep a connection busy without answering
KEEP_ALIVE = {
    "openai": b": keep-alive\n\n",  # an SSE comment
    "anthropic": b'event: ping\ndata: {"type": "ping"}\n\n',  # Anthropic's own keep-alive
    "ollama": b"\n",  # a blank NDJSON line
}
#: how many chunks of REPLIES[provider](ANSWER) hold the start of the answer (some text,
#: not all of it): the point after which a mid-stream fault strikes
PARTIAL = {"openai": 3, "anthropic": 5, "ollama": 3}
#: a chunk that is not JSON (a line cut in half by a proxy), and one that is JSON but not the
#: protocol's shape
NOT_JSON = {
    "openai": b'data: {"choices": [{"delta": {"content": "GARBLED\n\n',
    "anthropic": b'event: content_block_delta\ndata: {"type": "content_block_delta", "GARBLED\n\n',
    "ollama": b'{"message": {"content": "GARBLED\n',
}
WRONG_SHAPE = {
    "openai": b'data: ["GARBLED"]\n\n',
    "anthropic": b'event: content_block_delta\ndata: ["GARBLED"]\n\n',
    "ollama": b'["GARBLED"]\n',
}


def session_for(make_session, server: ModelServer, provider: str, *,
                retry: RetryPolicy = ONE_RETRY, **env: str) -> Session:
    """A session on ``provider`` with a 1 s idle timeout and a namespace of its own."""
    session = make_session(server, provider, retry=retry,
                           GOOSE_NB_STREAM_IDLE_TIMEOUT=str(IDLE), **env)
    session.namespace = {"calls": []}
    return session


def partial(provider: str) -> Reply:
    """The start of a good answer's stream, nothing after it (the caller adds the fault)."""
    good = REPLIES[provider](ANSWER)
    good.chunks = good.chunks[:PARTIAL[provider]]
    return good


def keep_alive_only(provider: str, *, delay: float = 0.0) -> Reply:
    """Headers, then keep-alives (and nothing else) for STALL seconds."""
    return Reply(chunks=[], content_type=REPLIES[provider]().content_type, delay=delay,
                 stall=STALL, keep_alive=KEEP_ALIVE[provider])


def stalled_after_text(provider: str) -> Reply:
    """Some of the answer, then keep-alives only."""
    reply = partial(provider)
    reply.stall, reply.keep_alive = STALL, KEEP_ALIVE[provider]
    return reply


def silent_after_headers(provider: str) -> Reply:
    """Status line and headers, then not one byte more for STALL seconds."""
    return Reply(chunks=[], content_type=REPLIES[provider]().content_type, stall=STALL)


def garbled(provider: str, bad: dict[str, bytes] = NOT_JSON) -> Reply:
    """Some of the answer, then a chunk that is not this protocol."""
    reply = partial(provider)
    reply.chunks.append(bad[provider])
    return reply


def broken_gzip(provider: str, *, good_part: bool = True) -> Reply:
    """A gzip-encoded body: (the start of the answer, decodable, then) bytes that are no
    deflate block at all (0xff: block type 3, which does not exist)."""
    head = b""
    if good_part:
        compressor = zlib.compressobj(wbits=31)  # 31: the gzip container
        head = compressor.compress(b"".join(partial(provider).chunks))
        head += compressor.flush(zlib.Z_SYNC_FLUSH)
    else:
        head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"  # a gzip header and no more
    return Reply(chunks=[head, b"\xff" * 32], content_type=REPLIES[provider]().content_type,
                 headers={"content-encoding": "gzip"})


def tool_step(provider: str, code: str) -> Reply:
    """A step whose answer is one ``python`` tool call running ``code``."""
    if provider == "ollama":
        return ollama_reply("", [("python", {"code": code})])
    build = openai_reply if provider == "openai" else anthropic_reply
    return build("", [python_call("call_1", code)])


def ask_timed(session: Session, prompt: str = "hello") -> tuple[BaseException, float]:
    """Ask, expecting the turn to fail; the error and the seconds it took."""
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        session.ask(prompt)
    return info.value, time.monotonic() - started


def assert_one_clean_line(message: str) -> None:
    assert "\n" not in message
    assert KEYS["openai"] not in message and KEYS["anthropic"] not in message


def assert_partial_text_dropped(events: list, answer: str) -> None:
    """Text was streamed before the (first) restart, and none of it is in what follows."""
    restart = next(i for i, e in enumerate(events) if isinstance(e, StepRestarted))
    assert "".join(e.text for e in events[:restart] if isinstance(e, AnswerDelta)).strip()
    assert streamed_after_last_restart(events).strip() == answer


# 1. a stalled answer: keep-alives forever, headers then nothing, no answer at all --------

STALLS: dict[str, Callable[[str], Reply]] = {
    # the connection stays busy: only the idle deadline, not httpx's read timeout, ends it
    "keep-alives": keep_alive_only,
    "headers-then-silence": silent_after_headers,
    # the server reads the request and never sends a status line (httpx's read timeout)
    "no-answer": lambda provider: Reply(delay=STALL),
}


@pytest.mark.parametrize("stall", list(STALLS))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stalled_answer_ends_after_the_idle_timeout(model_server, make_session, provider,
                                                      stall):
    """The retry (after a quick 503) meets a server that stays connected and never answers:
    it ends one idle timeout later, not when the server gives up, and the one line names
    the server and the setting that bounded the wait (it was reached: no "cannot reach")."""
    session = session_for(make_session, model_server, provider)
    warm_up(session, model_server, provider)
    model_server.queue(error_reply(503, "busy"), STALLS[stall](provider))
    error, elapsed = ask_timed(session)

    assert isinstance(error, ProviderUnavailableError)
    message = str(error)
    assert model_server.url in message and "gave up after 1 retries" in message, message
    assert "GOOSE_NB_STREAM_IDLE_TIMEOUT" in message and "cannot reach" not in message
    assert_one_clean_line(message)
    assert IDLE <= elapsed < IDLE + SLACK, elapsed
    assert len(model_server.requests) == 1 + 2
    if stall == "keep-alives":  # they kept coming until goose_nb hung up
        assert len(model_server.requests[-1].chunks_sent_at) >= 4
    assert_failed_cleanly(session, model_server, provider, 2)


# 2. the step timeout ----------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_retries_past_the_step_timeout_end_the_step(model_server, make_session, provider):
    """Each attempt sends its headers after 0.3 s, then keep-alives only, so it ends one idle
    timeout later (1.3 s in all); the 2 s step timeout strikes in the middle of the second
    attempt's idle wait (at 2.0 s; that wait would end at about 2.6 s)."""
    step = 2
    session = session_for(make_session, model_server, provider,
                          retry=RetryPolicy(max_retries=3, base_delay=0.01),
                          GOOSE_NB_STEP_TIMEOUT=str(step))
    warm_up(session, model_server, provider)
    model_server.queue(keep_alive_only(provider, delay=0.3), keep_alive_only(provider, delay=0.3))
    error, elapsed = ask_timed(session)

    assert not isinstance(error, ProviderUnavailableError)
    message = str(error)
    assert "GOOSE_NB_STEP_TIMEOUT" in message and "step 1" in message, message
    assert "GOOSE_NB_STREAM_IDLE_TIMEOUT" not in message and "gave up after" not in message
    assert_one_clean_line(message)
    assert step <= elapsed < step + SLACK, elapsed
    assert len(model_server.requests) == 1 + 2
    assert session.turns[-1].steps[0].retries == 1
    assert_failed_cleanly(session, model_server, provider, 2)


# 3. garbled chunks ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [NOT_JSON, WRONG_SHAPE], ids=["not-json", "wrong-shape"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_garbled_chunk_mid_stream_is_retried(model_server, make_session, provider, bad):
    session = session_for(make_session, model_server, provider)
    events = listen(session)
    model_server.queue(garbled(provider, bad), REPLIES[provider](ANSWER))
    record = session.ask("hello")

    assert record.status == "ok"
    assert record.answer.strip() == ANSWER
    assert record.answer.count("quick") == 1
    assert session.history[-1].text.strip() == ANSWER
    assert "GARBLED" not in record.answer
    assert len(model_server.requests) == 2
    assert record.steps[0].retries == 1
    assert_partial_text_dropped(events, ANSWER)
    [restart] = [e for e in events if isinstance(e, StepRestarted)]
    assert f"not valid {provider} output" in restart.reason


@pytest.mark.parametrize("provider", PROVIDERS)
def test_garbled_on_every_attempt_says_what_the_server_sent(model_server, make_session,
                                                            provider):
    session = session_for(make_session, model_server, provider)
    warm_up(session, model_server, provider)
    model_server.queue(garbled(provider), garbled(provider))
    error, _ = ask_timed(session)

    assert isinstance(error, ProviderUnavailableError)
    message = str(error)
    assert f"not valid {provider} output" in message, message
    assert "GARBLED" in message and HOST_ENV[provider] in message, message
    assert "gave up after 1 retries" in message
    assert_one_clean_line(message)
    assert len(model_server.requests) == 1 + 2
    assert_failed_cleanly(session, model_server, provider, 2)


# 4. a broken gzip body ----------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_broken_gzip_mid_stream_is_retried(model_server, make_session, provider):
    session = session_for(make_session, model_server, provider)
    events = listen(session)
    model_server.queue(broken_gzip(provider), REPLIES[provider](ANSWER))
    record = session.ask("hello")

    assert record.status == "ok"
    assert record.answer.strip() == ANSWER
    assert record.answer.count("quick") == 1
    assert len(model_server.requests) == 2
    assert_partial_text_dropped(events, ANSWER)
    [restart] = [e for e in events if isinstance(e, StepRestarted)]
    assert "cannot be decoded" in restart.reason


@pytest.mark.parametrize("provider", PROVIDERS)
def test_broken_gzip_on_every_attempt_is_a_clear_error(model_server, make_session, provider):
    session = session_for(make_session, model_server, provider)
    warm_up(session, model_server, provider)
    model_server.queue(broken_gzip(provider, good_part=False),
                       broken_gzip(provider, good_part=False))
    error, _ = ask_timed(session)

    assert isinstance(error, ProviderUnavailableError)
    assert not isinstance(error, httpx.HTTPError)
    message = str(error)
    assert "cannot be decoded" in message and HOST_ENV[provider] in message, message
    assert "DecodingError" not in message
    assert "gave up after 1 retries" in message
    assert_one_clean_line(message)
    assert len(model_server.requests) == 1 + 2
    assert_failed_cleanly(session, model_server, provider, 2)


# 5. a fault after a tool ran ----------------------------------------------------------------


#: a fault, what the retry notice says about it (one of these), and whether it strikes
#: after some text
FAULTS: dict[str, tuple[Callable[[str], Reply], tuple[str, ...], bool]] = {
    "keep-alives": (stalled_after_text, ("GOOSE_NB_STREAM_IDLE_TIMEOUT",), True),
    "silence": (silent_after_headers, ("GOOSE_NB_STREAM_IDLE_TIMEOUT",), False),
    "no-answer": (lambda provider: Reply(delay=STALL), ("GOOSE_NB_STREAM_IDLE_TIMEOUT",), False),
    "garbled": (garbled, ("not valid",), True),
    "broken-gzip": (broken_gzip, ("cannot be decoded",), True),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_fault_after_a_tool_ran_never_runs_the_tool_twice(model_server, make_session,
                                                            provider, fault):
    """Step 1 runs a tool; step 2 meets the fault and is redone: the tool ran once, the
    redone request is the same, and no text of the broken attempt is kept."""
    build, reasons, after_text = FAULTS[fault]
    session = session_for(make_session, model_server, provider)
    events = listen(session)
    model_server.queue(tool_step(provider, "calls.append(len(calls) + 1)"),
                       build(provider), REPLIES[provider](ANSWER))
    record = session.ask("count once")

    assert record.status == "ok", record.error
    assert record.answer.strip() == ANSWER
    assert record.answer.count("quick") == 1
    assert session.namespace["calls"] == [1]
    assert len([e for e in events if isinstance(e, ToolCallFinished)]) == 1
    assert [step.retries for step in record.steps] == [0, 1]
    [restart] = [e for e in events if isinstance(e, StepRestarted)]
    assert restart.step == 2, restart
    assert any(reason in restart.reason for reason in reasons), restart.reason
    if after_text:
        assert_partial_text_dropped(events, ANSWER)
    assert streamed_after_last_restart(events).strip() == ANSWER
    assert len(model_server.requests) == 3
    # the redone step sends the same request, with the one tool call and its result
    faulty, retried = model_server.requests[1:]
    assert retried.body == faulty.body
    assert retried.body.count(b"calls.append") == 1
    assert [m.role for m in session.history] == ["user", "assistant", "tool", "assistant"]
    assert session.history[-1].text.strip() == ANSWER


# an interrupt after a redone attempt keeps the redone attempt's text only ----------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_interrupt_after_a_retry_keeps_only_the_retry_text(model_server, make_session,
                                                              provider):
    """The first attempt streams some of ANSWER, then a garbled chunk; the redone attempt
    streams the start of another answer, then stalls; the user interrupts it. What is kept
    as the interrupted answer is the redone attempt's text, none of the first's."""
    session = session_for(make_session, model_server, provider)
    redone = REPLIES[provider]("Second attempt says hello there friend")
    redone.chunks = redone.chunks[:PARTIAL[provider]]
    redone.stall, redone.keep_alive = STALL, KEEP_ALIVE[provider]
    model_server.queue(garbled(provider), redone)
    events = listen(session)  # delivered while aask waits (session.events has no deltas)

    def redone_text() -> str:
        if not any(isinstance(e, StepRestarted) for e in events):
            return ""
        return streamed_after_last_restart(events)

    async def interrupt_once_the_retry_streams() -> None:
        task = asyncio.ensure_future(session.aask("hello"))
        give_up = time.monotonic() + IDLE  # the stall would end the attempt after IDLE
        while not redone_text():
            assert not task.done() and time.monotonic() < give_up, events
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # the rest of the partial chunks (all sent at once)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupt_once_the_retry_streams())
    give_up = time.monotonic() + 5
    while not session.turns:  # the turn unwinds on the session's own loop
        assert time.monotonic() < give_up
        time.sleep(0.01)
    [record] = session.turns
    assert record.status == "interrupted"
    shown = redone_text()
    assert shown.startswith("Second") and "quick" not in shown
    assert record.answer == shown
    assert "quick" not in session.history[-1].text
    assert session.history[-1].text.startswith(shown)


# 6. technical faults are not lead/worker failures ------------------------------------------


LEAD, WORKER = "lead-m", "worker-m"


def lead_worker_session(make_session, server: ModelServer, provider: str,
                        retry: RetryPolicy = ONE_RETRY) -> Session:
    """The worker from the first turn, and one failure would be enough to fall back."""
    return session_for(make_session, server, provider, retry=retry, GOOSE_LEAD_MODEL=LEAD,
                       GOOSE_LEAD_PROVIDER=provider, GOOSE_MODEL=WORKER,
                       GOOSE_LEAD_TURNS="0", GOOSE_LEAD_FAILURE_THRESHOLD="1")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_retried_fault_is_not_a_worker_failure(model_server, make_session, provider):
    session = lead_worker_session(make_session, model_server, provider,
                                  retry=RetryPolicy(max_retries=2, base_delay=0.01))
    model_server.queue(garbled(provider), broken_gzip(provider), REPLIES[provider](ANSWER))
    record = session.ask("hello")
    assert record.status == "ok"
    assert record.answer.strip() == ANSWER
    assert model_server.models_asked() == [WORKER] * 3
    assert [e for e in session.events if isinstance(e, StepFailed | FallbackStarted)] == []
    assert session.policy is not None
    assert session.policy.state.failures == 0
    assert not session.policy.state.in_fallback
    model_server.queue(REPLIES[provider]("still the worker"))
    assert session.ask("again").answer.strip() == "still the worker"
    assert model_server.models_asked()[-1] == WORKER


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_fault_on_every_worker_attempt_goes_to_the_lead_and_is_no_failure(
        model_server, make_session, provider):
    session = lead_worker_session(make_session, model_server, provider)
    model_server.queue(garbled(provider), garbled(provider), REPLIES[provider](ANSWER))
    record = session.ask("hello")
    assert record.status == "ok"
    assert record.answer.strip() == ANSWER
    assert model_server.models_asked() == [WORKER, WORKER, LEAD]
    assert [e for e in session.events if isinstance(e, StepFailed | FallbackStarted)] == []
    assert session.policy is not None
    assert session.policy.state.failures == 0
    assert not session.policy.state.in_fallback
    model_server.queue(REPLIES[provider]("back on the worker"))
    assert session.ask("again").answer.strip() == "back on the worker"
    assert model_server.models_asked()[-1] == WORKER
