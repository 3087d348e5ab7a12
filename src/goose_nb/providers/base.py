"""The one interface every provider implements.

A provider turns a ``ChatRequest`` into a stream of ``TextDelta`` events ending with one
``ResponseComplete``. One call of ``stream`` is one attempt: retries live in
``providers.http.stream_with_retries`` so that every provider gets the same policy.
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, ClassVar

import httpx

from goose_nb.config import Settings
from goose_nb.deadlines import Deadline
from goose_nb.errors import ProviderError, TransientProviderError
from goose_nb.messages import ChatRequest, Message, StreamEvent, ToolCall, ToolResult
from goose_nb.providers.http import Endpoint, raise_for_status, transport_error
from goose_nb.secrets import mask_url, scrub

logger = logging.getLogger("goose_nb.providers")

#: seconds a model list may take, in all (the settings panel offers free text without one)
LIST_MODELS_TIMEOUT = 2.0
#: seconds to open a connection (or wait for a free one in the pool) to a model server
CONNECT_TIMEOUT = 10.0


class Provider(ABC):
    """A model backend. Subclasses set ``name`` and ``default_model``."""

    name: ClassVar[str]
    #: the model used when GOOSE_MODEL is unset (a replayed cassette sets its own)
    default_model: str

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    @property
    def shown_as(self) -> str:
        """The provider name headers, footers and usage show for this provider's answers
        (a replayed cassette shows the provider that recorded it)."""
        return self.name

    @abstractmethod
    def stream(self, request: ChatRequest) -> AsyncGenerator[StreamEvent, None]:
        """One attempt at one model call."""

    def output_ceiling(self, request: ChatRequest) -> int:
        """The most output tokens ``request`` can be billed for: what a budget reserves."""
        return request.max_tokens

    def hidden_input_tokens(self, request: ChatRequest) -> int:
        """Input tokens the provider adds to ``request`` out of sight (a tool-use system
        prompt), billed all the same: budgets count them too."""
        return 0

    async def list_models(self) -> list[str]:
        """The models this provider offers, for pickers; ``[]`` when it cannot say.

        Never raises: an unreachable server, an error status, a timeout or a body of an
        unexpected shape all give ``[]``, and the caller offers free text instead.
        """
        return []

    def describe(self) -> dict[str, Any]:
        """Where requests go and with which (scrubbed) headers, for cassettes."""
        return {"provider": self.name}

    async def get_json(self, url: str, headers: dict[str, str] | None = None) -> Any:
        """GET ``url`` and return its JSON body, or ``None`` on any HTTP, transport or
        decoding error and after ``LIST_MODELS_TIMEOUT`` seconds in all."""

        async def fetch() -> Any:
            response = await self.client.get(url, headers=headers or {},
                                             timeout=LIST_MODELS_TIMEOUT)
            if not response.is_success:
                logger.debug("GET %s answered %s", mask_url(url), response.status_code)
                return None
            return response.json()

        try:
            return await asyncio.wait_for(fetch(), LIST_MODELS_TIMEOUT)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, asyncio.TimeoutError) as exc:
            detail = scrub(f"{type(exc).__name__}: {exc}", self.settings.secrets())
            logger.debug("GET %s failed: %s", mask_url(url), detail)
            return None


class HTTPProvider(Provider):
    """A provider that POSTs JSON to one URL and parses a streamed answer."""

    @property
    @abstractmethod
    def endpoint(self) -> Endpoint:
        """The URL and the settings that name it, for errors."""

    @abstractmethod
    def headers(self) -> dict[str, str]:
        """Request headers, including authentication."""

    @abstractmethod
    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        """The provider's JSON request body."""

    @abstractmethod
    def parse(
        self, response: httpx.Response, request: ChatRequest, touch: Callable[[], None]
    ) -> AsyncIterator[StreamEvent]:
        """Translate the streamed (or, from some servers, whole) response body, calling
        ``touch()`` for each piece of it that carries content (not a keep-alive or a ping):
        that is what keeps the stream's idle deadline away."""

    #: the content types a successful answer may have (a stream, or a whole JSON answer)
    content_types: ClassVar[frozenset[str]] = frozenset({"text/event-stream", "application/json"})

    #: header names whose values are secrets, scrubbed from cassettes
    secret_headers: ClassVar[frozenset[str]] = frozenset({"authorization", "x-api-key"})

    async def stream(self, request: ChatRequest) -> AsyncGenerator[StreamEvent, None]:
        endpoint, settings = self.endpoint, self.settings
        idle = settings.stream_idle_timeout
        stalled = (f"{endpoint.provider} at {endpoint.shown_url} sent no answer content for "
                   f"{idle} s (GOOSE_NB_STREAM_IDLE_TIMEOUT)")
        # httpx's read timeout bounds a server that never answers at all; the deadline, one
        # that keeps the connection busy with keep-alives and never answers
        timeout = httpx.Timeout(connect=CONNECT_TIMEOUT, read=float(idle), write=30.0,
                                pool=CONNECT_TIMEOUT)
        try:
            async with self.client.stream(
                "POST", endpoint.url, json=self.build_body(request), headers=self.headers(),
                timeout=timeout,
            ) as response:
                await raise_for_status(response, endpoint, settings.secrets())
                self._check_content_type(response, endpoint)
                try:
                    async with Deadline(idle, TransientProviderError(stalled)) as deadline:
                        async for event in self.parse(response, request, deadline.touch):
                            yield event
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    # a chunk that is not JSON, or not this protocol's shape, after a good
                    # start: a proxy or server hiccup (a cut or garbled line), retried as a
                    # whole step; after the retries the message says what the server sent
                    detail = scrub(f"{type(exc).__name__}: {exc}", settings.secrets())
                    raise TransientProviderError(
                        f"{endpoint.provider} at {endpoint.shown_url} sent a chunk that is not "
                        f"valid {self.name} output ({detail[:200]}); check {endpoint.host_env}"
                    ) from None
        except httpx.ReadTimeout:
            # the server was reached and said nothing (no headers, or no bytes at all): a
            # model still loading or reading a long prompt, not a wrong host
            raise TransientProviderError(stalled) from None
        except httpx.TransportError as exc:
            raise transport_error(exc, endpoint) from None
        except httpx.DecodingError as exc:
            detail = scrub(str(exc), settings.secrets())
            raise TransientProviderError(
                f"{endpoint.provider} at {endpoint.shown_url} sent a body that cannot be "
                f"decoded ({detail[:200]}); check {endpoint.host_env}") from None

    def _check_content_type(self, response: httpx.Response, endpoint: Endpoint) -> None:
        """A 200 that is not a model answer (a proxy's HTML page, a wrong path) is a
        configuration problem, not a hiccup worth retrying."""
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in self.content_types:
            raise ProviderError(
                f"{endpoint.provider} at {endpoint.shown_url} answered with "
                f"{content_type or 'no content type'}, not a model answer; "
                f"check {endpoint.host_env}"
            )

    def describe(self) -> dict[str, Any]:
        headers = {
            name: ("[redacted]" if name.lower() in self.secret_headers else value)
            for name, value in self.headers().items()
        }
        return {"provider": self.name, "url": self.endpoint.shown_url, "headers": headers}


def names_in(data: Any, list_key: str, *fields: str) -> list[str]:
    """``data[list_key][i][field]`` for each item (the first of ``fields`` that is a
    non-empty string), in order and without repeats; ``[]`` if ``data`` is not that shape."""
    items = data.get(list_key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        return []
    names: dict[str, None] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        for name in fields:
            value = item.get(name)
            if isinstance(value, str) and value.strip():
                names[value.strip()] = None
                break
    return list(names)


def json_chunk(text: str | bytes) -> Any:
    """One chunk of a streamed answer, decoded; one that is not JSON raises a
    ``ValueError`` that shows its start, so the error says what the server sent."""
    try:
        return json.loads(text)
    except ValueError:
        shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        raise ValueError(f"not JSON: {shown[:80]!r}") from None


def parse_arguments(raw: str | dict[str, Any] | None
                    ) -> tuple[dict[str, Any] | None, str, bool]:
    """Tool-call arguments as (object or None, raw text, repaired).

    An empty string means "no arguments" (Anthropic streams ``""`` for ``{}``). Control
    characters inside strings (a raw newline in code, as small models write it) are
    tolerated, and say so (``repaired``): the meaning is unambiguous. Anything that is still
    not a JSON object gives ``None`` so the agent can tell the model what was wrong.
    """
    if isinstance(raw, dict):
        return raw, json.dumps(raw), False
    text = raw or ""
    if not text.strip():
        return {}, text, False
    repaired = False
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value, repaired = json.loads(text, strict=False), True
        except ValueError:
            return None, text, False
    return (value, text, repaired) if isinstance(value, dict) else (None, text, False)


def make_tool_call(call_id: str, name: str, raw: str | dict[str, Any] | None) -> ToolCall:
    arguments, raw_text, repaired = parse_arguments(raw)
    return ToolCall(id=call_id, name=name, arguments=arguments, raw_arguments=raw_text,
                    repaired=repaired)


def chat_messages(
    system: str,
    messages: list[Message],
    *,
    tool_result: Callable[[ToolResult], dict[str, Any]],
    tool_calls: Callable[[Message], dict[str, Any]],
    tool_images: Callable[[Message], dict[str, Any] | None] = lambda message: None,
) -> list[dict[str, Any]]:
    """The history in the chat-completions shape OpenAI and Ollama share: the system prompt
    as a first ``system`` message, each tool result a ``tool`` message of its own, every
    other message ``{"role", "content"}``. The shapes that differ between them, a tool
    result, an assistant message with tool calls, and a message after the results that
    carries their images, are the caller's."""
    wire: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for message in messages:
        if message.role == "tool":
            wire.extend(tool_result(result) for result in message.tool_results)
            if (images := tool_images(message)) is not None:
                wire.append(images)
        elif message.role == "assistant" and message.tool_calls:
            wire.append(tool_calls(message))
        else:
            wire.append({"role": message.role, "content": message.text})
    return wire
