"""``%goose export --check``: does the exported code give the agent's variables again?

Before each turn the session keeps a copy of the user's variables (``TurnInputs``), as long
as they are small enough: at most ``GOOSE_NB_CHECK_MEMORY_MB`` in all (50 MB unless set),
larger values are left out and named. The check runs the exported code in a fresh
namespace seeded with the copy kept before the first exported turn, then compares each
variable the exported calls changed with the agent's own result, as the lineage recorded
it after the agent's last step on it: same type, shape, columns and sampled content
(identity aside, since the values are new).
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from goose_nb.lineage.store import LineageEntry
from goose_nb.tools.fingerprints import Fingerprint, fingerprint
from goose_nb.tools.python_exec import execute


def size_of(value: Any) -> int:
    """A value's size in bytes, cheaply: a DataFrame's or an array's data, else
    ``sys.getsizeof`` (which undercounts containers; they are copied whole anyway)."""
    memory = getattr(value, "memory_usage", None)
    if callable(memory) and hasattr(value, "columns"):
        return int(memory(deep=False).sum())  # deep=True reads every string: too slow
    nbytes = getattr(value, "nbytes", None)
    return int(nbytes) if isinstance(nbytes, int) else sys.getsizeof(value)


@dataclass
class TurnInputs:
    """The user's variables as they were before one turn: copies, and what was too large
    (or could not be copied) to keep."""

    values: dict[str, Any] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)

    @classmethod
    def keep(cls, variables: Mapping[str, Any], limit: int) -> TurnInputs:
        """Copies of ``variables``, at most ``limit`` bytes of them in all."""
        kept = cls()
        room = limit
        for name, value in variables.items():
            size = size_of(value)
            if size > room:
                kept.left_out[name] = f"{size:,} bytes, over the {limit:,} kept"
                continue
            try:
                kept.values[name] = copy.deepcopy(value)
            except Exception as exc:  # an open connection, a lock: not copyable
                kept.left_out[name] = f"cannot be copied ({type(exc).__name__})"
                continue
            room -= size
        return kept


@dataclass(frozen=True)
class CheckedName:
    name: str
    reproduced: bool
    detail: str


def _without_identity(mark: Fingerprint) -> Fingerprint:
    return mark[1:]


def check_export(code: str, inputs: TurnInputs, calls: Sequence[LineageEntry],
                 agent_result: Callable[[str], Fingerprint | None]) -> list[CheckedName]:
    """Run ``code`` on a copy of ``inputs`` and compare every name ``calls`` changed with
    ``agent_result(name)``, the fingerprint the agent's last step left."""
    namespace: dict[str, Any] = copy.deepcopy(inputs.values)
    run = execute(code, namespace, str)
    names = list(dict.fromkeys(name for call in calls for name in call.names))
    if run.error is not None:
        why = f"the exported code failed: {type(run.error).__name__}: {run.error}"
        return [CheckedName(name, False, why) for name in names]
    checked = []
    for name in names:
        expected = agent_result(name)
        if name not in namespace:
            checked.append(CheckedName(name, False, "not made by the exported code"))
        elif expected is None:
            checked.append(CheckedName(name, False, "the agent's result was not recorded"))
        elif _without_identity(fingerprint(namespace[name])) == _without_identity(expected):
            checked.append(CheckedName(name, True, "same type, shape and sampled content"))
        else:
            checked.append(CheckedName(name, False, _difference(namespace[name], expected)))
    return checked


def _difference(value: Any, expected: Fingerprint) -> str:
    got = _without_identity(fingerprint(value))
    want = _without_identity(expected)
    if got[0] != want[0]:
        return f"a {got[0]}, the agent made a {want[0]}"
    if len(got) > 1 and len(want) > 1 and got[1] != want[1]:
        return f"size {got[1]}, the agent's {want[1]}"
    if len(got) > 2 and len(want) > 2 and got[2] != want[2]:
        return f"columns {list(got[2])}, the agent's {list(want[2])}"
    return "same size, different content"
