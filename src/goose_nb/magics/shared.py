"""What every goose_nb magic shares: the session, errors as ``UsageError``, live views.

Each topic's magics (``goose``, ``plan``, ``subagents``, ``recipes``) is its own ``Magics``
class, as IPython's own ``core/magics/`` are; they share one session through the
``GooseMagics`` that holds it. This module imports nothing heavy, so ``%load_ext`` stays
fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from IPython.core.error import UsageError
from IPython.core.magic import Magics

if TYPE_CHECKING:
    from goose_nb.display.turn import TurnView
    from goose_nb.magics.goose import GooseMagics
    from goose_nb.session import Session

MagicMethod = TypeVar("MagicMethod", bound=Callable[..., Any])


def in_kernel() -> bool:
    """True inside a Jupyter kernel, where display handles can be updated in place."""
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None) is not None


def usage_errors(interrupted: str | None = None) -> Callable[[MagicMethod], MagicMethod]:
    """Make a magic report every ``GooseError`` as a one-line ``UsageError``: the cell fails
    (so "Run All" stops) and the notebook shows that line, no traceback, scrubbed of the
    session's secrets (an error may quote a server or a setting). ``interrupted`` is what to
    say when the user interrupted the turn (by default the error's own text)."""

    def decorate(method: MagicMethod) -> MagicMethod:
        @functools.wraps(method)
        def wrapper(magics: Any, *args: Any, **kwargs: Any) -> Any:
            from goose_nb.errors import GooseError, TurnInterrupted

            try:
                return method(magics, *args, **kwargs)
            except TurnInterrupted as exc:
                raise UsageError(interrupted or str(exc)) from None
            except GooseError as exc:
                raise UsageError(magics.session.scrub(str(exc))) from None

        return wrapper  # type: ignore[return-value]

    return decorate


def show_help(magic: Callable[..., Any]) -> None:
    """A magic's docstring, dedented, as text (a fenced block in Markdown)."""
    import inspect

    from IPython.display import display

    from goose_nb.display.rich import RichText

    text = inspect.cleandoc(magic.__doc__ or "")
    display(RichText(f"```text\n{text}\n```", text))


def take_budget(words: list[str]) -> tuple[float | None, list[str]]:
    """``--budget 0.10`` (or ``--budget=0.10``) taken out of ``words``: the dollars, and
    the other words; a missing or bad amount is a ``UsageError``."""
    from goose_nb.budget import parse_budget

    rest: list[str] = []
    budget: float | None = None
    items = iter(words)
    for word in items:
        if word == "--budget" or word.startswith("--budget="):
            amount = word.partition("=")[2] or next(items, "")
            try:
                budget = parse_budget(amount)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        else:
            rest.append(word)
    return budget, rest


def turn_view(session: Session, **options: Any) -> TurnView:
    """A view of the next turn, updated in place in a kernel, with the session's cost
    setting; ``options`` go to ``TurnView`` (``show_answer=False`` for the planner)."""
    from goose_nb.display.turn import TurnView

    display = None
    if not in_kernel() and sys.stdout.isatty():  # terminal IPython: stream with rich
        from goose_nb.display.terminal import TerminalDisplay

        display = TerminalDisplay()
    return TurnView(live=in_kernel() or display is not None,
                    show_cost=session.settings.show_cost,
                    schedule=session.runtime.call_later_in_main, display=display, **options)


class TopicMagics(Magics):
    """The magics of one topic, sharing the session of the ``%goose`` magics they are given
    (or, on their own, the kernel's current session)."""

    def __init__(self, shell: Any = None, goose: GooseMagics | None = None) -> None:
        super().__init__(shell)
        self._goose = goose

    @property
    def session(self) -> Session:
        if self._goose is not None:
            return self._goose.session
        from goose_nb.session import current_session

        return current_session()
