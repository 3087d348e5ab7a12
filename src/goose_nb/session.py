"""The session: everything goose_nb knows in one kernel, and the composition root.

Settings, conversation history, turn records, usage and the event log live here, so they
survive from cell to cell; the magics are a thin face over this class, and scripts and tests
use it directly (``Session().ask("...")``). It builds the providers, tools and agents, and is
the host the agent and the features declare they need (``agent/host.py``): it imports the
features (planning, recipes, subagents), never the other way round.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from goose_nb.agent.lead_worker import LeadWorkerPolicy, PolicyConfig
from goose_nb.config import (
    KEYS,
    KEYS_BY_NAME,
    ResolvedSettings,
    Settings,
    coerce,
    mask_secret,
    resolve_settings,
)
from goose_nb.errors import ConfigError, GooseError
from goose_nb.events import (
    AnswerDelta,
    Event,
    Notice,
    Role,
    StepFailed,
    StepRestarted,
    ThinkingDelta,
    TurnFinished,
)
from goose_nb.logs import apply_rust_log, scrub_records_with
from goose_nb.messages import Message, ModelRef, Usage
from goose_nb.providers.pool import ProviderPool
from goose_nb.runtime import BackgroundLoop
from goose_nb.secrets import environment_secrets, scrub, url_secrets
from goose_nb.usage import UsageLedger

if TYPE_CHECKING:
    from goose_nb.agent.loop import Agent
    from goose_nb.agent.turns import TurnOptions, TurnRecord
    from goose_nb.budget import Budget
    from goose_nb.extensions import ExtensionConfig, Extensions
    from goose_nb.lineage import VariableLineage
    from goose_nb.lineage.check import TurnInputs
    from goose_nb.planning.plan import Plan, PlannerAnswer
    from goose_nb.pricing import PriceBook
    from goose_nb.providers.base import Provider
    from goose_nb.providers.http import RetryPolicy
    from goose_nb.recipes import Recipe
    from goose_nb.subagents.run import RunLimits
    from goose_nb.subagents.spec import Mode, SubagentTask
    from goose_nb.subagents.summary import SubagentSummary
    from goose_nb.tools import Tool
    from goose_nb.tools.runner import Approver, ToolRunner

logger = logging.getLogger("goose_nb.session")
#: the turns whose inputs are kept for ``%goose export --check``
KEPT_TURN_INPUTS = 3


def _turn_options() -> TurnOptions:
    from goose_nb.agent.turns import TurnOptions

    return TurnOptions()

#: the events whose text may quote a server, an exception or a tool: scrubbed on emit
#: events of which a stream sends thousands: joined on delivery, not kept in ``events``
_DELTAS = (AnswerDelta, ThinkingDelta)
_EVENT_TEXT = {Notice: "text", TurnFinished: "error", StepRestarted: "reason",
               StepFailed: "detail"}

Listener = Callable[[Event], None]


class Session:
    """One agent conversation with its configuration and accounting.

    ``overrides`` are notebook-level settings (``{"GOOSE_MODEL": "gpt-4o-mini"}``), the
    highest of the four configuration sources. ``environ`` and ``config_path`` default to
    the process environment and Goose's config file. ``namespace`` is where the ``python``
    tool runs (by default IPython's user namespace, else ``__main__``'s); ``approver``
    decides on tool calls that need approval (by default an ``input()`` prompt).
    """

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        config_path: str | Path | None = None,
        retry: RetryPolicy | None = None,
        runtime: BackgroundLoop | None = None,
        namespace: dict[str, Any] | None = None,
        approver: Approver | None = None,
        budget: float | None = None,
    ) -> None:
        """``budget``: dollars the session may spend (``GOOSE_NB_BUDGET`` as a notebook
        value); the other keywords are for tests and embedding."""
        from goose_nb.budget import Budget
        from goose_nb.providers.http import RetryPolicy

        if budget is not None:
            overrides = {**(overrides or {}), "GOOSE_NB_BUDGET": str(budget)}
        self._environ = environ
        self._config_path = config_path
        #: the file tools' workspace unless GOOSE_NB_WORKSPACE says otherwise
        self.started_in = Path.cwd()
        self._overrides: dict[str, str] = {}
        self._resolved: ResolvedSettings | None = None
        self._config_error: ConfigError | None = None
        self.retry = retry or RetryPolicy()
        self.runtime = runtime or BackgroundLoop()
        self.namespace, self.hidden_names = _default_namespace() if namespace is None else (
            namespace, frozenset())
        self.approver = approver
        self.history: list[Message] = []
        #: one line per turn dropped from the history to fit the context window
        self.context_digest = ""
        self.turns: list[TurnRecord] = []
        self.events: list[Event] = []
        self.usage = UsageLedger()
        self._budget = Budget("session")
        from goose_nb.lineage import Lineage

        #: which of the agent's python calls made each of the user's variables
        self.variable_lineage = Lineage()
        #: turn number -> the user's variables before it (``%goose export --check``)
        self.turn_inputs: dict[int, TurnInputs] = {}
        #: the execution count of the notebook cell running now (the magics set it)
        self.running_cell: int | None = None
        #: the last subagent run's summary (``%goose export task_1`` reads its tasks' code)
        self.last_subagents: SubagentSummary | None = None
        self._listeners: list[Listener] = []
        #: events from the loop thread waiting for the main thread, delivered in batches
        self._outbox: collections.deque[Event] = collections.deque()
        self._delivery_queued = False
        self.providers = ProviderPool(lambda: self.settings)
        #: the lead/worker state machine; None while lead/worker mode is off
        self.policy: LeadWorkerPolicy | None = None
        #: the plan waiting to be run (``%%goose_plan``), and the planner's open questions
        self.current_plan: Plan | None = None
        self.plan_questions: list[str] = []
        self._price_book: PriceBook | None = None
        #: a broken prices file has been reported since the last reload
        self._prices_warned = False
        self._busy = threading.Lock()
        from goose_nb.extensions import Extensions

        #: the MCP servers of config.yaml's ``extensions:`` and of the notebook
        self.extensions = Extensions(environ=self._environ_now, scrub=self.scrub,
                                     report=self._warn, platform=True)
        for name, value in (overrides or {}).items():
            self.set_override(name, value)
        self.reload()

    # configuration -------------------------------------------------------------------

    def reload(self) -> None:
        """Re-read config.yaml and the environment. A bad value is kept as an error that
        every model call reports until it is fixed, so the session itself stays usable."""
        try:
            self._resolved = resolve_settings(self._overrides, self._environ, self._config_path)
            self._config_error = None
        except ConfigError as exc:
            self._resolved = None
            self._config_error = exc
        self.providers.reset()
        self._price_book = None
        self._prices_warned = False
        scrub_records_with(self.scrub)
        apply_rust_log(os.environ if self._environ is None else self._environ)
        if self._resolved is not None:
            self._configure_policy(self._resolved.settings)
            self._configure_extensions(self._resolved)

    def _configure_extensions(self, resolved: ResolvedSettings) -> None:
        from goose_nb.extensions import read_extensions

        where = str(resolved.path) if resolved.path is not None else "config.yaml"
        self.extensions.configure(*read_extensions(resolved.extensions, where=where))

    def _configure_policy(self, settings: Settings) -> None:
        """Lead/worker is on exactly when GOOSE_LEAD_MODEL is set; live changes of its
        numbers keep the session's state (the turn count, failures, fallback)."""
        if not settings.lead_worker_enabled:
            self.policy = None
            return
        config = PolicyConfig(settings.lead_turns, settings.lead_failure_threshold,
                              settings.lead_fallback_turns)
        if self.policy is None:
            self.policy = LeadWorkerPolicy(config)
        else:
            self.policy.configure(config)

    @property
    def settings(self) -> Settings:
        if self._config_error is not None:
            raise self._config_error
        assert self._resolved is not None
        return self._resolved.settings

    def secrets(self) -> list[str]:
        """Every secret known now: the settings' (keys, host URLs, secret-named variables
        of the session's environment), the extensions' (their envs, env_keys, headers) and
        the process environment's, which a tool can print. Never raises: with a
        configuration error, what the environments hold."""
        found = environment_secrets(os.environ) + self.extensions.secrets()
        if self._resolved is not None:
            return found + self._resolved.settings.secrets(self._environ)
        environ = os.environ if self._environ is None else self._environ
        found += environment_secrets(environ)
        for key in KEYS:
            if key.kind == "url" and environ.get(key.name):
                found += url_secrets(environ[key.name])
        return found

    def scrub(self, text: str) -> str:
        """``text`` safe to show, save, log or send to a model."""
        return scrub(text, self.secrets())

    @property
    def sources(self) -> Mapping[str, str]:
        _ = self.settings  # raises the configuration error, if any
        assert self._resolved is not None
        return self._resolved.sources

    @property
    def overrides(self) -> dict[str, str]:
        """The notebook overrides, with secrets masked (safe to print)."""
        return {
            name: mask_secret(SecretStr(value)) if KEYS_BY_NAME[name].kind == "secret" else value
            for name, value in self._overrides.items()
        }

    def set_override(self, name: str, value: Any) -> None:
        """Set a notebook-level value (``None`` or ``""`` removes it); validated at once."""
        key = KEYS_BY_NAME.get(name.upper())
        if key is None:
            raise ConfigError(f"unknown setting {name}; `%goose config` lists the keys")
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None or str(value) == "":
            self._overrides.pop(key.name, None)
        else:
            coerce(key, value, "notebook")
            self._overrides[key.name] = str(value)
        if self._resolved is not None or self._config_error is not None:
            self.reload()

    # events --------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event, on the main thread; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    @contextlib.contextmanager
    def listening(self, *listeners: Listener) -> Iterator[None]:
        """``with session.listening(view):`` the listeners hear every event of the block,
        and stop hearing when it ends, however it ends."""
        unsubscribes = [self.subscribe(listener) for listener in listeners]
        try:
            yield
        finally:
            for unsubscribe in unsubscribes:
                unsubscribe()

    def emit(self, event: Event) -> None:
        """Hand ``event`` to the listeners on the main thread.

        From the loop thread, events wait in an outbox and one queued call delivers all that
        arrived meanwhile, with consecutive answer deltas joined: a stream of thousands of
        chunks costs a deque append each, not a cross-thread call per chunk per listener.
        """
        field = _EVENT_TEXT.get(type(event))
        if field is not None and (text := getattr(event, field)):
            scrubbed: Any = dataclasses.replace(event, **{field: self.scrub(text)})  # type: ignore[arg-type]
            event = scrubbed
        if not isinstance(event, _DELTAS):
            self.events.append(event)
            self.variable_lineage.hear(event, self.running_cell)
            logger.debug("%s", event)
        if not self._listeners:
            return
        if self.runtime.in_loop_thread():
            self._outbox.append(event)
            if not self._delivery_queued:
                self._delivery_queued = True
                self.runtime.post_to_main(self._deliver)
        else:
            self._deliver()  # what the loop thread sent first is heard first
            self._dispatch(event)

    def _deliver(self) -> None:
        self._delivery_queued = False  # before reading: a later append queues a new call
        # a run of deltas of one kind and step, not yet dispatched
        deltas: list[AnswerDelta | ThinkingDelta] = []
        while self._outbox:
            event = self._outbox.popleft()
            if isinstance(event, _DELTAS) and (not deltas or (
                    type(deltas[0]), deltas[0].turn, deltas[0].step) == (
                    type(event), event.turn, event.step)):
                deltas.append(event)
                continue
            self._dispatch_deltas(deltas)
            if isinstance(event, _DELTAS):
                deltas = [event]
            else:
                deltas = []
                self._dispatch(event)
        self._dispatch_deltas(deltas)

    def _dispatch_deltas(self, deltas: list[AnswerDelta | ThinkingDelta]) -> None:
        if deltas:
            first = deltas[0]
            self._dispatch(type(first)(first.turn, first.step, "".join(d.text for d in deltas)))

    def _dispatch(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)

    # models --------------------------------------------------------------------------

    async def provider(self, name: str) -> Provider:
        """The provider instance for ``name``, created once per settings version."""
        return await self.providers.provider(name)

    async def worker_provider_name(self) -> str:
        """``GOOSE_PROVIDER``, or the detected provider (detected once per settings)."""
        return await self.providers.worker_provider_name()

    async def model_for_role(self, role: Role | None) -> tuple[ModelRef, Provider]:
        """Which provider and model answer a step for ``role`` (None: lead/worker off)."""
        return await self.providers.model_for_role(role)

    # what the agent works with -----------------------------------------------------

    def tool_runner(
        self,
        namespace: dict[str, Any] | None = None,
        extra_tools: Sequence[Tool] = (),
        refused: Mapping[str, str] | None = None,
        builtins: bool = True,
    ) -> ToolRunner:
        """The builtin tools (unless ``builtins`` is false: the planner has none) plus
        ``extra_tools``, under the session's approval mode, acting on ``namespace`` (by
        default the user's own)."""
        from goose_nb.tools import BUILTIN_TOOLS, ToolContext
        from goose_nb.tools.approval import input_approver
        from goose_nb.tools.runner import ToolRunner

        configured = self.settings.workspace
        context = ToolContext(namespace=self.namespace if namespace is None else namespace,
                              track_changes=namespace is None,
                              run_in_main=self.runtime.call_in_main, scrub=self.scrub,
                              cwd=Path.cwd(), hidden=self.hidden_names,
                              workspace=Path(configured).expanduser() if configured
                              else self.started_in)
        approver = self.approver or input_approver(self.runtime.call_in_main)
        tools = [*BUILTIN_TOOLS, *extra_tools] if builtins else list(extra_tools)
        return ToolRunner(tools, context, self.settings.mode, approver, refused,
                          toolsets=[self.extensions] if builtins else [])

    def main_tool_runner(self) -> ToolRunner:
        """The main agent's tools: the builtins, and with ``ALPHA_FEATURES`` on the subagent
        tools, so the model itself may delegate."""
        if not self.settings.alpha_features:
            return self.tool_runner()
        from goose_nb.subagents.tools import SubagentToolbox

        return self.tool_runner(extra_tools=SubagentToolbox(self).tools)

    def hints(self) -> str:
        """The user's ``.goosehints`` (Goose config folder, then the current folder)."""
        from goose_nb.context import load_hints

        return load_hints(Path.cwd(), Path.home())

    def price_book(self) -> PriceBook:
        """Prices for this session's models (``GOOSE_NB_PRICES`` over genai-prices); a bad
        prices file is a ``ConfigError``."""
        if self._price_book is None:
            from goose_nb.pricing import PriceBook

            self._price_book = PriceBook.from_settings(self.settings)
        return self._price_book

    @property
    def session_budget(self) -> Budget:
        """What the session has spent, against ``GOOSE_NB_BUDGET`` as it is now."""
        self._budget.limit = self.settings.budget
        return self._budget

    async def confirm(self, question: str) -> bool | None:
        from goose_nb.tools.approval import ask_yes_no

        result: bool | None = await self.runtime.call_in_main(lambda: ask_yes_no(question))
        return result

    def _keep_turn_inputs(self) -> None:
        """The user's variables before the next turn, for ``%goose export --check``; kept
        for the last ``KEPT_TURN_INPUTS`` turns only, each at most
        ``GOOSE_NB_CHECK_MEMORY_MB`` (0: none kept)."""
        from goose_nb.lineage.check import TurnInputs
        from goose_nb.tools.variables import user_variables

        limit = self.settings.check_memory_mb * 1_000_000
        if not limit:
            self.turn_inputs.clear()
            return
        number = len(self.turns) + 1
        self.turn_inputs[number] = TurnInputs.keep(
            user_variables(self.namespace, self.hidden_names), limit)
        for old in [n for n in self.turn_inputs if n <= number - KEPT_TURN_INPUTS]:
            del self.turn_inputs[old]

    def lineage(self, name: str) -> VariableLineage:
        """The agent's steps that bound, rebound or changed ``name`` (newest first: turn,
        step, model, role, code) and the user's cells that changed it since."""
        return self.variable_lineage.of(name)

    def step_price(self, model: ModelRef, usage: Usage) -> float | None:
        try:
            return self.price_book().cost(model, usage)
        except ConfigError:
            return None

    def turn_cost(self, turn: TurnRecord) -> float | None:
        """What a turn's steps cost; None when no step used a token (a turn that failed
        before any answer has nothing to price) or a price is unknown (or the prices file
        is broken: the footer then shows no figure, and ``%goose usage`` says why)."""
        if not any(step.usage.input_tokens or step.usage.output_tokens for step in turn.steps):
            return None
        costs = [self.step_price(step.model, step.usage) for step in turn.steps]
        return None if None in costs else sum(c for c in costs if c is not None)

    def lead_model(self) -> ModelRef | None:
        """The lead model when lead/worker is on (its provider as far as it is known)."""
        settings = self.settings
        if not settings.lead_model:
            return None
        for model, role in self.usage.by_model_role():
            if role == "lead" and model.model == settings.lead_model:
                return model  # as its calls showed it: a replay shows the recorded provider
        provider = settings.lead_provider or settings.provider or self.providers.detected
        # provider not known before the first turn: the price table guesses it from the
        # model name, as it does for replayed models
        return ModelRef(provider=provider or "replay", model=settings.lead_model)

    def context_limit(self, model: str, role: Role | None = None) -> int:
        """The window to trim to: the role's own limit, else GOOSE_CONTEXT_LIMIT, else the
        model's known window."""
        from goose_nb.context import context_limit

        settings = self.settings
        by_role = {"lead": settings.lead_context_limit, "worker": settings.worker_context_limit}
        return context_limit(model, (by_role.get(role) if role else None)
                             or settings.context_limit)

    # turns ---------------------------------------------------------------------------

    def ask(self, prompt: str, options: TurnOptions | None = None, *,
            budget: float | None = None) -> TurnRecord:
        """Run one turn and wait for it (from the main thread, e.g. a notebook cell);
        ``budget``: dollars this turn may spend (``%%goose --budget``)."""
        from goose_nb.agent.loop import Agent
        from goose_nb.agent.turns import cell_budget

        prompt = self._check_prompt(prompt)
        if budget is not None:
            options = dataclasses.replace(options or _turn_options(), budget=cell_budget(budget))
        return self.run_agent(Agent(self, self, options), prompt)

    async def aask(self, prompt: str, options: TurnOptions | None = None) -> TurnRecord:
        """Run one turn from async code (any event loop, including the notebook's)."""
        from goose_nb.agent.loop import Agent

        prompt = self._check_prompt(prompt)
        with self._exclusive():
            return await self.runtime.arun(Agent(self, self, options).run_turn(prompt))

    def run_agent(self, agent: Agent, prompt: str) -> TurnRecord:
        """Run one turn of ``agent`` (the main one, a planner's, a delegating one) and
        wait for it."""
        self._prepare_prices()
        self._keep_turn_inputs()
        with self._exclusive():
            return self.runtime.run(agent.run_turn(prompt))

    # the features: planning/, subagents/ and recipes/ do the work ---------------------

    def plan(self, prompt: str) -> PlannerAnswer:
        """Ask the planner for questions or a plan (no tool runs); the plan waits in
        ``current_plan`` for ``run_plan``, the questions in ``plan_questions``."""
        from goose_nb.planning.run import ask_planner

        answer = ask_planner(self, self._check_prompt(prompt))
        if answer.kind == "plan":
            self.current_plan, self.plan_questions = answer.plan, []
        elif answer.kind == "questions":
            self.plan_questions = answer.questions
        return answer

    def run_plan(self) -> TurnRecord:
        """Carry out ``current_plan`` as one turn of the normal agent (lead/worker and all)."""
        from goose_nb.planning.run import carry_out_plan

        if self.current_plan is None:
            raise GooseError("there is no plan to run: write a request in a %%goose_plan "
                             "cell first")
        return carry_out_plan(self, self.current_plan)

    def run_subagents(
        self,
        tasks: Sequence[SubagentTask | str | Mapping[str, Any]],
        *,
        parallel: bool = False,
        timeout: float | None = None,
        max_turns: int | None = None,
        max_concurrency: int | None = None,
        limits: RunLimits | None = None,
        model: str | None = None,
        budget: float | None = None,
    ) -> SubagentSummary:
        """Run tasks (prompt strings, task mappings or ``SubagentTask``) in subagents and
        wait for the summary. Unset limits come from the GOOSE_SUBAGENT_* settings;
        ``limits`` gives them all at once. ``model`` (``"provider/model"`` or a model of the
        worker's provider) is the model of every task that names none of its own;
        ``budget``, dollars the run may spend, its subagents together."""
        from goose_nb.subagents.run import as_tasks, run_subagents, subagent_limits

        parsed = as_tasks(tasks)
        if model:
            parsed = [task if task.model or task.extension
                      else task.model_copy(update={"model": model}) for task in parsed]
        limits = limits or subagent_limits(self.settings, "parallel" if parallel else
                                           "sequential", timeout, max_turns, max_concurrency,
                                           budget)
        self._prepare_prices()
        with self._exclusive():
            self.last_subagents = self.runtime.run(run_subagents(self, parsed, limits))
        return self.last_subagents

    def delegate(self, prompt: str, limits: RunLimits, forced_mode: Mode | None = None, *,
                 model: str | None = None) -> SubagentSummary:
        """A request in words that the model splits into subagent tasks itself, as a turn
        of the main agent with the subagent tools; returns the last run's summary.
        ``model`` is the model of the tasks the model gives none (the user's choice)."""
        from goose_nb.subagents.tools import delegate

        self.last_subagents = delegate(self, self._check_prompt(prompt), limits, forced_mode,
                                       model)
        return self.last_subagents

    def _check_prompt(self, prompt: str) -> str:
        if not prompt or not prompt.strip():
            raise GooseError("the prompt is empty: write what you want the agent to do")
        _ = self.settings  # a configuration error is reported before anything starts
        self._prepare_prices()
        return prompt.strip()

    def _prepare_prices(self) -> None:
        """Load the price table now, on the calling thread, not mid-turn on the loop. A
        broken prices file only costs the cost figures: the first turn after each
        (re)load says so in a warning, and ``%goose usage`` names it every time."""
        try:
            self.price_book()
        except ConfigError as exc:
            if not self._prices_warned:
                self._prices_warned = True
                self.emit(Notice(f"costs are not shown: {exc}", "warning"))

    def _exclusive(self) -> threading.Lock:
        if self._busy.locked():
            raise GooseError("a turn is already running in this session; wait for it to end")
        return self._busy

    def close(self) -> None:
        """Close the HTTP client and stop the background loop; both restart on next use."""
        self._stop_extensions()
        if self.providers.connected:
            self.runtime.run(self.providers.aclose())
        self.providers.reset()
        self.runtime.close()

    def scoped_extensions(self, configs: Sequence[ExtensionConfig],
                          names: Sequence[str] = ()) -> Extensions:
        """Extensions for one run only (a recipe's entries, and the session's extensions
        it names that are disabled here): started by the run's first step, stopped with
        ``stop_all()`` when it ends."""
        from goose_nb.extensions import Extensions

        scoped = Extensions(environ=self._environ_now, scrub=self.scrub,
                            report=self._warn)
        named, problems = self.extensions.named(names)
        scoped.configure([*configs, *named], problems)
        return scoped

    def _environ_now(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def _warn(self, text: str) -> None:
        self.emit(Notice(text, "warning"))

    def _stop_extensions(self) -> None:
        """Stop the extensions' servers (they start again when a turn needs them)."""
        if self.extensions.started:
            self.runtime.run(self.extensions.stop_all())

    def reset(self) -> None:
        """Forget the conversation, turns, events and usage, and stop the extensions' servers;
        keep settings and providers."""
        from goose_nb.budget import Budget
        from goose_nb.lineage import Lineage

        self._stop_extensions()
        self.history.clear()
        self.context_digest = ""
        self.current_plan, self.plan_questions = None, []
        if self.policy is not None:
            self.policy.reset()
        self.turns.clear()
        self.events.clear()
        self.usage = UsageLedger()
        self._budget = Budget("session")
        self.variable_lineage = Lineage()
        self.turn_inputs.clear()

    def record_to(self, path: str | None) -> None:
        """Start (or with None, stop) recording every model call to a cassette."""
        self.set_override("GOOSE_NB_RECORD", path)


def _default_namespace() -> tuple[dict[str, Any], frozenset[str]]:
    """IPython's user namespace (and the names IPython put there) when in IPython."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        return shell.user_ns, frozenset(shell.user_ns_hidden)
    import __main__

    return __main__.__dict__, frozenset()


def load_recipe(name_or_path: str | Path, *, recipe_path: str | None = None,
                warn: bool = True) -> Recipe:
    """``goose_nb.load_recipe``: the recipe a name or a path stands for, looked up with the
    kernel session's ``GOOSE_RECIPE_PATH`` (so ``%goose config GOOSE_RECIPE_PATH=...``
    applies), else the environment's; ``recipe_path`` replaces both. See
    ``goose_nb.recipes.load_recipe``."""
    from goose_nb.recipes import load_recipe as load

    if recipe_path is None and _current is not None:
        with contextlib.suppress(GooseError):  # a broken configuration: the environment's
            recipe_path = _current.settings.recipe_path
    return load(name_or_path, recipe_path=recipe_path, warn=warn)


_current: Session | None = None


def set_current_session(session: Session) -> None:
    """Make ``session`` the one ``current_session()`` returns (the magics' session)."""
    global _current
    _current = session


def current_session() -> Session:
    """The kernel's session: the one the magics use, created on first use."""
    global _current
    if _current is None:
        _current = Session()
    return _current
