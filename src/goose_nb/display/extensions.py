"""``%goose extensions``: each extension, where it came from, its status and its tools."""

from __future__ import annotations

from collections.abc import Sequence

from goose_nb.display.rich import RichText, table
from goose_nb.extensions import ExtensionRow

#: tools listed per extension before the rest are counted
SHOWN_TOOLS = 8


def extensions_view(rows: Sequence[ExtensionRow], problems: Sequence[str]) -> RichText:
    """A table of the extensions, then the entries that could not be read, one line each."""
    if not rows and not problems:
        return RichText(
            "No extensions: add them to `extensions:` in config.yaml as Goose does, or "
            "`%goose extensions add NAME -- CMD ARGS...`",
            "No extensions: add them to extensions: in config.yaml as Goose does, or "
            "%goose extensions add NAME -- CMD ARGS...")
    shown = table("goose_nb extensions", ["extension", "from", "enabled", "status", "tools"],
                  [[row.name, row.origin, "yes" if row.enabled else "no", row.status,
                    _tools(row.tools)] for row in rows])
    if not problems:
        return shown
    return RichText(shown.markdown + "\n\n" + "\n".join(f"- {p}" for p in problems),
                    shown.plain + "\n" + "\n".join(problems))


def _tools(names: Sequence[str]) -> str:
    if len(names) <= SHOWN_TOOLS:
        return ", ".join(names) or "—"
    return ", ".join(names[:SHOWN_TOOLS]) + f" and {len(names) - SHOWN_TOOLS} more"
