"""Extensions: MCP servers as the agent's tools, configured as Goose configures them.

``config.py`` reads Goose's ``extensions:`` entries, ``server.py`` runs one server on the
official ``mcp`` SDK, ``tools.py`` turns its tools into goose_nb tools
(``extension__tool``), and ``registry.py`` is the session's set of them.
"""

from __future__ import annotations

from goose_nb.extensions.config import ExtensionConfig, extension_key, read_extensions
from goose_nb.extensions.registry import ExtensionRow, Extensions
from goose_nb.extensions.tools import SEPARATOR, extension_of

__all__ = ["SEPARATOR", "ExtensionConfig", "ExtensionRow", "Extensions", "extension_key",
           "extension_of", "read_extensions"]
