"""The providers of one session: one HTTP client, one instance per provider, detection.

Everything here lives on the session's background loop: the ``httpx.AsyncClient`` is made
there on first use and reused by every provider and cell (connection pooling); a provider
is built once per settings version (``reset`` forgets them when the settings change), and
wrapped for recording when ``GOOSE_NB_RECORD`` is set.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from goose_nb.messages import ModelRef
from goose_nb.providers.detect import detect_provider
from goose_nb.providers.registry import provider_class

if TYPE_CHECKING:
    import httpx

    from goose_nb.config import Settings
    from goose_nb.events import Role
    from goose_nb.providers.base import Provider
    from goose_nb.providers.recording import CassetteRecorder


class ProviderPool:
    """Providers built to the current settings (``settings`` reads them, raising the
    configuration error if any), sharing one HTTP client."""

    def __init__(self, settings: Callable[[], Settings]) -> None:
        self._settings = settings
        self._providers: dict[str, Provider] = {}
        self._recorder: CassetteRecorder | None = None
        self._client: httpx.AsyncClient | None = None
        #: the worker provider detection found (None until the first model call)
        self.detected: str | None = None

    async def http_client(self) -> httpx.AsyncClient:
        """The one HTTP client, created on the background loop and reused."""
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=10.0)
            )
        return self._client

    async def provider(self, name: str) -> Provider:
        """The provider instance for ``name``, created once per settings version."""
        if name not in self._providers:
            settings = self._settings()
            provider = provider_class(name)(settings, await self.http_client())
            if settings.record and name != "replay":
                provider = self._recording(provider, settings)
            self._providers[name] = provider
        return self._providers[name]

    def _recording(self, provider: Provider, settings: Settings) -> Provider:
        from goose_nb.providers.recording import CassetteRecorder, RecordingProvider

        assert settings.record is not None
        if self._recorder is None or self._recorder.path != Path(settings.record).expanduser():
            self._recorder = CassetteRecorder(settings.record, settings.secrets())
        return RecordingProvider(provider, self._recorder)

    async def worker_provider_name(self) -> str:
        """``GOOSE_PROVIDER``, or the detected provider (detected once per settings)."""
        if self.detected is None:
            self.detected = await detect_provider(self._settings(), await self.http_client())
        return self.detected

    async def model_for_role(self, role: Role | None) -> tuple[ModelRef, Provider]:
        """Which provider and model answer a step for ``role`` (None: lead/worker off)."""
        settings = self._settings()
        if role == "lead" and settings.lead_model:
            name = settings.lead_provider or await self.worker_provider_name()
            provider = await self.provider(name)
            return ModelRef(provider=name, model=settings.lead_model), provider
        name = await self.worker_provider_name()
        provider = await self.provider(name)
        return ModelRef(provider=name, model=settings.model or provider.default_model), provider

    def reset(self) -> None:
        """Forget the providers and the detection: the settings changed."""
        self._providers.clear()
        self.detected = None

    @property
    def connected(self) -> bool:
        """True once the HTTP client exists (there is something to close)."""
        return self._client is not None

    async def aclose(self) -> None:
        """Close the HTTP client (a later call makes a new one) and forget the providers."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._providers.clear()
