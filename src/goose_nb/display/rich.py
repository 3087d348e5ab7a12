"""Small display objects: Markdown for notebooks, plain text for terminals and logs."""

from __future__ import annotations

import re
from collections.abc import Sequence

_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1", re.DOTALL)
_DOLLARS = re.compile(r"\$(?:[0-9][0-9,]*(?:\.[0-9]+)?)?")


class RichText:
    """Something with a Markdown form and a plain-text form."""

    def __init__(self, markdown: str, plain: str) -> None:
        self.markdown = markdown
        self.plain = plain

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.plain


def without_maths(markdown: str) -> str:
    """``markdown`` with every ``$`` (and the amount after it) in a code span.

    Jupyter front ends typeset the text between two ``$`` as maths, even across table
    cells, and escaping is not enough: JupyterLab's Markdown renderer turns ``\\$`` into a
    plain ``$`` before MathJax reads the page. MathJax leaves code alone, on every front end
    (and GitHub's renderer too). Existing code spans are kept as they are.
    """
    parts, last = [], 0
    for span in _CODE_SPAN.finditer(markdown):
        parts.append(_DOLLARS.sub(lambda m: f"`{m.group(0)}`", markdown[last:span.start()]))
        parts.append(span.group(0))
        last = span.end()
    parts.append(_DOLLARS.sub(lambda m: f"`{m.group(0)}`", markdown[last:]))
    return "".join(parts)


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
