"""Cheap fingerprints of the user's variables, to tell which ones a python call changed.

A fingerprint is the value's identity and type, its size (a DataFrame's or an array's shape
and columns, a container's length) and a bounded hash of its content: for DataFrames,
Series and arrays the first and last ``SAMPLE_ROWS`` rows, for lists and dicts the repr of
their first and last ``SAMPLE_ITEMS`` items. So binding, rebinding, adding a column,
appending and changing values near either end are seen; what is not: an in-place change
in the middle of a large value that keeps its shape (``df.iloc[500_000, 0] = 1``), and
changes inside objects of other types that keep their identity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

#: rows of each end of a DataFrame, Series or array that the hash reads
SAMPLE_ROWS = 50
#: items of each end of a list, tuple or dict that the hash reads
SAMPLE_ITEMS = 50
#: longest repr of one item the hash reads
ITEM_CHARS = 200

Fingerprint = tuple[Any, ...]


def _digest(parts: list[Any]) -> str:
    return hashlib.blake2b(repr(parts).encode("utf-8", "replace"), digest_size=8).hexdigest()


def _frame_sample(value: Any) -> Any:
    import pandas as pd

    rows = len(value)
    sample = value if rows <= 2 * SAMPLE_ROWS else pd.concat(
        [value.iloc[:SAMPLE_ROWS], value.iloc[-SAMPLE_ROWS:]])
    try:
        return int(pd.util.hash_pandas_object(sample, index=True).sum())
    except TypeError:  # unhashable cells (lists in a column)
        return repr(sample.to_dict())[:100_000]


def fingerprint(value: Any) -> Fingerprint:
    """What ``value`` looks like now, cheaply (see the module's limits)."""
    kind = type(value)
    module = kind.__module__.split(".")[0]
    head: tuple[Any, ...] = (id(value), f"{module}.{kind.__qualname__}")
    if module == "pandas" and kind.__name__ in ("DataFrame", "Series"):
        columns = tuple(map(str, value.columns)) if kind.__name__ == "DataFrame" else ()
        dtypes = tuple(map(str, value.dtypes)) if kind.__name__ == "DataFrame" \
            else (str(value.dtype),)
        return (*head, value.shape, columns, dtypes, _frame_sample(value))
    if module == "numpy" and kind.__name__ == "ndarray":
        flat = value.reshape(-1) if value.ndim else value.reshape(1)
        ends = flat[:SAMPLE_ROWS].tobytes() + flat[-SAMPLE_ROWS:].tobytes()
        return (*head, value.shape, str(value.dtype), hashlib.blake2b(
            ends, digest_size=8).hexdigest())
    if isinstance(value, dict):
        items = list(value.items())
        ends = items[:SAMPLE_ITEMS] + items[-SAMPLE_ITEMS:]
        return (*head, len(value), _digest([repr(i)[:ITEM_CHARS] for i in ends]))
    if isinstance(value, list | tuple | set | frozenset):
        seq = list(value) if isinstance(value, list | tuple) else sorted(map(repr, value))
        ends = seq[:SAMPLE_ITEMS] + seq[-SAMPLE_ITEMS:]
        return (*head, len(value), _digest([repr(i)[:ITEM_CHARS] for i in ends]))
    if isinstance(value, str | bytes | int | float | complex | bool) or value is None:
        return (*head, _digest([value if not isinstance(value, str | bytes)
                                else value[:100_000]]))
    return head


def fingerprints(variables: Mapping[str, Any]) -> dict[str, Fingerprint]:
    """Each variable's fingerprint; one that cannot be taken counts by identity alone."""
    found: dict[str, Fingerprint] = {}
    for name, value in variables.items():
        try:
            found[name] = fingerprint(value)
        except Exception:  # a value whose shape or items raise: identity is all we know
            found[name] = (id(value), type(value).__qualname__)
    return found


def changed_names(before: Mapping[str, Fingerprint], after: Mapping[str, Fingerprint]
                  ) -> tuple[str, ...]:
    """The names bound, rebound or changed between the two (deleted ones are left out)."""
    return tuple(name for name, mark in after.items() if before.get(name) != mark)
