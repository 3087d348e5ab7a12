"""A subagent's Python namespace: the user's variables, copied the first time they are read.

behaviour.md promises that a subagent can read the user's data without changing it. A
shallow copy of the namespace does not keep that promise (``shared.append(...)`` changes the
user's list), and a deep copy of everything up front costs a copy of every DataFrame in the
kernel for a subagent that may read none of them. So a subagent's code runs in a dict that
starts empty and, the first time a name is looked up, deep-copies the user's value into
itself: in-place changes and rebinding stay in the subagent's namespace. Modules, classes and
functions are code, not data, and are shared as they are, as are the names IPython itself put
there (``In``, ``Out``, ``exit``: copying them would copy the shell). ``get_ipython()`` gives
a view of the shell whose ``user_ns`` is the subagent's namespace.

It is isolation of data, not a sandbox: code that goes out of its way (``sys.modules``,
``get_ipython().run_cell``) still reaches the user's kernel.
"""

from __future__ import annotations

import copy
import types
from collections import ChainMap
from collections.abc import Iterator, Mapping
from typing import Any

#: values shared rather than copied: code, not data (copying a module is not possible)
_SHARED_TYPES = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)


class UncopyableVariable(NameError):
    """A user's variable a subagent cannot be given a copy of (a lock, a connection)."""


class CopyOnReadNamespace(dict[str, Any]):
    """The user's ``source`` namespace as a subagent sees it: each value deep-copied into
    this dict on its first lookup, so the subagent never holds one of the user's objects."""

    def __init__(self, source: Mapping[str, Any], hidden: frozenset[str] = frozenset()
                 ) -> None:
        super().__init__()
        self._source = source
        self._hidden = hidden
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and shell.user_ns is source:
            view = ShellView(shell, self)
            self["get_ipython"] = lambda: view

    def __missing__(self, name: str) -> Any:
        if name not in self._source:
            raise KeyError(name)
        value = self._source[name]
        if name not in self._hidden and not isinstance(value, _SHARED_TYPES):
            try:
                value = copy.deepcopy(value)
            except Exception as error:
                raise UncopyableVariable(
                    f"the user's variable {name!r} cannot be copied for a subagent "
                    f"({type(error).__name__}: {error}); a subagent works on copies so "
                    f"that the user's objects never change: recreate it or do without it"
                ) from None
        self[name] = value
        return value

    # every way of reading goes through the copy ------------------------------------

    def __contains__(self, name: object) -> bool:
        return dict.__contains__(self, name) or name in self._source

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def keys(self) -> Any:
        return list(self)

    def __iter__(self) -> Iterator[str]:
        yield from dict.keys(self)
        yield from (name for name in list(self._source) if not dict.__contains__(self, name))

    def __len__(self) -> int:
        return len(set(dict.keys(self)) | set(self._source))

    def items(self) -> Any:
        return [(name, self[name]) for name in list(self)]

    def values(self) -> Any:
        return [self[name] for name in list(self)]

    def readable(self) -> Mapping[str, Any]:
        """Every name with the value the subagent would read, without copying: for
        describing variables (``list_variables``), never for running code."""
        return ChainMap(dict(dict.items(self)), dict(self._source))


class ShellView:
    """``get_ipython()`` inside a subagent: the kernel's shell, except that ``user_ns`` is
    the subagent's namespace (code that stores results there keeps them to itself)."""

    def __init__(self, shell: Any, namespace: CopyOnReadNamespace) -> None:
        self._shell = shell
        self.user_ns = namespace

    def __getattr__(self, name: str) -> Any:
        return getattr(self._shell, name)


def readable(namespace: Mapping[str, Any]) -> Mapping[str, Any]:
    """The names and values of ``namespace``, for reading only."""
    return namespace.readable() if isinstance(namespace, CopyOnReadNamespace) else namespace
