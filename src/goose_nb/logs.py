"""goose_nb's log in the notebook: ``%goose log LEVEL`` and Goose's ``RUST_LOG`` alias.

Logging, not prints: records go to the ``goose_nb`` logger tree; turning a level on adds
one handler that writes to the cell's stderr, so a saved notebook shows what happened. That
handler scrubs every record it writes (a debug line may quote a request, an event or an
error), with the session's secrets once a session has said what they are.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping

from goose_nb.secrets import environment_secrets, scrub

LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO,
          "warn": logging.WARNING, "warning": logging.WARNING, "error": logging.ERROR,
          "off": logging.CRITICAL + 1}
#: Goose's Rust log targets and the goose_nb loggers they stand for
RUST_TARGETS = {"goose::providers::lead_worker": "goose_nb.lead_worker", "goose": "goose_nb"}

_handler: logging.Handler | None = None


def _environment_scrub(text: str) -> str:
    return scrub(text, environment_secrets(os.environ))


#: how a record's text is cleaned before it is written (the session sets its own)
_scrub: Callable[[str], str] = _environment_scrub


def scrub_records_with(scrubber: Callable[[str], str]) -> None:
    """Clean every record the cell's log handler writes with ``scrubber``."""
    global _scrub
    _scrub = scrubber


class _ScrubbingFilter(logging.Filter):
    """Replaces a record's message (and traceback text) by its scrubbed form."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = _scrub(record.getMessage()), None
        if record.exc_info:
            record.exc_text = _scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def set_log_level(level: int, name: str = "goose_nb") -> None:
    """Show records of logger ``name`` (and below) at ``level`` and above in the cell."""
    global _handler
    if _handler is None:
        _handler = logging.StreamHandler(sys.stderr)
        _handler.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
        _handler.addFilter(_ScrubbingFilter())
        logging.getLogger("goose_nb").addHandler(_handler)
    logging.getLogger(name).setLevel(level)


def apply_rust_log(environ: Mapping[str, str]) -> None:
    """Honour ``RUST_LOG=goose::providers::lead_worker=info`` (comma-separated
    ``target=level`` entries; other targets are Goose's own and are ignored)."""
    for entry in environ.get("RUST_LOG", "").split(","):
        target, _, level = entry.strip().partition("=")
        name = RUST_TARGETS.get(target.strip())
        if name and level.strip().lower() in LEVELS:
            set_log_level(LEVELS[level.strip().lower()], name)
