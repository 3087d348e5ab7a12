"""Small display objects: Markdown for notebooks, plain text for terminals and logs."""

from __future__ import annotations

from collections.abc import Sequence


class RichText:
    """Something with a Markdown form and a plain-text form."""

    def __init__(self, markdown: str, plain: str) -> None:
        self.markdown = markdown
        self.plain = plain

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.plain


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> RichText:
    """A titled table as a Markdown table and as aligned plain text."""
    md = [f"**{title}**", "", "| " + " | ".join(headers) + " |",
          "|" + "---|" * len(headers)]
    md += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    plain = [title, "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    plain += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return RichText("\n".join(md), "\n".join(plain))
