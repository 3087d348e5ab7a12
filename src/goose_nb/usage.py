"""Token accounting per model and per role, kept for the whole session.

The ledger keeps every step's usage as well as the running totals, because prices are per
request: Anthropic bills every token of a request above 200k input tokens at a higher rate,
so pricing a session's summed tokens would apply that rate to a session of many small
requests. ``goose_nb.pricing`` prices the steps one by one and adds the costs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from goose_nb.messages import ModelRef, Usage


@dataclass(frozen=True)
class UsageEntry:
    """One model call: which model, in which role (None when lead/worker is off), its tokens."""

    model: ModelRef
    role: str | None
    usage: Usage


class UsageLedger:
    """Running totals; a turn adds its steps, ``reset`` starts over."""

    def __init__(self) -> None:
        self._entries: list[UsageEntry] = []
        self._by_model: dict[ModelRef, Usage] = defaultdict(Usage)
        self._by_role: dict[str, Usage] = defaultdict(Usage)
        self._by_model_role: dict[tuple[ModelRef, str | None], Usage] = defaultdict(Usage)

    def add(self, model: ModelRef, usage: Usage, role: str | None = None) -> None:
        """Record one step. Any role string is kept (``lead``, ``worker``, ``subagent``...)."""
        role = role or None
        self._entries.append(UsageEntry(model, role, usage))
        self._by_model[model] = self._by_model[model] + usage
        self._by_model_role[model, role] = self._by_model_role[model, role] + usage
        if role:
            self._by_role[role] = self._by_role[role] + usage

    def entries(self) -> tuple[UsageEntry, ...]:
        """Every step in the order it was added (what costs are computed from)."""
        return tuple(self._entries)

    def by_model(self) -> dict[ModelRef, Usage]:
        return dict(self._by_model)

    def by_role(self) -> dict[str, Usage]:
        """Totals per role; steps taken with lead/worker off (no role) are left out."""
        return dict(self._by_role)

    def by_model_role(self) -> dict[tuple[ModelRef, str | None], Usage]:
        """Totals per (model, role) pair: the same model can serve two roles."""
        return dict(self._by_model_role)

    def total(self) -> Usage:
        total = Usage()
        for usage in self._by_model.values():
            total = total + usage
        return total
