"""The exception hierarchy.

Modelled on httpx's: the class says what happened, the message says what to do about it.
Every message is one line and never contains a secret; the magics turn these into
``UsageError`` so the notebook shows that line and nothing else.

* GooseError
  + ConfigError - a setting is invalid or missing
  + ProviderError - a model call failed
    - TransientProviderError - worth retrying: timeout, 429, 5xx, a cut-off stream
    - AuthenticationError - 401/403, never retried
    - BadRequestError - 400/404/422, the request itself is wrong
    - ProviderUnavailableError - retries ran out
    - CassetteError - a replay does not match its cassette
  + TurnInterrupted - the user interrupted the kernel
  + RecipeError - a recipe cannot be found, loaded, validated or rendered
  + ExtensionError - an extension (an MCP server) cannot be configured, started or used
"""

from __future__ import annotations


class GooseError(Exception):
    """Base class of every error goose_nb raises on purpose."""


class ConfigError(GooseError):
    """The configuration is invalid or incomplete (names the key and the fix)."""


class ProviderError(GooseError):
    """A model call failed."""

    #: retried by the provider layer when true
    transient: bool = False


class TransientProviderError(ProviderError):
    """A technical hiccup worth retrying: timeout, connection error, 408/409/429/5xx,
    ``overloaded_error``, a stream cut off mid-answer."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthenticationError(ProviderError):
    """401/403: the key is missing, wrong or lacks access. Not retried."""


class BadRequestError(ProviderError):
    """400/404/422: the request itself is wrong (unknown model, bad parameters). Not retried."""


class ProviderUnavailableError(ProviderError):
    """Retries ran out on a transient error."""


class CassetteError(ProviderError):
    """A replayed request does not match the cassette, or the cassette is unreadable."""


class TurnInterrupted(GooseError):
    """The user interrupted the kernel while a turn ran."""


class RecipeError(GooseError):
    """A recipe cannot be found, loaded, validated or rendered (names the file and, for
    YAML, the line)."""


class ExtensionError(GooseError):
    """An extension cannot be configured, started or used (names the extension, what
    happened and, for a server that wrote any, the tail of its stderr)."""
