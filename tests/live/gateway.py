"""A recording gateway in front of the live model server: test code, as a user's gateway is.

It forwards every request to the server unchanged, streaming the answer back chunk by chunk,
and records what passed: which model each chat request asked for, the status, when the
first and last byte came back, and whether the client hung up before the answer ended (an
interrupt closes the connection, and the gateway then closes its own to the server, so the
server stops generating).

``force_tool`` makes it add ``tool_choice`` naming that function to the first request of a
turn (the one whose last message is the user's): a 135M-parameter model rarely calls a tool
unprompted, and a gateway that forces one is how a user would get a tool turn out of it.
goose_nb is not changed for it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

logger = logging.getLogger("live.gateway")

#: headers that describe one hop, not the message (RFC 9110 §7.6.1), plus the length and
#: encoding the gateway recomputes by re-chunking the body
_HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer",
                          "upgrade", "proxy-authorization", "proxy-authenticate",
                          "content-length", "host"})


@dataclass
class Exchange:
    """One request that passed through the gateway."""

    method: str
    path: str
    body: dict[str, Any] | None
    status: int = 0
    started: float = 0.0
    first_byte: float | None = None
    finished: float | None = None
    client_hung_up: bool = False
    forced_tool: bool = False
    response_bytes: int = 0

    @property
    def model(self) -> str | None:
        return None if self.body is None else self.body.get("model")

    @property
    def seconds_to_first_byte(self) -> float | None:
        return None if self.first_byte is None else self.first_byte - self.started


def _opens_a_turn(body: dict[str, Any] | None) -> bool:
    """A chat request offering tools whose last message is the user's."""
    if body is None or not body.get("tools"):
        return False
    return bool((body.get("messages") or [{}])[-1].get("role") == "user")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.exception("the gateway failed to relay a request from %s", client_address)


class RecordingGateway:
    """Start with ``with RecordingGateway(upstream) as gateway:``; ``gateway.url`` is its
    base URL, ``gateway.exchanges`` what passed."""

    def __init__(self, upstream: str, *, timeout: float = 300.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.exchanges: list[Exchange] = []
        self.force_tool: str | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0))
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def chat_models(self, since: int = 0) -> list[str]:
        """The model each chat request from ``since`` on asked for, in order."""
        return [str(e.model) for e in self.exchanges[since:] if e.path.endswith("/completions")]

    def __enter__(self) -> RecordingGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                self._forward(None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                self._forward(json.loads(raw) if raw else None)

            def _forward(self, body: dict[str, Any] | None) -> None:
                exchange = Exchange(self.command, self.path, body, started=time.perf_counter())
                gateway._record(exchange)
                if gateway.force_tool and _opens_a_turn(body):
                    assert body is not None
                    body["tool_choice"] = {"type": "function",
                                           "function": {"name": gateway.force_tool}}
                    exchange.forced_tool = True
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in _HOP_HEADERS}
                request = gateway._client.build_request(
                    self.command, gateway.upstream + self.path, headers=headers,
                    content=None if body is None else json.dumps(body).encode())
                upstream = gateway._client.send(request, stream=True)
                try:
                    self._relay(upstream, exchange)
                finally:
                    upstream.close()
                    exchange.finished = time.perf_counter()

            def _relay(self, upstream: httpx.Response, exchange: Exchange) -> None:
                exchange.status = upstream.status_code
                self.send_response(upstream.status_code)
                for key, value in upstream.headers.items():
                    if key.lower() not in _HOP_HEADERS and key.lower() != "content-encoding":
                        self.send_header(key, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for chunk in upstream.iter_bytes():
                        if exchange.first_byte is None:
                            exchange.first_byte = time.perf_counter()
                        exchange.response_bytes += len(chunk)
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    exchange.client_hung_up = True
                    self.close_connection = True

        return Handler
