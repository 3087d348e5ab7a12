"""``%goose status`` and ``%goose config`` as tables (Markdown and plain text)."""

from __future__ import annotations

from goose_nb.config import KEYS, display_value
from goose_nb.display.rich import RichText, table
from goose_nb.display.usage import format_tokens
from goose_nb.errors import ConfigError
from goose_nb.session import Session


def config_view(session: Session, only: list[str] | None = None) -> RichText:
    """Every key (or ``only`` these), its value with secrets masked, and its source."""
    settings, sources = session.settings, session.sources
    rows = [
        [key.name, display_value(settings, key), sources[key.field]]
        for key in KEYS
        if only is None or key.name in only
    ]
    return table("goose_nb settings", ["key", "value", "source"], rows)


def status_view(session: Session) -> RichText:
    """Model, conversation size and token totals; a configuration error is shown, not raised."""
    try:
        settings = session.settings
    except ConfigError as exc:
        return RichText(f"**goose_nb** — configuration error: {exc}",
                        f"goose_nb: configuration error: {exc}")
    provider = settings.provider or "auto-detect"
    model = settings.model or "provider default"
    total = session.usage.total()
    rows = [
        ["model" if not settings.lead_worker_enabled else "worker", f"{provider} / {model}"],
    ]
    if settings.lead_worker_enabled and session.policy is not None:
        lead_provider = settings.lead_provider or provider
        rows += [
            ["lead", f"{lead_provider} / {settings.lead_model}"],
            ["lead/worker", session.policy.describe()],
        ]
    rows += [
        ["approval mode", settings.mode],
        ["turns", str(len(session.turns))],
        ["messages in history", str(len(session.history))],
        ["tokens", format_tokens(total, unit="")],
    ]
    plan = session.current_plan
    if plan is not None:
        done = sum(step.done for step in plan.steps)
        rows.append(["plan", f"{plan.title} ({done} of {len(plan.steps)} steps done)"])
    elif session.plan_questions:
        rows.append(["plan", f"{len(session.plan_questions)} planner question(s) open"])
    if settings.provider == "replay":
        rows.append(["cassette", settings.cassette or "(not set)"])
    if settings.record:
        rows.append(["recording to", settings.record])
    if extensions := [row for row in session.extensions.rows() if row.enabled]:
        rows.append(["extensions", "; ".join(
            f"{row.name}: {row.status}" + (f" ({len(row.tools)} tools)" if row.tools else "")
            for row in extensions)])
    for model_ref, usage in session.usage.by_model().items():
        rows.append([f"tokens · {model_ref}", format_tokens(usage, unit="")])
    return table("goose_nb session", ["", ""], rows)
