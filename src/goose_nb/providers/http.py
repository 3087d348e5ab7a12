"""What every HTTP provider shares: error mapping, retries with backoff, host handling.

Technical hiccups (timeouts, dropped connections, 408/409/429/5xx/529, ``overloaded_error``,
a stream cut off mid-answer) are retried here, quietly, as a whole step: a partial answer is
never kept. Everything else becomes a typed error whose message says what to fix.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from goose_nb.errors import (
    AuthenticationError,
    BadRequestError,
    ProviderUnavailableError,
    TransientProviderError,
)
from goose_nb.messages import StreamEvent, StreamRestarted
from goose_nb.secrets import mask_url, scrub

logger = logging.getLogger("goose_nb.providers")

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
MAX_RETRY_AFTER = 60.0


def normalize_host(host: str, default_scheme: str = "https") -> str:
    """``localhost:11434`` -> ``http://localhost:11434``; a URL with a scheme is kept as is."""
    host = host.strip().rstrip("/")
    if "://" in host:
        return host
    local = host.startswith(("localhost", "127.", "[::1]", "0.0.0.0"))
    return f"{'http' if local else default_scheme}://{host}"


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):  # neither seconds nor an HTTP date: use our backoff
        return None
    if parsed is None:
        return None
    return max(0.0, parsed.timestamp() - time.time())


def server_message(body: bytes) -> str:
    """The human part of a provider's JSON error body, or the start of the raw body."""
    try:
        data = json.loads(body)
    except ValueError:
        return _one_line(body.decode("utf-8", "replace"))[:200]
    if isinstance(data, dict):
        error = data.get("error", data)
        if isinstance(error, dict):
            error = error.get("message") or error.get("type") or error
        return _one_line(str(error))[:300]
    return _one_line(str(data))[:200]


def _one_line(text: str) -> str:
    """Errors are one line: a server's multi-line message (a list of validation errors)
    is folded."""
    return " ".join(text.split())


T = TypeVar("T")

#: events a stream may still send after its end marker before goose_nb stops reading it
TRAILING_EVENTS = 16
#: seconds to wait for the rest of a body after its end marker
TRAILING_SECONDS = 1.0


async def read_to_end(events: AsyncIterator[T], finished: Callable[[], bool]) -> AsyncIterator[T]:
    """Every event of a stream until ``finished()``; then the rest of the body, read and
    dropped. A body read to its end lets httpx put the connection back in its pool, so the
    next step reuses it instead of opening a new TCP connection (and TLS handshake). What a
    server sends after its end marker is bounded: ``TRAILING_EVENTS`` events, each within
    ``TRAILING_SECONDS``; past that the connection is dropped, as it was before."""
    iterator = aiter(events)
    trailing = 0
    while True:
        try:
            if not finished():
                yield await anext(iterator)
                continue
            trailing += 1
            if trailing > TRAILING_EVENTS:
                return
            await asyncio.wait_for(anext(iterator), TRAILING_SECONDS)
        except (StopAsyncIteration, asyncio.TimeoutError):
            return


@dataclass(frozen=True)
class Endpoint:
    """Who we are talking to, for error messages that say what to fix."""

    provider: str
    url: str
    host_env: str
    key_env: str | None = None

    @property
    def shown_url(self) -> str:
        """The URL as messages and cassettes show it: userinfo and key parameters masked."""
        return mask_url(self.url)


async def raise_for_status(
    response: httpx.Response, endpoint: Endpoint, secrets: list[str]
) -> None:
    """Map a non-2xx response to the right error class; reads the (small) error body."""
    if response.is_success:
        return
    status = response.status_code
    detail = scrub(server_message(await response.aread()), secrets)
    if status in (401, 403):
        fix = f"set {endpoint.key_env} to a valid key" if endpoint.key_env else "check access"
        raise AuthenticationError(
            f"{endpoint.provider} refused the request ({status}): {fix}"
        )
    if status in RETRYABLE_STATUS and not _refused_request(status, detail):
        raise TransientProviderError(
            f"{endpoint.provider} answered {status}: {detail}",
            retry_after=parse_retry_after(response.headers),
        )
    raise BadRequestError(f"{endpoint.provider} rejected the request ({status}): {detail}")


#: a 5xx whose message is the server's own check of the request body (llama-cpp-python's
#: server answers an invalid message list with 500 and pydantic's "N validation errors")
_VALIDATION_MESSAGE = re.compile(r"\bvalidation errors?\b", re.IGNORECASE)


def _refused_request(status: int, detail: str) -> bool:
    """A server error that is the request's fault: the same request would fail again."""
    return status >= 500 and bool(_VALIDATION_MESSAGE.search(detail))


def transport_error(exc: httpx.TransportError, endpoint: Endpoint) -> TransientProviderError:
    """Timeouts, refused and reset connections, truncated bodies: all worth a retry."""
    kind = type(exc).__name__
    return TransientProviderError(
        f"cannot reach {endpoint.provider} at {endpoint.shown_url} ({kind}); "
        f"check {endpoint.host_env}"
    )


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; a server's ``Retry-After`` wins, up to 60 s."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)


async def stream_with_retries(
    attempt: Callable[[], AsyncGenerator[StreamEvent, None]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncGenerator[StreamEvent, None]:
    """Run one streamed model call, retrying the whole call on transient errors.

    A retry after text was already yielded emits ``StreamRestarted`` so the listener can
    drop the partial answer: the step is redone, never half-applied. Closing this stream
    closes the attempt's at once (its connection goes back to the pool, or is dropped).
    """
    attempt_no = 0
    while True:
        try:
            stream = attempt()
            try:
                async for event in stream:
                    yield event
            finally:
                await stream.aclose()
            return
        except TransientProviderError as exc:
            if attempt_no >= policy.max_retries:
                raise ProviderUnavailableError(
                    f"{exc} (gave up after {policy.max_retries} retries)"
                ) from None
            delay = policy.delay(attempt_no, exc.retry_after)
            attempt_no += 1
            logger.info("transient error: %s; retry %d in %.2fs", exc, attempt_no, delay)
            yield StreamRestarted(reason=str(exc))
            await sleep(delay)
