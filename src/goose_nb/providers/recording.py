"""Recording: wrap a real provider and write each complete call to a cassette.

The file is rewritten after every call, so an interrupted session keeps what it recorded.
Authentication headers are replaced by ``[redacted]`` and every known secret or key-shaped
string is scrubbed before anything reaches the disk.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime, timezone
from pathlib import Path

from goose_nb.cassette import (
    Cassette,
    Interaction,
    RecordedRequest,
    describe_message,
    save_cassette,
)
from goose_nb.messages import ChatRequest, ResponseComplete, StreamEvent
from goose_nb.providers.base import Provider


class CassetteRecorder:
    """One cassette file being written; shared by every provider of a session."""

    def __init__(self, path: str | Path, secrets: list[str]) -> None:
        self.path = Path(path).expanduser()
        self.secrets = secrets
        started = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        self.cassette = Cassette(scripted=False, note=f"recorded by goose_nb on {started}")
        # written at once, empty: a path that cannot be written fails before the first
        # model call, not after it, when its answer (and its tokens) would be lost
        save_cassette(self.cassette, self.path, self.secrets)

    def add(self, interaction: Interaction) -> None:
        self.cassette.interactions.append(interaction)
        save_cassette(self.cassette, self.path, self.secrets)


class RecordingProvider(Provider):
    """Passes every call through to ``inner`` and records the complete ones."""

    def __init__(self, inner: Provider, recorder: CassetteRecorder) -> None:
        super().__init__(inner.settings, inner.client)
        self.inner = inner
        self.recorder = recorder
        self.name = inner.name  # type: ignore[misc]
        self.default_model = inner.default_model

    def describe(self) -> dict[str, object]:
        return self.inner.describe()

    async def list_models(self) -> list[str]:
        return await self.inner.list_models()

    async def stream(self, request: ChatRequest) -> AsyncGenerator[StreamEvent, None]:
        async for event in self.inner.stream(request):
            if isinstance(event, ResponseComplete):
                described = self.inner.describe()
                self.recorder.add(
                    Interaction(
                        request=RecordedRequest(
                            provider=self.inner.name,
                            model=request.model,
                            url=described.get("url"),
                            headers=described.get("headers", {}),
                            messages=len(request.messages),
                            tools=[tool.name for tool in request.tools],
                            last_message=describe_message(
                                request.messages[-1] if request.messages else None
                            ),
                        ),
                        response=event.response,
                    )
                )
            yield event
