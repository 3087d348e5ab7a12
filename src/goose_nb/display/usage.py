"""Tokens and cost per model and per role, and what lead/worker saved (Markdown + plain text).

Money is shown only when ``GOOSE_NB_SHOW_COST`` is on: with it off, not one "$" appears,
so a notebook shared with that setting reveals nothing about spend. An unknown price shows
as "—", never as $0.
"""

from __future__ import annotations

from goose_nb.budget import Budget, dollars
from goose_nb.display.rich import RichText, table, without_maths
from goose_nb.messages import ModelRef, Usage
from goose_nb.pricing import CostSummary, PriceBook, savings
from goose_nb.usage import UsageLedger

UNKNOWN = "—"


def format_cost(value: float | None) -> str:
    """``$0.0123``; "—" when unknown; ``<$0.0001`` for a cost too small to show as non-zero
    (a few tokens of a cheap model), so it does not read as free."""
    if value is None:
        return UNKNOWN
    sign = "-" if value < 0 else ""
    value = abs(value)
    if 0 < value < 0.0001:
        return f"{sign}<$0.0001"
    return f"{sign}${value:,.4f}"


def _tokens(count: int) -> str:
    return f"{count:,}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def format_tokens(usage: Usage, unit: str = " tokens") -> str:
    """``120 in / 40 out tokens`` (``40 out (25 reasoning)`` where the provider says how
    much of the output was thinking); ``tokens not reported`` when no call of it reported
    usage (never a measured-looking 0); with some calls unreported, the reported counts
    and how many calls are missing from them."""
    if usage.unreported and not usage.total_tokens:
        return f"{unit.strip()} not reported".strip()
    thinking = f" ({usage.reasoning_tokens:,} reasoning)" if usage.reasoning_tokens else ""
    text = f"{usage.input_tokens:,} in / {usage.output_tokens:,} out{thinking}{unit}"
    if usage.unreported:
        text += f" (+{plural(usage.unreported, 'call')} not reported)"
    return text


def usage_view(
    ledger_or_summary: UsageLedger | CostSummary,
    show_cost: bool,
    lead: ModelRef | None,
    book: PriceBook | None = None,
    budget: Budget | None = None,
) -> RichText:
    """Totals per model and per role, then the savings line.

    ``lead`` is the lead model when lead/worker is on; None hides the savings line. A ledger
    is priced with ``book`` (genai-prices alone without one) against ``lead``; a summary is
    shown as it was computed.
    """
    if isinstance(ledger_or_summary, CostSummary):
        summary = ledger_or_summary
    else:
        summary = savings(ledger_or_summary, lead, book)
    budget_line = _budget_line(budget) if budget is not None else ""
    if not summary.models:
        text = "No model calls yet." + (f" {budget_line}" if budget_line else "")
        return RichText(without_maths(f"*{text}*"), text)

    def usage_cells(usage: Usage) -> list[str]:
        if usage.unreported and not usage.total_tokens:  # unknown, not zero
            return [UNKNOWN] * (2 + cache_read + cache_write)
        cells = [_tokens(usage.input_tokens), _tokens(usage.output_tokens)]
        if cache_read:
            cells.append(_tokens(usage.cache_read_tokens))
        if cache_write:
            cells.append(_tokens(usage.cache_write_tokens))
        return cells

    cache_read = summary.usage.cache_read_tokens > 0
    cache_write = summary.usage.cache_write_tokens > 0
    with_roles = any(row.roles for row in summary.models)
    headers = ["model", *(["role"] if with_roles else []), "tokens in", "tokens out"]
    headers += ["cache read"] * cache_read + ["cache write"] * cache_write
    headers += ["cost"] * show_cost

    rows: list[list[str]] = []
    for row in summary.models:
        cells = [str(row.model), *([", ".join(row.roles) or UNKNOWN] if with_roles else [])]
        rows.append(cells + usage_cells(row.usage) + [format_cost(row.cost)] * show_cost)
    if len(summary.models) > 1:
        cells = ["total", *([""] if with_roles else [])]
        rows.append(cells + usage_cells(summary.usage)
                    + [format_cost(summary.total_cost)] * show_cost)
    parts = [table("Usage by model", headers, rows)]

    if summary.roles:
        role_headers = ["role", "tokens in", "tokens out"]
        role_headers += ["cache read"] * cache_read + ["cache write"] * cache_write
        role_headers += ["cost"] * show_cost
        role_rows = [[name, *usage_cells(role.usage)] + [format_cost(role.cost)] * show_cost
                     for name, role in summary.roles.items()]
        parts.append(table("Usage by role", role_headers, role_rows))

    if summary.unreported:
        names = ", ".join(str(ref) for ref in summary.unreported)
        parts.append(_line(
            f"Token counts not reported by {names}: the server sent no usage for some calls, "
            "so their tokens are unknown (—) and not priced."))
    if show_cost:
        if lead is not None and summary.lead is not None:
            parts.append(_line(savings_line(summary)))
        if summary.unpriced:
            names = ", ".join(str(ref) for ref in summary.unpriced)
            parts.append(_line(
                f"No price known for {names}: add it to the file named by GOOSE_NB_PRICES "
                f"(USD per million tokens, e.g. {summary.unpriced[0].model}: "
                "{input: 0.15, output: 0.6})."))
    if budget_line:
        parts.append(_line(budget_line))
    markdown = without_maths("\n\n".join(p.markdown for p in parts))
    return RichText(markdown, "\n\n".join(p.plain for p in parts))


def _budget_line(budget: Budget) -> str:
    """``Budget: $0.0420 of $0.5000 spent, $0.4580 left (GOOSE_NB_BUDGET).``"""
    if budget.limit is None:
        return ""
    left = max(0.0, budget.limit - budget.spent)
    return (f"Budget: {dollars(budget.spent)} of {dollars(budget.limit)} spent, "
            f"{dollars(left)} left (GOOSE_NB_BUDGET).")


def savings_line(summary: CostSummary) -> str:
    """One sentence: what lead/worker cost against the same tokens all on the lead."""
    lead = summary.lead.model if summary.lead is not None else "the lead"
    if summary.lead_only_cost is None or summary.total_cost is None:
        if summary.lead is not None and summary.lead in summary.unpriced:
            why = f"no price known for the lead ({lead})"
        elif summary.unpriced:
            why = f"no price known for {', '.join(str(ref) for ref in summary.unpriced)}"
        else:
            why = "a step reported inconsistent token counts"
        return f"Lead/worker cost {format_cost(summary.total_cost)}; savings unknown: {why}"
    line = (f"Lead/worker cost {format_cost(summary.total_cost)}; the same tokens on the lead "
            f"({lead}) would have cost {format_cost(summary.lead_only_cost)}")
    saved = summary.saved if summary.saved is not None else 0.0
    fraction = summary.saved_fraction
    if saved < 0:  # the worker cost more than the lead would have: say so, not "saved -$…"
        percent = f" ({-fraction:.0%})" if fraction is not None else ""
        return f"{line}: {format_cost(-saved)} more{percent}"
    percent = f" ({fraction:.0%})" if fraction is not None else ""
    return f"{line}: saved {format_cost(saved)}{percent}"


def _line(text: str) -> RichText:
    """A sentence, the same in Markdown and plain text."""
    return RichText(text, text)
