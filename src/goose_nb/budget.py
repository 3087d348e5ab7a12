"""Budgets: dollars the session, or one cell, may spend on models.

With lead/worker and subagents multiplying the calls, a cell that runs away is the cost users
fear most. Before each step the agent estimates what it can cost at most (the request's
input tokens, counted on the safe side, and the step's whole output limit, priced as
output) and reserves that much of every budget it runs under; the step runs only when the
reservation fits, and afterwards its real cost replaces the reservation. Reserving, not
just checking, is what keeps parallel subagents sharing a cell's budget from overrunning it
together. A budget with no limit only counts (the session's, until ``GOOSE_NB_BUDGET`` is
set).
"""

from __future__ import annotations

from dataclasses import dataclass, field


def dollars(amount: float) -> str:
    """``$0.0123``: four decimals, as costs are shown everywhere else."""
    return f"${amount:,.4f}"


@dataclass
class Budget:
    """What ``scope`` (``cell``, ``session``) may spend, and what it has spent and holds."""

    scope: str
    limit: float | None = None
    spent: float = 0.0
    #: estimates of the steps running now, not yet settled
    reserved: float = field(default=0.0, repr=False)

    @property
    def left(self) -> float | None:
        return None if self.limit is None else self.limit - self.spent - self.reserved

    def reserve(self, estimate: float) -> bool:
        """Hold ``estimate`` for a step; False (and nothing held) when it does not fit."""
        left = self.left
        if left is not None and estimate > left + 1e-12:
            return False
        self.reserved += estimate
        return True

    def settle(self, estimate: float, cost: float) -> None:
        """The step is done: release its reservation and count what it really cost."""
        self.reserved = max(0.0, self.reserved - estimate)
        self.spent += cost

    def describe(self) -> str:
        """``cell budget $0.1000, $0.0420 spent``."""
        limit = dollars(self.limit) if self.limit is not None else "no limit"
        return f"{self.scope} budget {limit}, {dollars(self.spent)} spent"


def parse_budget(text: str, what: str = "--budget") -> float:
    """Dollars from ``0.10`` or ``$0.10``: a positive number, else a one-line ``ValueError``
    naming ``what``."""
    cleaned = text.strip().removeprefix("$")
    try:
        amount = float(cleaned)
    except ValueError:
        amount = -1.0
    if not amount > 0 or amount == float("inf"):
        raise ValueError(f"{what} needs an amount of dollars above 0, e.g. 0.10 (got {text!r})")
    return amount
