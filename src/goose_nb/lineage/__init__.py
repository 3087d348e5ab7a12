"""Lineage: which step of which turn, on which model, made each of the user's variables.

``store.py`` keeps the record as the agent works and tells, for a variable, the chain of
steps that touched it and whether the user's own cells changed it since.
"""

from __future__ import annotations

from goose_nb.lineage.store import Lineage, LineageEntry, UserChange, VariableLineage

__all__ = ["Lineage", "LineageEntry", "UserChange", "VariableLineage"]
