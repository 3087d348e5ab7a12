"""Token accounting per model and per role, kept for the whole session."""

from __future__ import annotations

from collections import defaultdict

from goose_nb.messages import ModelRef, Usage


class UsageLedger:
    """Running totals; a turn adds its steps, ``reset`` starts over."""

    def __init__(self) -> None:
        self._by_model: dict[ModelRef, Usage] = defaultdict(Usage)
        self._by_role: dict[str, Usage] = defaultdict(Usage)

    def add(self, model: ModelRef, usage: Usage, role: str | None = None) -> None:
        self._by_model[model] = self._by_model[model] + usage
        if role:
            self._by_role[role] = self._by_role[role] + usage

    def by_model(self) -> dict[ModelRef, Usage]:
        return dict(self._by_model)

    def by_role(self) -> dict[str, Usage]:
        return dict(self._by_role)

    def total(self) -> Usage:
        total = Usage()
        for usage in self._by_model.values():
            total = total + usage
        return total
