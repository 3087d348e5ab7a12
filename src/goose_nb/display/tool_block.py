"""A tool call as a collapsible block: name, arguments (code as code), result (its images
as images), ✓ or ✗.

Markdown ``<details>`` renders as a collapsed block in JupyterLab, Notebook, VS Code and on
GitHub; the plain-text form is a short indented summary for terminals.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

from goose_nb.extensions import extension_of
from goose_nb.failures import Failure
from goose_nb.messages import ToolCall, ToolResult

PREVIEW_LINES = 30
PLAIN_PREVIEW_LINES = 8
_CODE_ARGUMENT = {"python": ("code", "python"), "shell": ("command", "sh")}


def fence(text: str, language: str = "") -> str:
    """A fenced code block that no backtick run inside ``text`` can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text}\n{ticks}"


def argument_text(call: ToolCall) -> tuple[str, str]:
    """The arguments as (text, language): the code itself for python and shell."""
    arguments = call.arguments or {}
    field, language = _CODE_ARGUMENT.get(call.name, ("", ""))
    if field and isinstance(arguments.get(field), str) and len(arguments) == 1:
        return arguments[field], language
    if call.arguments is None:
        return call.raw_arguments, ""
    return json.dumps(arguments, indent=2, ensure_ascii=False), "json"


@dataclass
class ToolBlock:
    call: ToolCall
    result: ToolResult | None = None
    failure: Failure | None = None
    seconds: float = 0.0

    @property
    def mark(self) -> str:
        if self.result is None:
            return "⏳"
        return "✗" if self.result.is_error else "✓"

    def markdown(self) -> str:
        timing = f" · {self.seconds:.1f} s" if self.result is not None else " · running…"
        failure = f" · {self.failure}" if self.failure else ""
        arguments, language = argument_text(self.call)
        extension = extension_of(self.call.name)
        origin = f" · extension <b>{html.escape(extension)}</b>" if extension else ""
        parts = [f"<details><summary>{self.mark} <code>{self.call.name}</code>{origin}{timing}"
                 f"{failure}</summary>", "", fence(arguments, language)]
        if self.result is not None:
            lines = self.result.content.splitlines()
            parts += ["", fence("\n".join(lines[:PREVIEW_LINES]), "text")]
            if len(lines) > PREVIEW_LINES:
                parts += ["", f"<details><summary>show all {len(lines)} lines</summary>", "",
                          fence(self.result.content, "text"), "", "</details>"]
            for number, image in enumerate(self.result.images, start=1):
                parts += ["", f'<img src="{image.data_url}" alt="image {number} from '
                              f'{html.escape(self.call.name)}" style="max-width: 100%"/>']
        parts += ["", "</details>"]
        return "\n".join(parts)

    def plain(self) -> str:
        arguments, _ = argument_text(self.call)
        head = f"  {self.mark} {self.call.name}"
        if extension := extension_of(self.call.name):
            head += f" (extension {extension})"
        if self.failure:
            head += f" [{self.failure}]"
        lines = [head] + [f"    {line}" for line in arguments.splitlines()[:PLAIN_PREVIEW_LINES]]
        if self.result is not None:
            result = self.result.content.splitlines()
            lines += [f"    → {line}" for line in result[:PLAIN_PREVIEW_LINES]]
            if len(result) > PLAIN_PREVIEW_LINES:
                lines.append(f"    → … {len(result) - PLAIN_PREVIEW_LINES} more lines")
        return "\n".join(lines)
