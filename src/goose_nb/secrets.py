"""Keeping API keys out of everything the user sees or saves.

One rule for the whole package: known secrets are replaced, and so is anything shaped like
an API key (``sk-…``, ``key-…``, ``pk-…``), since a server or a typo may echo one we do
not know about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[redacted]"
KEY_SHAPED = re.compile(r"\b(sk|key|pk)-[A-Za-z0-9_\-*.]{6,}")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret and key-shaped string replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return KEY_SHAPED.sub(REDACTED, text)
