"""goose_nb: Goose's multi-model agent workflow in Jupyter.

``%load_ext goose_nb`` registers the magics and nothing else: the session, the HTTP client
and the providers are created on first use, so loading stays fast. The Python API
(``Session``, ``current_session``, ``load_recipe``) is imported lazily for the same reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "Session",
    "current_session",
    "load_ipython_extension",
    "load_recipe",
    "unload_ipython_extension",
]

if TYPE_CHECKING:
    from goose_nb.session import Session, current_session, load_recipe

_LAZY = {
    "Session": "goose_nb.session",
    "current_session": "goose_nb.session",
    "load_recipe": "goose_nb.session",
}


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'goose_nb' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """Called by ``%load_ext goose_nb``."""
    from goose_nb.magics import register_magics

    register_magics(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Called by ``%unload_ext goose_nb``; the session ends with the magics."""
