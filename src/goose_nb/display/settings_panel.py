"""``%goose settings``: Goose Desktop's Lead/Worker Settings, as a notebook panel.

The widget: a checkbox that turns lead/worker mode on, a provider and model picker for the
lead, for the worker and for subagents (the model lists come from the providers
themselves, fetched on the session's background loop so that a server that does not answer
never holds up the kernel), the three numbers of the policy, an Apply button and a status
line. Apply turns what the user changed into notebook overrides (``Session.set_override``),
so the changes show in ``%goose config`` with the source ``notebook``; a bad value is
reported in the status line, never raised into the front end.

The static forms (what a saved notebook, GitHub or a terminal shows) are a table of the
current lead/worker settings and the ``%goose config KEY=VALUE ...`` line that sets them.
No API key is read into the panel or its static forms.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import logging
import shlex
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import ipywidgets

from goose_nb.config import KEYS_BY_NAME, PROVIDER_NAMES, Settings, coerce
from goose_nb.display.rich import RichText, table
from goose_nb.display.widgets import WithFallback
from goose_nb.errors import ConfigError, GooseError
from goose_nb.providers.base import LIST_MODELS_TIMEOUT
from goose_nb.secrets import scrub

if TYPE_CHECKING:
    from goose_nb.session import Session

logger = logging.getLogger("goose_nb.display.settings_panel")

#: the policy's numbers: (key, Settings field, label)
NUMBERS: tuple[tuple[str, str, str], ...] = (
    ("GOOSE_LEAD_TURNS", "lead_turns", "Initial lead turns"),
    ("GOOSE_LEAD_FAILURE_THRESHOLD", "lead_failure_threshold", "Failure threshold"),
    ("GOOSE_LEAD_FALLBACK_TURNS", "lead_fallback_turns", "Fallback turns"),
)

_LOADING = "loading models…"
_PICK = "pick or type a model"


async def models_of(session: Session, provider: str) -> list[str]:
    """``provider``'s model list through the session, ``[]`` when it cannot be had (the
    provider cannot be made, e.g. replay without a cassette, or its server does not say)."""
    try:
        instance = await session.provider(provider)
        return list(await asyncio.wait_for(instance.list_models(), LIST_MODELS_TIMEOUT + 1))
    except Exception as exc:  # a picker without a list still works: free text
        logger.debug("no model list for %s: %s: %s", provider, type(exc).__name__, exc)
        return []


# static forms ----------------------------------------------------------------------------


def config_line(settings: Settings) -> str:
    """The ``%goose config`` line that sets the lead/worker settings shown."""
    pairs: list[tuple[str, str]] = []
    if settings.provider:
        pairs.append(("GOOSE_PROVIDER", settings.provider))
    if settings.model:
        pairs.append(("GOOSE_MODEL", settings.model))
    if settings.lead_worker_enabled:
        if settings.lead_provider:
            pairs.append(("GOOSE_LEAD_PROVIDER", settings.lead_provider))
        pairs.append(("GOOSE_LEAD_MODEL", settings.lead_model or ""))
        pairs += [(key, str(getattr(settings, field))) for key, field, _ in NUMBERS]
    if settings.reasoning_effort:
        pairs.append(("GOOSE_REASONING_EFFORT", settings.reasoning_effort))
    if settings.budget is not None:
        pairs.append(("GOOSE_NB_BUDGET", f"{settings.budget:g}"))
    if settings.subagent_model:
        if settings.subagent_provider:
            pairs.append(("GOOSE_SUBAGENT_PROVIDER", settings.subagent_provider))
        pairs.append(("GOOSE_SUBAGENT_MODEL", settings.subagent_model))
    return " ".join(["%goose config", *(f"{key}={shlex.quote(value)}" for key, value in pairs)])


def _hints(settings: Settings, sources: dict[str, str]) -> list[tuple[str, str]]:
    """Notes under the line, as (text, command): how to turn lead/worker mode on or off."""
    if not settings.lead_worker_enabled:
        numbers = " ".join(f"{key}={getattr(settings, field)}" for key, field, _ in NUMBERS)
        return [("To turn lead/worker mode on:",
                 f"%goose config GOOSE_LEAD_MODEL=MODEL {numbers}")]
    source = sources["lead_model"]
    if source == "notebook":
        return [("To turn lead/worker mode off:", "%goose config GOOSE_LEAD_MODEL=")]
    return [(f"Lead/worker mode is on because GOOSE_LEAD_MODEL is set in the {source}; "
             "unset it there, then run", "%goose reload")]


def settings_forms(session: Session) -> tuple[RichText, str]:
    """The current lead/worker settings as (Markdown + plain text, HTML)."""
    settings, sources = session.settings, dict(session.sources)
    worker = settings.provider or "auto-detect"
    rows = [
        ["lead/worker mode", "GOOSE_LEAD_MODEL", "on" if settings.lead_worker_enabled else "off",
         sources["lead_model"]],
        ["lead provider", "GOOSE_LEAD_PROVIDER",
         settings.lead_provider or f"{worker} (same as worker)", sources["lead_provider"]],
        ["lead model", "GOOSE_LEAD_MODEL", settings.lead_model or "(not set)",
         sources["lead_model"]],
        ["worker provider", "GOOSE_PROVIDER", worker, sources["provider"]],
        ["worker model", "GOOSE_MODEL", settings.model or "provider default", sources["model"]],
    ]
    rows += [[label.lower(), key, str(getattr(settings, field)), sources[field]]
             for key, field, label in NUMBERS]
    rows += [
        ["reasoning effort", "GOOSE_REASONING_EFFORT", settings.reasoning_effort or "off",
         sources["reasoning_effort"]],
        ["session budget", "GOOSE_NB_BUDGET",
         f"${settings.budget:g}" if settings.budget is not None else "no limit",
         sources["budget"]],
        ["subagent provider", "GOOSE_SUBAGENT_PROVIDER",
         settings.subagent_provider or f"{worker} (same as worker)",
         sources["subagent_provider"]],
        ["subagent model", "GOOSE_SUBAGENT_MODEL",
         settings.subagent_model or "(not set: the session's models)",
         sources["subagent_model"]],
    ]
    headers = ["setting", "key", "value", "source"]
    grid = table("goose_nb lead/worker settings", headers, rows)
    notes = [("To set them:", config_line(settings)), *_hints(settings, sources)]
    markdown = "\n\n".join([grid.markdown, *(f"{text} `{command}`" for text, command in notes)])
    plain = "\n".join([grid.plain, "", *(f"{text} {command}" for text, command in notes)])
    cells = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(v)}</td>" for v in row)
        + "</tr>" for row in rows)
    head = "".join(f"<th style='text-align:left'>{h}</th>" for h in headers)
    page = (f"<div><b>goose_nb lead/worker settings</b><table><tr>{head}</tr>{cells}</table>"
            + "".join(f"<div>{html.escape(text)} <code>{html.escape(command)}</code></div>"
                      for text, command in notes)
            + "</div>")
    return RichText(markdown, plain), page


# the widget ------------------------------------------------------------------------------


class SettingsPanel(ipywidgets.VBox):
    """The Lead/Worker Settings widget of one session.

    ``apply()`` (the Apply button) sets a notebook override for each value the user
    changed; ``wait_for_models()`` waits for the model lists being fetched (for tests and
    scripts: the panel itself never waits for them).
    """

    def __init__(self, session: Session, on_apply: Callable[[], None] | None = None) -> None:
        settings = session.settings
        self.session = session
        self._on_apply = on_apply
        self._models: dict[str, list[str]] = {}
        self._pending: list[concurrent.futures.Future[Any]] = []
        self._quiet = False
        self._detected: str | None = None
        self._baseline: dict[str, Any] = {}
        #: the status line's text, without markup
        self.message = ""

        wide = {"description_width": "initial"}
        self.enabled = ipywidgets.Checkbox(description="Enable lead/worker mode", indent=False)
        self.lead_provider = ipywidgets.Dropdown(options=PROVIDER_NAMES, value=None,
                                                 description="Provider", style=wide)
        self.lead_model = ipywidgets.Combobox(description="Model", placeholder=_LOADING,
                                              ensure_option=False, style=wide)
        self.worker_provider = ipywidgets.Dropdown(options=PROVIDER_NAMES, value=None,
                                                   description="Provider", style=wide)
        self.worker_model = ipywidgets.Combobox(description="Model", placeholder=_LOADING,
                                                ensure_option=False, style=wide)
        self.subagent_provider = ipywidgets.Dropdown(options=PROVIDER_NAMES, value=None,
                                                     description="Provider", style=wide)
        self.subagent_model = ipywidgets.Combobox(description="Model", placeholder=_LOADING,
                                                  ensure_option=False, style=wide)
        self.reasoning_effort = ipywidgets.Dropdown(
            options=[("off", ""), ("low", "low"), ("medium", "medium"), ("high", "high")],
            value="", description="Reasoning effort", style=wide)
        self.budget = ipywidgets.Text(description="Session budget (USD)",
                                      placeholder="no limit", style=wide,
                                      layout={"width": "260px"})
        self.lead_turns, self.failure_threshold, self.fallback_turns = (
            ipywidgets.IntText(description=f"{label} (≥{KEYS_BY_NAME[key].minimum})",
                               style=wide, layout={"width": "260px"})
            for key, _, label in NUMBERS)
        self.apply_button = ipywidgets.Button(description="Apply", button_style="primary",
                                              icon="check")
        self.status_line = ipywidgets.HTML()
        super().__init__(children=[
            ipywidgets.HTML("<b>Lead/Worker Settings</b>"),
            self.enabled,
            ipywidgets.HTML("Lead model <span style='color:#555'>(the first turns, and "
                            "fallback)</span>"),
            ipywidgets.HBox([self.lead_provider, self.lead_model]),
            ipywidgets.HTML("Worker model <span style='color:#555'>(the other turns; the only "
                            "model when lead/worker is off)</span>"),
            ipywidgets.HBox([self.worker_provider, self.worker_model]),
            self.lead_turns, self.failure_threshold, self.fallback_turns,
            ipywidgets.HTML("Subagent model <span style='color:#555'>(subagents run on it "
                            "alone; empty: the session's models)</span>"),
            ipywidgets.HBox([self.subagent_provider, self.subagent_model]),
            ipywidgets.HBox([self.reasoning_effort, self.budget]),
            self.apply_button, self.status_line,
        ])

        self._show(settings)
        self.enabled.observe(lambda _: self._enable_lead_widgets(), "value")
        self.lead_provider.observe(lambda c: self._provider_picked(c, self.lead_model), "value")
        self.worker_provider.observe(lambda c: self._provider_picked(c, self.worker_model),
                                     "value")
        self.subagent_provider.observe(
            lambda c: self._provider_picked(c, self.subagent_model), "value")
        self.apply_button.on_click(lambda _: self.apply())
        if settings.provider is None:
            self._submit(self._detect_worker())
        else:
            self._load_models()

    # the widgets -------------------------------------------------------------------------

    @property
    def _numbers(self) -> tuple[ipywidgets.IntText, ...]:
        return (self.lead_turns, self.failure_threshold, self.fallback_turns)

    @property
    def _pickers(self) -> tuple[tuple[ipywidgets.Dropdown, ipywidgets.Combobox], ...]:
        return ((self.lead_provider, self.lead_model), (self.worker_provider, self.worker_model),
                (self.subagent_provider, self.subagent_model))

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        """Changes the panel makes itself are not the user's picks."""
        self._quiet, was = True, self._quiet
        try:
            yield
        finally:
            self._quiet = was

    def _show(self, settings: Settings) -> None:
        """Set every widget from ``settings``; that state is what Apply compares with."""
        worker = settings.provider or self._detected
        with self._quietly():
            self.enabled.value = settings.lead_worker_enabled
            self.worker_provider.value = worker
            self.worker_model.value = settings.model or ""
            self.lead_provider.value = settings.lead_provider or worker
            self.lead_model.value = settings.lead_model or ""
            self.subagent_provider.value = settings.subagent_provider or worker
            self.subagent_model.value = settings.subagent_model or ""
            self.reasoning_effort.value = settings.reasoning_effort or ""
            self.budget.value = f"{settings.budget:g}" if settings.budget is not None else ""
            for widget, (_, field, _) in zip(self._numbers, NUMBERS, strict=True):
                widget.value = getattr(settings, field)
        self._enable_lead_widgets()
        self._baseline = self._state()

    def _state(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled.value,
            "lead_provider": self.lead_provider.value,
            "lead_model": self.lead_model.value.strip(),
            "worker_provider": self.worker_provider.value,
            "worker_model": self.worker_model.value.strip(),
            "subagent_provider": self.subagent_provider.value,
            "subagent_model": self.subagent_model.value.strip(),
            "reasoning_effort": self.reasoning_effort.value,
            "budget": self.budget.value.strip(),
            **{key: widget.value for widget, (key, _, _) in zip(self._numbers, NUMBERS,
                                                                 strict=True)},
        }

    def _enable_lead_widgets(self) -> None:
        for widget in (self.lead_provider, self.lead_model, *self._numbers):
            widget.disabled = not self.enabled.value

    def _set_status(self, text: str, ok: bool | None = None) -> None:
        self.message = text
        mark, colour = ("", "#555") if ok is None else (
            ("✓ ", "#1b8a5a") if ok else ("✗ ", "#d62728"))
        self.status_line.value = (f"<span style='color:{colour}'>{mark}"
                                  f"{html.escape(text)}</span>")

    # model lists -----------------------------------------------------------------------

    def _submit(self, coro: Any) -> None:
        self._pending.append(self.session.runtime.submit(coro).done)

    def wait_for_models(self, timeout: float = 10.0) -> bool:
        """Wait until the model lists asked for so far have arrived (or ``timeout``);
        True when they all have."""
        _, waiting = concurrent.futures.wait(list(self._pending), timeout=timeout)
        return not waiting

    def _provider_picked(self, change: dict[str, Any], model: ipywidgets.Combobox) -> None:
        if self._quiet:
            return
        model.value = ""  # a model of the previous provider is not one of this one's
        self._load_models()

    def _load_models(self) -> None:
        """Show the lists of the providers picked, fetching those not known yet."""
        wanted = [name for name in dict.fromkeys(d.value for d, _ in self._pickers)
                  if name and name not in self._models]
        if not wanted:
            self._show_models()
            return
        for dropdown, combobox in self._pickers:
            if dropdown.value in wanted:
                combobox.placeholder = _LOADING
        self._submit(self._fetch(wanted))

    async def _fetch(self, names: Iterable[str]) -> None:
        """On the background loop: fetch the lists and show them (a widget's state may be
        set from this thread; the kernel's main thread may be idle, with nothing to hand
        the update to)."""
        names = list(names)
        lists = await asyncio.gather(*(models_of(self.session, name) for name in names))
        self._models.update(zip(names, lists, strict=True))
        self._show_models()

    def _show_models(self) -> None:
        for dropdown, combobox in self._pickers:
            models = self._models.get(dropdown.value) if dropdown.value else []
            if models is None:
                continue  # still loading
            combobox.options = tuple(models)
            combobox.placeholder = (_PICK if models else
                                    f"type a model name ({dropdown.value or 'no provider'} "
                                    "did not list its models)")

    async def _detect_worker(self) -> None:
        """GOOSE_PROVIDER is unset: show the provider that auto-detection picks."""
        try:
            self._detected = await self.session.worker_provider_name()
        except GooseError as exc:
            self._set_status(f"pick a worker provider: {exc}")
            self._show_models()
            return
        except Exception as exc:  # never into the front end
            self._set_status(f"could not detect the worker provider ({type(exc).__name__})")
            return
        with self._quietly():
            for name in ("worker_provider", "lead_provider", "subagent_provider"):
                if self._baseline[name] is None and getattr(self, name).value is None:
                    getattr(self, name).value = self._detected
                    self._baseline[name] = self._detected
        names = {d.value for d, _ in self._pickers if d.value and d.value not in self._models}
        if names:
            await self._fetch(names)
        else:
            self._show_models()

    # Apply -------------------------------------------------------------------------------

    def apply(self) -> None:
        """Set a notebook override for each value changed in the panel; the outcome, or
        what is wrong, goes to the status line. Never raises."""
        try:
            self._set_status(self._apply(), ok=True)
        except GooseError as exc:
            self._set_status(str(exc), ok=False)
        except Exception as exc:
            try:
                secrets = self.session.settings.secrets()
            except GooseError:
                secrets = []
            self._set_status(f"could not apply the settings: {type(exc).__name__}: "
                             f"{scrub(str(exc), secrets)[:200]}", ok=False)

    def _changes(self, settings: Settings) -> list[tuple[str, Any]]:
        """(key, value) for each setting the user changed; ``None`` removes an override."""
        now, base = self._state(), self._baseline
        changes: list[tuple[str, Any]] = []
        worker = now["worker_provider"]
        if worker and worker != base["worker_provider"]:
            changes.append(("GOOSE_PROVIDER", worker))
        if now["worker_model"] != base["worker_model"]:
            changes.append(("GOOSE_MODEL", now["worker_model"] or None))
        changes += self._subagent_changes(settings, now, base)
        for key, name in (("GOOSE_REASONING_EFFORT", "reasoning_effort"),
                          ("GOOSE_NB_BUDGET", "budget")):
            if now[name] != base[name]:
                changes.append((key, now[name] or None))
        if not now["enabled"]:
            if base["enabled"] or settings.lead_model:
                changes.append(("GOOSE_LEAD_MODEL", None))
            return changes
        if not now["lead_model"]:
            raise ConfigError("type a lead model to turn lead/worker mode on "
                              "(or untick \u201cEnable lead/worker mode\u201d)")
        if not base["enabled"] or now["lead_model"] != base["lead_model"]:
            changes.append(("GOOSE_LEAD_MODEL", now["lead_model"]))
        lead = now["lead_provider"]
        # the lead follows GOOSE_PROVIDER unless GOOSE_LEAD_PROVIDER is set: keep the lead
        # the panel shows when only the worker's provider changed
        follows = (settings.lead_provider or worker or settings.provider
                   or self._detected)
        if lead and (lead != base["lead_provider"] or lead != follows):
            changes.append(("GOOSE_LEAD_PROVIDER", lead))
        changes += [(key, now[key]) for key, _, _ in NUMBERS if now[key] != base[key]]
        return changes

    def _subagent_changes(self, settings: Settings, now: dict[str, Any],
                          base: dict[str, Any]) -> list[tuple[str, Any]]:
        """The subagent model's changes: its provider is set only with a model (alone it
        is a configuration error), and goes with it."""
        changes: list[tuple[str, Any]] = []
        model, provider = now["subagent_model"], now["subagent_provider"]
        if model != base["subagent_model"]:
            changes.append(("GOOSE_SUBAGENT_MODEL", model or None))
        if not model:
            if settings.subagent_provider:
                changes.append(("GOOSE_SUBAGENT_PROVIDER", None))
            return changes
        follows = settings.subagent_provider or now["worker_provider"] or self._detected
        if provider and (provider != base["subagent_provider"] or provider != follows):
            changes.append(("GOOSE_SUBAGENT_PROVIDER", provider))
        return changes

    def _apply(self) -> str:
        session = self.session
        changes = self._changes(session.settings)
        if not changes:
            self._show(session.settings)
            return "nothing to apply: the panel shows the current settings"
        for key, value in changes:  # all or nothing: check every value first
            if value is not None:
                coerce(KEYS_BY_NAME[key], value, "notebook")
        for key, value in changes:
            session.set_override(key, value)
        settings, sources = session.settings, session.sources
        done: list[str] = []
        kept: list[str] = []
        for key, value in changes:
            field = KEYS_BY_NAME[key].field
            now = getattr(settings, field)
            if value is None and now is not None:
                kept.append(f"{key} is still {now!s} from the {sources[field]}")
            elif value is None:
                done.append(f"{key} removed")
            else:
                done.append(f"{key}={value}")
        self._show(settings)
        self._load_models()
        if self._on_apply is not None:
            self._on_apply()
        text = f"applied as notebook overrides: {', '.join(done)}" if done else ""
        if kept:
            lead_kept = any(k.startswith("GOOSE_LEAD_MODEL ") for k in kept)
            text += ("; " if text else "") + "; ".join(kept) + (
                ": lead/worker mode stays on; unset it there (then %goose reload) to turn it off"
                if lead_kept else ": unset it there (then %goose reload) to clear it")
            raise ConfigError(text)
        return text


def settings_panel(session: Session,
                   on_apply: Callable[[WithFallback], None] | None = None) -> WithFallback:
    """The Lead/Worker Settings panel of ``session``: the widget and its static forms, which
    follow every Apply; ``on_apply(panel)`` is then called, to re-send the panel's display
    so that a notebook saved afterwards keeps the settings as applied."""
    static, page = settings_forms(session)
    panel: WithFallback

    def refresh_static() -> None:
        panel.static, panel.html = settings_forms(session)
        if on_apply is not None:
            on_apply(panel)

    panel = WithFallback(lambda: SettingsPanel(session, on_apply=refresh_static), static, page)
    return panel
