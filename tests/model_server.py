"""A real HTTP server on 127.0.0.1 that speaks the providers' wire formats, scripted per test.

Tests queue ``Reply`` objects (status, headers, body chunks, delays, cut-offs); the server
answers each POST with the next one and records what it was asked. Streams are sent with
chunked transfer encoding, chunk by chunk, so the client sees a real stream; a reply can
drop the connection before answering, cut the stream off mid-body, or stall after its chunks
(silent, or sending only keep-alives). Every wait ends when the server stops.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from corpus import require_corpus


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Reply:
    """One scripted answer."""

    status: int = 200
    chunks: list[bytes] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/event-stream; charset=utf-8"
    delay: float = 0.0  # seconds before the status line
    chunk_delay: float = 0.0  # seconds between chunks
    cut_after: int | None = None  # close the connection after this many chunks
    drop: bool = False  # close the connection without answering
    pause_after: tuple[int, float] | None = None  # (chunk index, seconds) to wait after it
    #: after the chunks, seconds to send nothing but ``keep_alive`` (if set) before the end
    #: of the body; it ends early when the server stops or the client hangs up
    stall: float = 0.0
    #: sent as a chunk of its own every ``keep_alive_every`` seconds while stalling: an SSE
    #: comment ``b": keep-alive\n\n"``, Anthropic's ping event, a blank NDJSON line
    keep_alive: bytes = b""
    keep_alive_every: float = 0.1


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    #: the client's port: one per TCP connection, so it tells whether connections are reused
    client_port: int = 0
    #: wall-clock times (``time.time()``, comparable across processes): when the request was
    #: read, when each chunk of the answer was sent, and when the answer ended
    received_at: float = 0.0
    chunks_sent_at: list[float] = field(default_factory=list)
    finished_at: float = 0.0

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _QuietServer(ThreadingHTTPServer):
    """Clients hanging up (keep-alive connections at shutdown, cancelled streams) is normal.

    Each answer goes out chunk by chunk as small writes; like real API servers (uvicorn,
    nginx), the server sets TCP_NODELAY, or Nagle's algorithm would hold each chunk until the
    client acknowledged the one before, which clients delay by up to 40 ms.
    """

    def handle_error(self, request: Any, client_address: Any) -> None:
        return

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class ModelServer:
    """Start with ``with ModelServer() as server:``; ``server.url`` is its base URL."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.responder: Callable[[ReceivedRequest], Reply] | None = None
        self.requests: list[ReceivedRequest] = []
        self.get_routes: dict[str, Reply] = {}
        #: the GET requests received (kept apart from ``requests``, the model calls)
        self.get_requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        #: set when the server stops: every scripted wait (``delay``, ``stall``) ends then
        self._stopping = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # a short poll interval: shutdown() waits up to one interval, for every test
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def models_asked(self) -> list[str]:
        return [r.json["model"] for r in self.requests if r.method == "POST"]

    def _next_reply(self, request: ReceivedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if self.replies:
                return self.replies.popleft()
        if self.responder is not None:
            return self.responder(request)
        return Reply(500, [b'{"error": {"message": "no scripted reply left"}}'],
                     content_type="application/json")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                with server._lock:
                    server.get_requests.append(
                        ReceivedRequest("GET", self.path, dict(self.headers.items()), b""))
                reply = server.get_routes.get(self.path)
                if reply is None:
                    self._send(Reply(404, [b'{"error": "not found"}'],
                                     content_type="application/json"))
                else:
                    self._send(reply)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                request = ReceivedRequest("POST", self.path, dict(self.headers.items()), body,
                                          client_port=self.client_address[1],
                                          received_at=time.time())
                self._send(server._next_reply(request), request)
                request.finished_at = time.time()

            def _send(self, reply: Reply, request: ReceivedRequest | None = None) -> None:
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                if reply.drop:
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for index, chunk in enumerate(reply.chunks):
                    if reply.cut_after is not None and index >= reply.cut_after:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    if reply.chunk_delay and index:
                        time.sleep(reply.chunk_delay)
                    if chunk:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                    if request is not None:
                        request.chunks_sent_at.append(time.time())
                    if reply.pause_after and reply.pause_after[0] == index:
                        time.sleep(reply.pause_after[1])
                if reply.stall and not self._stall(reply, request):
                    return
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def _stall(self, reply: Reply, request: ReceivedRequest | None) -> bool:
                """Send nothing but keep-alives for ``reply.stall`` seconds; False when the
                server stopped or the client hung up (the connection is closed then)."""
                end = time.monotonic() + reply.stall
                while (left := end - time.monotonic()) > 0:
                    wait = min(left, reply.keep_alive_every) if reply.keep_alive else left
                    if server._stopping.wait(wait):
                        self.close_connection = True
                        return False
                    if not reply.keep_alive:
                        continue
                    chunk = reply.keep_alive
                    try:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                    except OSError:  # the client went away
                        self.close_connection = True
                        return False
                    if request is not None:
                        request.chunks_sent_at.append(time.time())
                return True

        return Handler


# Wire-format builders ------------------------------------------------------------------


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data)
    return f"{head}data: {payload}\n\n".encode()


def openai_reply(
    text: str = "",
    tool_calls: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    *,
    model: str = "gpt-test",
    usage: tuple[int, int] | None = (10, 5),
    pieces: int = 3,
    done: bool = True,
    finish: str | None = None,
) -> Reply:
    """An OpenAI chat-completions SSE stream: text in ``pieces`` deltas, tool calls
    (id, name, arguments JSON text) in two fragments each, a usage chunk (none with
    ``usage=None``, as servers that ignore ``include_usage`` send), ``[DONE]``. ``finish``
    overrides the finish reason (``length``: cut at the output limit)."""
    base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": model}
    chunks = [_sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]})]
    size = max(1, -(-len(text) // pieces)) if text else 1
    for start in range(0, len(text), size):
        delta = {"content": text[start : start + size]}
        chunks.append(_sse({**base, "choices": [{"index": 0, "delta": delta}]}))
    for index, (call_id, name, arguments) in enumerate(tool_calls):
        half = len(arguments) // 2
        first = {"index": index, "id": call_id, "type": "function",
                 "function": {"name": name, "arguments": arguments[:half]}}
        second = {"index": index, "function": {"arguments": arguments[half:]}}
        for fragment in (first, second):
            delta = {"tool_calls": [fragment]}
            chunks.append(_sse({**base, "choices": [{"index": 0, "delta": delta}]}))
    finish = finish or ("tool_calls" if tool_calls else "stop")
    chunks.append(_sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}))
    if usage is not None:
        usage_obj = {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                     "total_tokens": sum(usage)}
        chunks.append(_sse({**base, "choices": [], "usage": usage_obj}))
    if done:
        chunks.append(_sse("[DONE]"))
    return Reply(chunks=chunks)


def anthropic_reply(
    text: str = "",
    tool_calls: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    *,
    model: str = "claude-test",
    usage: tuple[int, int] = (10, 5),
) -> Reply:
    """An Anthropic messages SSE stream with a text block and tool_use blocks."""
    start = {"type": "message_start", "message": {
        "id": "msg_test", "type": "message", "role": "assistant", "model": model,
        "content": [], "usage": {"input_tokens": usage[0], "output_tokens": 1}}}
    chunks = [_sse(start, "message_start"), _sse({"type": "ping"}, "ping")]
    index = 0
    if text:
        chunks.append(_sse({"type": "content_block_start", "index": 0,
                            "content_block": {"type": "text", "text": ""}},
                           "content_block_start"))
        for word in text.split(" "):
            piece = word if word == text.split(" ")[0] else " " + word
            chunks.append(_sse({"type": "content_block_delta", "index": 0,
                                "delta": {"type": "text_delta", "text": piece}},
                               "content_block_delta"))
        chunks.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        index = 1
    for offset, (call_id, name, arguments) in enumerate(tool_calls):
        block = index + offset
        chunks.append(_sse({"type": "content_block_start", "index": block, "content_block": {
            "type": "tool_use", "id": call_id, "name": name, "input": {}}},
            "content_block_start"))
        chunks.append(_sse({"type": "content_block_delta", "index": block,
                            "delta": {"type": "input_json_delta", "partial_json": arguments}},
                           "content_block_delta"))
        chunks.append(_sse({"type": "content_block_stop", "index": block},
                           "content_block_stop"))
    stop = "tool_use" if tool_calls else "end_turn"
    chunks.append(_sse({"type": "message_delta", "delta": {"stop_reason": stop},
                        "usage": {"output_tokens": usage[1]}}, "message_delta"))
    chunks.append(_sse({"type": "message_stop"}, "message_stop"))
    return Reply(chunks=chunks)


def ollama_reply(
    text: str = "",
    tool_calls: list[tuple[str, dict[str, Any]]] = (),  # type: ignore[assignment]
    *,
    model: str = "llama-test",
    usage: tuple[int, int] | None = (10, 5),
) -> Reply:
    """An Ollama NDJSON chat stream; tool calls carry arguments as objects."""
    lines = []
    for word in text.split(" ") if text else ():
        lines.append({"model": model, "message": {"role": "assistant", "content": word + " "},
                      "done": False})
    if tool_calls:
        calls = [{"function": {"name": n, "arguments": a}} for n, a in tool_calls]
        lines.append({"model": model, "message": {"role": "assistant", "content": "",
                                                  "tool_calls": calls}, "done": False})
    final: dict[str, Any] = {"model": model, "message": {"role": "assistant", "content": ""},
                             "done": True, "done_reason": "stop"}
    if usage:
        final.update(prompt_eval_count=usage[0], eval_count=usage[1])
    lines.append(final)
    return Reply(chunks=[(json.dumps(line) + "\n").encode() for line in lines],
                 content_type="application/x-ndjson")


def python_call(call_id: str, code: str) -> tuple[str, str, str]:
    """A ``python`` tool call for the reply builders: (id, name, arguments JSON)."""
    return (call_id, "python", json.dumps({"code": code}))


def worked_example_replies() -> list[Reply]:
    """behaviour.md's worked example with ``LEAD_TURNS=1``: turn 2's worker steps fail
    twice (``1/0``, then an undefined name), so the steps of turns 1-4 go L · W W L · L · W."""
    return [
        openai_reply("Loaded."),
        openai_reply("", [python_call("a", "ratio = 1 / 0")]),
        openai_reply("", [python_call("b", "ratio = total / count")]),
        openai_reply("The data has no rows yet, so there is no ratio."),
        openai_reply("No mean either."),
        openai_reply("Nor a median."),
    ]


def error_reply(status: int, message: str = "error", headers: dict[str, str] | None = None,
                ) -> Reply:
    body = json.dumps({"error": {"message": message, "type": "error"}}).encode()
    return Reply(status, [body], headers=headers or {}, content_type="application/json")


def corpus_reply(name: str, chunk_size: int = 64) -> Reply:
    """A recorded response from the shared corpus, byte for byte, re-chunked."""
    streams = require_corpus("provider-streams")
    expected = json.loads((streams / "expected.json").read_text())[name]
    body = (streams / f"{name}.response.txt").read_bytes()
    chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    return Reply(chunks=chunks, content_type=expected["content_type"])
