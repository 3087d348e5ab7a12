"""What a kernel in the live suite is given: the provider settings that reach the server
through the recording gateway, a key-shaped secret to watch for, and the answer limit."""

from __future__ import annotations

from pathlib import Path

from gateway import RecordingGateway
from kernels import offline_env
from llama_server import WORKER

#: shaped like a real key, so that any leak of it into outputs or cassettes is caught;
#: llama.cpp's server is started without a key and ignores it
LIVE_KEY = "sk-live-SECRETVALUE5550123456789"

#: most tokens one answer may have in the live suite: every request carries a limit, so a
#: small model that would ramble until its context is full stops within seconds
MAX_TOKENS = 48


def live_env(gateway: RecordingGateway, folder: Path, **settings: str) -> dict[str, str]:
    """A kernel environment on the OpenAI provider, through ``gateway``, worker ``smollm2``,
    with no config file and every answer limited to ``MAX_TOKENS``."""
    return offline_env({
        "GOOSE_PROVIDER": "openai",
        "OPENAI_HOST": gateway.url,
        "OPENAI_API_KEY": LIVE_KEY,
        "GOOSE_MODEL": WORKER,
        "GOOSE_MAX_TOKENS": str(MAX_TOKENS),
        "GOOSE_CONFIG_PATH": str(folder / "absent.yaml"),
        **settings,
    })
