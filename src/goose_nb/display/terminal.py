"""Terminal IPython: a turn streamed as it arrives, its Markdown rendered for a terminal.

A terminal has no display handles to update, and shows an answer's Markdown (``##``,
``**``, fences) as raw text. ``TerminalDisplay`` stands in for IPython's ``display`` in a
``TurnView``: each display is a ``rich`` live region, re-drawn in place while its part of the
turn is written; when the view starts the next display, the previous region stays on screen
as it was last drawn. Finished parts are therefore printed once, and only the tail being
written is redrawn, as in a notebook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from goose_nb.display.turn import TurnSegment

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live


def renderable(shown: Any) -> RenderableType:
    """``shown`` (a turn's segment, or anything with a plain ``repr``) as rich renders it."""
    from rich.console import Group
    from rich.markdown import Markdown
    from rich.text import Text

    if not isinstance(shown, TurnSegment):
        return Text(repr(shown))
    parts: list[RenderableType] = []
    for kind, value in shown.output.pieces(shown.start, shown.end):
        if kind == "switch":
            parts.append(Text(f"⇄ {value}", style="bold magenta"))
        elif kind == "header":
            badge = f"{value.badge} · " if value.badge else ""
            parts.append(Text.assemble((badge, "bold"), (value.model, "cyan")))
        elif kind == "text":
            parts.append(Markdown(value))
        elif kind == "tool":
            style = {"✓": "green", "✗": "red"}.get(value.mark, "yellow")
            parts.append(Text(value.plain(), style=style))
        elif kind == "status":
            parts.append(Text(f"({value})", style="yellow"))
        elif kind == "notice":
            parts.append(Text(f"! {value}", style="yellow"))
        else:
            parts.append(Text(value, style="dim"))
    return Group(*parts)


class TerminalHandle:
    """One display: a live region while it is the newest, then text on the screen."""

    def __init__(self, live: Live) -> None:
        self._live = live

    def update(self, shown: Any) -> None:
        if self._live.is_started:
            self._live.update(renderable(shown), refresh=True)


class TerminalDisplay:
    """``display(obj, display_id=True)`` for a terminal, and ``close()`` at the turn's end."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.console import Console

        self.console = console or Console()
        self._live: Live | None = None

    def __call__(self, shown: Any, display_id: bool = True) -> TerminalHandle:
        from rich.live import Live

        self.close()  # the previous display stays on screen as last drawn
        # redrawn only when the view renders (its own rate limit), not by a rich thread
        self._live = Live(renderable(shown), console=self.console, auto_refresh=False,
                          redirect_stdout=False, redirect_stderr=False)
        self._live.start(refresh=True)
        return TerminalHandle(self._live)

    def close(self) -> None:
        if self._live is not None and self._live.is_started:
            self._live.stop()
        self._live = None
