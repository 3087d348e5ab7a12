"""``%goose why NAME``: the steps that made a variable, newest first, code folded.

Each step says its turn, step, model and role and the cell it ran in; the code is a
collapsed block (``<details>``, folded in a saved notebook too); the last line says whether
the user's own cells changed the variable since.
"""

from __future__ import annotations

import html

from goose_nb.display.rich import RichText
from goose_nb.display.tool_block import fence
from goose_nb.lineage import LineageEntry, VariableLineage


def _where(entry: LineageEntry) -> str:
    model = str(entry.model) if entry.model else "unknown model"
    role = f" ({entry.role})" if entry.role else ""
    cell = f" · cell [{entry.cell}]" if entry.cell is not None else ""
    failed = " · the call failed after changing it" if entry.failed else ""
    return f"turn {entry.turn} · step {entry.step} · {model}{role}{cell}{failed}"


def _since(found: VariableLineage) -> str:
    if not found.changed_by_cells:
        return f"Not changed by your own cells since the agent's last step on `{found.name}`."
    cells = ", ".join(f"[{c.cell}]" if c.cell is not None else "[?]"
                      for c in found.changed_by_cells)
    return f"Changed since by your own cell(s) {cells}: the agent's code alone no longer " \
           "gives its value."


def why_view(found: VariableLineage) -> RichText:
    name = found.name
    if not found.steps:
        text = (f"No step of the agent bound or changed `{name}` in this session (it is "
                "your own, or made before goose_nb tracked it).")
        return RichText(text, text.replace("`", ""))
    md = [f"**Why `{html.escape(name)}`:** {len(found.steps)} step(s) of the agent, newest "
          "first"]
    plain = [f"Why {name}: {len(found.steps)} step(s) of the agent, newest first"]
    for entry in found.steps:
        md += ["", f"<details><summary>{html.escape(_where(entry))}</summary>", "",
               fence(entry.code, "python"), "", "</details>"]
        plain += [f"  {_where(entry)}", *(f"    {line}" for line in entry.code.splitlines())]
    since = _since(found)
    md += ["", since]
    plain += [since.replace("`", "")]
    return RichText("\n".join(md), "\n".join(plain))
