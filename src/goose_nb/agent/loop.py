"""The turn loop: one user prompt in, steps until the model answers in text, events out.

Each step is one model call; the tools it asks for run, their results go back, and the
loop goes on until a text-only answer or the step limit. A turn either completes (its
messages join the conversation's history), fails (the history and the lead/worker state are
left as they were before the prompt, so the cell can simply be run again), or is interrupted
(what happened so far is kept, marked as interrupted, with every pending tool call answered
so the history stays valid).

The agent holds no state of its own. Its host supplies the services (settings, models,
retries, prices, usage: ``host.py`` says exactly which); the conversation (the session's
own, or a subagent's) holds the history, the turns, the lead/worker policy and the event
sink.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from goose_nb.agent.lead_worker import PolicyEvent
from goose_nb.agent.turns import Conversation, StepRecord, TurnOptions, TurnRecord, TurnState
from goose_nb.budget import Budget, dollars
from goose_nb.context import (
    CONTEXT_BUDGET,
    billed_input_ceiling,
    build_system_prompt,
    digest_turn,
    fit_context,
)
from goose_nb.deadlines import Deadline
from goose_nb.errors import GooseError, ProviderError, ProviderUnavailableError, TurnInterrupted
from goose_nb.events import (
    AnswerDelta,
    ModelSwitched,
    Notice,
    Reason,
    Role,
    StepClassified,
    StepFailed,
    StepFinished,
    StepRestarted,
    StepStarted,
    ThinkingDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    TurnStarted,
)
from goose_nb.failures import Failure, StepOutcome, classify_step, is_user_correction
from goose_nb.messages import (
    ChatRequest,
    Message,
    ModelRef,
    ModelResponse,
    ReasoningDelta,
    ResponseComplete,
    StreamRestarted,
    TextDelta,
    ToolSpec,
    Usage,
)
from goose_nb.providers.http import stream_with_retries
from goose_nb.structured import SchemaCheck

#: the stop reason of an answer cut at ``GOOSE_NB_MAX_ANSWER_CHARS``
ANSWER_CAP = "answer_cap"

if TYPE_CHECKING:
    from goose_nb.agent.host import AgentHost
    from goose_nb.providers.base import Provider
    from goose_nb.tools.runner import ToolRunner

lead_worker_log = logging.getLogger("goose_nb.lead_worker")


class _OverBudget(Exception):
    """The next step would pass a budget (or has no known price): the turn ends before
    sending it, with this message."""


class Agent:
    """Runs one turn of a conversation with its host's models and tools."""

    def __init__(
        self,
        host: AgentHost,
        conversation: Conversation,
        options: TurnOptions | None = None,
        runner: ToolRunner | None = None,
        usage_role: str | None = None,
    ) -> None:
        self.host = host
        self.conversation = conversation
        self.options = options or TurnOptions()
        self.runner = runner
        #: the role steps are accounted under (``subagent``), instead of lead/worker
        self.usage_role = usage_role
        schema = self.options.response_schema
        self.schema = SchemaCheck(schema) if schema else None
        #: the last step estimate and what it was made of: with a budget, a lead step's is
        #: asked for twice (may the lead run? then, hold it), and it reads the whole history
        self._last_estimate: tuple[tuple[Any, ...], float | None] | None = None

    async def run_turn(self, prompt: str) -> TurnRecord:
        conversation = self.conversation
        record = TurnRecord(number=len(conversation.turns) + 1, prompt=prompt)
        conversation.emit(TurnStarted(record.number, prompt))
        started = time.perf_counter()
        state = TurnState([Message.user(prompt)])
        policy = conversation.policy if self.options.model is None else None
        before = policy.snapshot() if policy else None
        if policy:
            self._emit_all(policy.start_turn(correction=is_user_correction(prompt)))
        try:
            await self._loop(record, state)
            conversation.history.extend(state.messages)
            if policy:
                policy.end_turn()
        except (asyncio.CancelledError, TurnInterrupted):
            # TurnInterrupted: the user interrupted tool code on the main thread; the
            # cancellation that follows may arrive a moment later
            record.status = "interrupted"
            record.answer = "".join(state.partial_text)
            conversation.history.extend(state.interrupted_messages())
            if policy:
                policy.end_turn(interrupted=True)
            raise
        except Exception as exc:
            # the history is left as it was, and so is the lead/worker state
            record.status = "error"
            record.error = str(exc) if isinstance(exc, GooseError) else \
                f"{type(exc).__name__}: {exc}"  # a bug, not a user error: shown in full
            if policy and before is not None:
                policy.restore(before)
            raise
        finally:
            record.seconds = time.perf_counter() - started
            conversation.turns.append(record)
            budget = self.options.budget
            left = (f"{dollars(max(0.0, budget.left))} of {dollars(budget.limit)} budget left"
                    if budget is not None and budget.limit is not None
                    and budget.left is not None else "")
            conversation.emit(
                TurnFinished(record.number, record.status, len(record.steps), record.usage,
                             record.seconds, record.error, record.tool_calls,
                             self.host.turn_cost(record), left)
            )
        return record

    async def _loop(self, record: TurnRecord, state: TurnState) -> None:
        conversation, options = self.conversation, self.options
        runner = self.runner or self.host.main_tool_runner()
        runner.add_toolsets(options.toolsets)
        await runner.prepare()
        tools = runner.specs()
        max_steps = options.max_steps or self.host.settings.max_steps
        schema = self.schema
        for step in range(1, max_steps + 1):
            try:
                answered = await self._step(record, step, state, tools)
            except _OverBudget as over:
                # kept as far as it got: the next cell can raise the budget and go on
                record.stopped_by_budget = True
                conversation.emit(Notice(str(over), "warning"))
                return
            response = self._checked(answered, record.steps[-1].role)
            state.messages.append(response.as_message())
            state.partial_text = []
            record.answer = response.text or record.answer
            outcome = await self._run_tools(record, step, response, runner, state)
            step_record = record.steps[-1]
            step_record.outcome = outcome
            conversation.emit(StepClassified(record.number, step, step_record.role, outcome))
            for failure in outcome.failures:
                conversation.emit(StepFailed(record.number, step, failure.kind, failure.detail))
            if conversation.policy and step_record.role and options.model is None:
                self._emit_all(conversation.policy.record_step(step_record.role, outcome))
            if outcome.kind != "text_only":
                continue
            if schema is None:
                return
            retry_prompt = schema.check(response.text)
            if retry_prompt is None:
                record.structured = schema.value
                return
            conversation.emit(Notice("The answer did not match the response schema; asking "
                                     "the model once more.", "warning"))
            state.messages.append(Message.user(retry_prompt))
        record.hit_step_limit = True
        conversation.emit(Notice(
            f"Stopped after {max_steps} steps (GOOSE_MAX_STEPS). Run another cell to let the "
            "agent continue, or raise the limit with %goose config GOOSE_MAX_STEPS=N.",
            "warning",
        ))

    def _checked(self, response: ModelResponse, role: Role | None) -> ModelResponse:
        """Say what real models do that the user would otherwise not see: an answer cut at
        the output limit (its incomplete tool calls are not run: that is no failure of the
        model), an empty answer, arguments that needed repair."""
        emit = self.conversation.emit
        if response.stop_reason == ANSWER_CAP:
            cap = self.host.settings.max_answer_chars
            emit(Notice(f"The answer passed {cap:,} characters and was cut there, unread "
                        "beyond (its tool calls, if any, were not run). Raise the limit with "
                        "%goose config GOOSE_NB_MAX_ANSWER_CHARS=N.", "warning"))
            return response
        if response.cut_at_limit:
            settings = self.host.settings
            own_limit = role is not None and getattr(settings, f"{role}_max_tokens") is not None
            setting = f"GOOSE_{(role or '').upper()}_MAX_TOKENS" if own_limit \
                else "GOOSE_MAX_TOKENS"
            limit = settings.output_limit(role)
            dropped = (f"; its {len(response.tool_calls)} unfinished tool call(s) were not run"
                       if response.tool_calls else "")
            emit(Notice(f"The answer stopped at the output limit of {limit:,} tokens{dropped}. "
                        f"Raise it with %goose config {setting}=N.", "warning"))
            return response.model_copy(update={"tool_calls": []})
        if not response.text.strip() and not response.tool_calls:
            emit(Notice(f"{response.model} answered with no text at all (an empty answer); "
                        "run the cell again, or try another model.", "warning"))
        for call in response.tool_calls:
            if call.repaired:
                emit(Notice(f"The arguments of the {call.name} call held raw control "
                            "characters (a newline inside a string); they were read as "
                            "meant.", "info"))
        return response

    async def _run_tools(
        self, record: TurnRecord, step: int, response: ModelResponse, runner: ToolRunner,
        state: TurnState,
    ) -> StepOutcome:
        """Run the step's tool calls in order; their results become one ``tool`` message."""
        if not response.tool_calls:
            return classify_step([])
        conversation = self.conversation
        failures: list[Failure | None] = []
        state.pending_results = []
        for call in response.tool_calls:
            conversation.emit(ToolCallStarted(record.number, step, call))
            began = time.perf_counter()
            result, failure = await runner.run(call)
            state.pending_results.append(result)
            failures.append(failure)
            conversation.emit(ToolCallFinished(record.number, step, call, result, failure,
                                               time.perf_counter() - began))
        state.messages.append(Message(role="tool", tool_results=tuple(state.pending_results)))
        state.pending_results = []
        return classify_step(failures)

    async def _step(
        self, record: TurnRecord, step: int, state: TurnState, tools: list[ToolSpec]
    ) -> ModelResponse:
        """One model call on the role the policy chooses; when retries run out on that
        role's model, the step is tried once on the other role's model."""
        host, options = self.host, self.options
        if options.model is not None:
            provider = await host.provider(options.model.provider)
            return await self._budgeted_call(record, step, state, tools, options.model,
                                             provider, None, None)
        role: Role | None = None
        reason: Reason | None = None
        policy = self.conversation.policy
        if policy:
            decision, switches = policy.choose()
            self._emit_all(switches)
            role, reason = decision.role, decision.reason
        model, provider = await self._model_for(role)
        if role == "lead" and not self._affordable(model, provider, role, state, tools):
            worker, worker_provider = await self._model_for("worker")
            if self._affordable(worker, worker_provider, "worker", state, tools):
                # the lead would pass the budget and the worker fits: a switch, as shown
                self._emit_all([ModelSwitched("lead", "worker", "budget")])
                role, model, provider = "worker", worker, worker_provider
        lead_worker_log.info("turn %d step %d: %s (%s) on %s", record.number, step,
                             role or "-", reason or "-", model)
        try:
            return await self._budgeted_call(record, step, state, tools, model, provider,
                                             role, reason)
        except ProviderUnavailableError as exc:
            if role is None:
                raise
            other: Role = "lead" if role == "worker" else "worker"
            other_model, other_provider = await self._model_for(other)
            if other_model == model:
                raise
            record.steps.pop()  # the attempt that failed is replaced, not a step of its own
            self.conversation.emit(Notice(
                f"{model} is unavailable ({exc}); trying this step once on the {other} "
                f"model {other_model}.", "warning"))
            lead_worker_log.info("turn %d step %d: %s unavailable, trying %s", record.number,
                                 step, model, other_model)
            return await self._budgeted_call(record, step, state, tools, other_model,
                                             other_provider, other, reason)

    # budgets ---------------------------------------------------------------------------

    def _budgets(self) -> list[Budget]:
        return [b for b in (self.options.budget, self.host.session_budget) if b is not None]

    def _estimate(self, model: ModelRef, provider: Provider, role: Role | None,
                  state: TurnState, tools: list[ToolSpec]) -> float | None:
        """The most the next step can cost on ``model``: the whole history counted on the
        safe side (``billed_input_ceiling``, with the provider's hidden prompt), and the
        whole output limit priced as output. None: no known price."""
        key = (model, role, len(self.conversation.history), len(state.messages), len(tools))
        if self._last_estimate is not None and self._last_estimate[0] == key:
            return self._last_estimate[1]
        host = self.host
        system = build_system_prompt(tools, host.hints(), self.conversation.context_digest,
                                     self._instructions())
        request = ChatRequest(model=model.model, messages=[], tools=tools,
                              max_tokens=host.settings.output_limit(role),
                              reasoning_effort=host.settings.reasoning_effort_for(role))
        tokens = billed_input_ceiling(
            system, [*self.conversation.history, *state.messages], tools)
        # no provider takes (or bills) more input than the model's window
        tokens = min(tokens + provider.hidden_input_tokens(request),
                     host.context_limit(model.model, role))
        ceiling = provider.output_ceiling(request)
        price = host.step_price(model, Usage(input_tokens=tokens, output_tokens=ceiling))
        self._last_estimate = (key, price)
        return price

    def _affordable(self, model: ModelRef, provider: Provider, role: Role | None,
                    state: TurnState, tools: list[ToolSpec]) -> bool:
        limited = [b for b in self._budgets() if b.left is not None]
        if not limited:
            return True
        estimate = self._estimate(model, provider, role, state, tools)
        return estimate is not None and all(estimate <= (b.left or 0.0) for b in limited)

    async def _reserve(self, model: ModelRef, provider: Provider, role: Role | None,
                       state: TurnState, tools: list[ToolSpec]) -> float:
        """Hold the step's estimate in every budget with a limit, or stop the turn. Steps
        on a model of unknown price run only when the user says yes, once a turn."""
        limited = [b for b in self._budgets() if b.limit is not None]
        if not limited:
            return 0.0
        estimate = self._estimate(model, provider, role, state, tools)
        if estimate is None and model in state.unbudgeted:
            return 0.0
        if estimate is None:
            unknown = (f"Budget: the price of {model} is not known, so a step on it cannot "
                       "be budgeted")
            answer = await self.host.confirm(
                f"{unknown}. Run this turn's steps on it anyway, outside the budget?")
            if answer:
                state.unbudgeted.add(model)
                return 0.0
            raise _OverBudget(
                f"{unknown}; the turn stops here{' (declined)' if answer is False else ''}. "
                "Give its price in GOOSE_NB_PRICES, or run without a budget.")
        held: list[Budget] = []
        for budget in limited:
            if not budget.reserve(estimate):
                for other in held:
                    other.settle(estimate, 0.0)
                left = max(0.0, budget.left or 0.0)
                raise _OverBudget(
                    f"Budget: the next step on {model} could cost up to {dollars(estimate)}, "
                    f"more than is left of the {budget.describe()} ({dollars(left)} left); "
                    "the turn stops here, before sending it. Raise the budget "
                    "(%goose config GOOSE_NB_BUDGET=… for the session, --budget for a "
                    "cell) and run a cell to go on.")
            held.append(budget)
        return estimate

    async def _budgeted_call(
        self, record: TurnRecord, step: int, state: TurnState, tools: list[ToolSpec],
        model: ModelRef, provider: Provider, role: Role | None, reason: Reason | None,
    ) -> ModelResponse:
        """``_call_model`` within the budgets: reserved before, settled after with the real
        cost (the estimate itself when the call failed after it may have been billed)."""
        estimate = await self._reserve(model, provider, role, state, tools)
        cost = estimate
        try:
            response = await self._call_model(record, step, state, tools, model, provider,
                                              role, reason)
            cost = self.host.step_price(record.steps[-1].model, response.usage) or 0.0
            return response
        except ProviderUnavailableError:
            cost = 0.0  # never reached: nothing billed
            raise
        finally:
            for budget in self._budgets():
                budget.settle(estimate if budget.limit is not None else 0.0, cost)

    async def _model_for(self, role: Role | None) -> tuple[ModelRef, Provider]:
        """The run's own model for ``role`` when it has one, else the host's."""
        own = self.options.role_models.get(role) if role else None
        if own is not None:
            return own, await self.host.provider(own.provider)
        return await self.host.model_for_role(role)

    async def _call_model(
        self, record: TurnRecord, step: int, state: TurnState, tools: list[ToolSpec],
        model: ModelRef, provider: Provider, role: Role | None, reason: Reason | None,
    ) -> ModelResponse:
        """Stream one model call, retried on transient errors as a whole."""
        host, conversation = self.host, self.conversation
        model = ModelRef(provider=provider.shown_as, model=model.model)
        step_record = StepRecord(step=step, model=model, role=role, reason=reason or "")
        record.steps.append(step_record)
        conversation.emit(StepStarted(record.number, step, model, role, reason))
        system, messages = self._fit(model, role, state, tools)
        request = ChatRequest(model=model.model, system=system, messages=messages, tools=tools,
                              temperature=self.options.temperature,
                              max_tokens=host.settings.output_limit(role),
                              reasoning_effort=host.settings.reasoning_effort_for(role))
        response: ModelResponse | None = None
        state.partial_text = []
        limit = host.settings.step_timeout
        too_long = ProviderError(
            f"step {step} on {model} took over {limit} s, retries included; run the cell "
            f"again, or raise the limit with %goose config GOOSE_NB_STEP_TIMEOUT=N")
        room = host.settings.max_answer_chars
        async with Deadline(limit, too_long):
            stream = stream_with_retries(lambda: provider.stream(request), host.retry)
            try:
                async for event in stream:
                    if isinstance(event, TextDelta):
                        text = event.text[:room]
                        room -= len(text)
                        state.partial_text.append(text)
                        conversation.emit(AnswerDelta(record.number, step, text))
                        if len(event.text) > len(text):  # past GOOSE_NB_MAX_ANSWER_CHARS
                            response = ModelResponse(model=model.model, stop_reason=ANSWER_CAP,
                                                     text="".join(state.partial_text),
                                                     usage=Usage(unreported=1))
                            break
                    elif isinstance(event, ReasoningDelta):
                        conversation.emit(ThinkingDelta(record.number, step, event.text))
                    elif isinstance(event, StreamRestarted):
                        state.partial_text.clear()
                        room = host.settings.max_answer_chars
                        step_record.retries += 1
                        conversation.emit(StepRestarted(record.number, step, event.reason))
                    elif isinstance(event, ResponseComplete):
                        response = event.response
            finally:
                await stream.aclose()  # a cut answer is not read further
        if response is None:
            raise ProviderError(f"{model} ended its answer without completing it")
        step_record.usage = response.usage
        step_record.tool_calls = len(response.tool_calls)
        host.usage.add(model, response.usage, self.usage_role or role)
        conversation.emit(StepFinished(record.number, step, model, response.usage,
                                       len(response.tool_calls)))
        return response

    def _emit_all(self, events: list[PolicyEvent]) -> None:
        for event in events:
            lead_worker_log.info("%s", event)
            self.conversation.emit(event)

    def _instructions(self) -> str:
        """The run's instructions for the system prompt (a recipe's, a schema's)."""
        return "\n\n".join(filter(None, [self.options.instructions,
                                          self.schema.instructions() if self.schema else ""]))

    def _fit(
        self, model: ModelRef, role: Role | None, state: TurnState, tools: list[ToolSpec]
    ) -> tuple[str, list[Message]]:
        """The system prompt and messages of the next request, trimmed to the window."""
        host, conversation = self.host, self.conversation
        limit = host.context_limit(model.model, role)
        instructions = self._instructions()

        def system_prompt() -> str:
            return build_system_prompt(tools, host.hints(), conversation.context_digest,
                                       instructions)

        system = system_prompt()
        fitted = fit_context(system=system, history=conversation.history,
                             turn_messages=state.messages, tools=tools, limit=limit)
        if fitted.dropped_turns:
            conversation.history[:] = fitted.history
            lines = [digest_turn(turn) for turn in fitted.dropped_turns]
            conversation.context_digest = "\n".join(
                filter(None, [conversation.context_digest, *lines]))
            system = system_prompt()
            count = len(fitted.dropped_turns)
            conversation.emit(Notice(
                f"Context: the {count} oldest turn{'s' if count > 1 else ''} of this session "
                f"{'were' if count > 1 else 'was'} replaced by a short digest to stay under "
                f"{CONTEXT_BUDGET:.0%} of {model.model}'s {limit:,}-token window.",
                "warning",
            ))
        if fitted.shortened_results:
            state.messages[:] = fitted.turn_messages
            conversation.emit(Notice(
                f"Context: {fitted.shortened_results} earlier tool output(s) of this turn were "
                "removed from the request to fit the context window.", "warning",
            ))
        if fitted.tokens > int(limit * CONTEXT_BUDGET):
            raise GooseError(
                f"the request is about {fitted.tokens:,} tokens, over {CONTEXT_BUDGET:.0%} of "
                f"{model.model}'s {limit:,}-token window even without earlier turns; shorten "
                "the prompt or set GOOSE_CONTEXT_LIMIT"
            )
        return system, [*conversation.history, *state.messages]
