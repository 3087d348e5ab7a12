"""Widgets that still read well where no widget can run.

A notebook saved without widget state, GitHub, nbviewer and terminal IPython cannot show
an ipywidget; ``WithFallback`` puts the widget's view and static HTML, Markdown and plain
text forms of the same content into one output, and each front end shows the richest form
it can.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from goose_nb.display.rich import RichText


class WithFallback:
    """An ipywidget (built lazily) plus the static forms of what it shows."""

    def __init__(self, make_widget: Callable[[], Any], static: RichText, html: str) -> None:
        self._make_widget = make_widget
        self.static = static
        self.html = html
        self._widget: Any = None

    @property
    def widget(self) -> Any:
        if self._widget is None:
            self._widget = self._make_widget()
        return self._widget

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {
            "text/plain": self.static.plain,
            "text/markdown": self.static.markdown,
            "text/html": self.html,
        }
        widget_bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        view = widget_bundle.get("application/vnd.jupyter.widget-view+json")
        if view is not None:
            bundle["application/vnd.jupyter.widget-view+json"] = view
        return bundle

    def __repr__(self) -> str:
        return self.static.plain
