"""Running subagents: independent agent instances, in sequence or in parallel.

Each subagent gets a fresh conversation (the task, the session's hints, a recipe's
instructions), its own lead/worker policy starting on the worker, the parent's tools minus
spawning subagents and managing extensions or schedules, and a Python namespace that copies
each of the user's values the first time it reads it (``tools/namespaces.py``): it can read
the user's data, but neither its assignments nor its in-place changes reach the user. Its
Python code still runs on the kernel's main thread, one call at a time; what runs in
parallel is everything else, above all the waits on the network. One subagent failing or
timing out never stops the others. A task for an external agent (``extension:``) is one call
of that extension's agent tool instead of a turn (``external.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from goose_nb.agent.lead_worker import LeadWorkerPolicy, PolicyConfig
from goose_nb.agent.loop import Agent
from goose_nb.agent.turns import PrivateConversation, TurnOptions, cell_budget
from goose_nb.errors import GooseError
from goose_nb.events import Event, Notice, SubagentFinished, SubagentStarted
from goose_nb.messages import Usage
from goose_nb.recipes import load_recipe
from goose_nb.subagents.external import ask_external
from goose_nb.subagents.models import TaskModels, task_models
from goose_nb.subagents.spec import Mode, SubagentTask, parse_duration, task_from
from goose_nb.subagents.summary import ExecutionSummary, SubagentSummary, TaskResult, TaskStatus
from goose_nb.tools.namespaces import CopyOnReadNamespace

if TYPE_CHECKING:
    from goose_nb.agent.host import FeatureHost
    from goose_nb.budget import Budget
    from goose_nb.config import Settings
    from goose_nb.events import Role
    from goose_nb.extensions import Extensions
    from goose_nb.messages import ModelRef

logger = logging.getLogger("goose_nb.subagents.run")

SUBAGENT_INSTRUCTIONS = (
    "You are a subagent: one of several independent agents a parent agent started, each "
    "with one task. Do your task with your tools, then end with a short, complete answer "
    "that reports the result: the parent sees only that answer. Variables you set in "
    "Python are your own copy and are not handed back; put what matters in your answer "
    "or in a file."
)
NO_SPAWNING = "subagents cannot spawn subagents"
REFUSED_IN_SUBAGENTS = {
    "dynamic_task__create_task": NO_SPAWNING,
    "subagent__execute_task": NO_SPAWNING,
    "platform__manage_extensions": "subagents cannot manage extensions",
    "platform__manage_schedule": "subagents cannot manage schedules",
}


@dataclass(frozen=True)
class RunLimits:
    """How a run goes: its mode and the defaults for tasks that set none of their own."""

    mode: Mode = "sequential"
    timeout: float = 300.0
    max_turns: int = 10
    max_concurrency: int = 10
    #: what the whole run may spend, shared by its subagents (``--budget``)
    budget: Budget | None = None


def as_tasks(tasks: Sequence[SubagentTask | str | Mapping[str, Any]]) -> list[SubagentTask]:
    """Tasks from prompt strings, task mappings or ``SubagentTask`` objects; a bad one is a
    one-line ``GooseError`` naming it."""
    parsed = [task_from(task, index) for index, task in enumerate(tasks, start=1)]
    if not parsed:
        raise GooseError("no subagent tasks given")
    return parsed


def subagent_limits(
    settings: Settings, mode: Mode, timeout: float | None = None, max_turns: int | None = None,
    max_concurrency: int | None = None, budget: float | None = None,
) -> RunLimits:
    """A run's limits: the given ones, checked, else the GOOSE_SUBAGENT_* settings. A bad
    one is a one-line error before anything starts, not a run whose every task fails
    ("timed out after -5 s") or that runs nothing at once."""
    return RunLimits(
        mode=mode,
        timeout=float(settings.subagent_timeout) if timeout is None else parse_duration(timeout),
        max_turns=settings.subagent_max_turns if max_turns is None
        else _at_least_one("max_turns", max_turns),
        max_concurrency=settings.subagent_max_concurrency if max_concurrency is None
        else _at_least_one("max_concurrency", max_concurrency),
        budget=None if budget is None else cell_budget(budget))


def _at_least_one(name: str, value: Any) -> int:
    """A count given for a run's limit: a whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise GooseError(f"{name} must be a whole number of at least 1, not {value!r}")
    return value


def task_ids(tasks: list[SubagentTask]) -> list[str]:
    """Each task's id: its own, else ``task_1``, ``task_2``... (made unique)."""
    ids: list[str] = []
    for number, task in enumerate(tasks, start=1):
        candidate = task.id or f"task_{number}"
        while candidate in ids:
            candidate += "_"
        ids.append(candidate)
    return ids


async def run_subagents(
    host: FeatureHost, tasks: list[SubagentTask], limits: RunLimits
) -> SubagentSummary:
    """Run every task and summarise; sequential tasks run in order, parallel ones at most
    ``max_concurrency`` at a time."""
    started = time.perf_counter()
    gate = asyncio.Semaphore(limits.max_concurrency)

    async def run_one(task: SubagentTask, task_id: str) -> TaskResult:
        async with gate:
            return await run_task(host, task, task_id, limits)

    ids = task_ids(tasks)
    if limits.mode == "parallel":
        results = list(await asyncio.gather(*(run_one(t, i) for t, i in zip(tasks, ids,
                                                                            strict=True))))
    else:
        results = [await run_one(t, i) for t, i in zip(tasks, ids, strict=True)]
    successes = sum(result.status == "success" for result in results)
    return SubagentSummary(
        execution_summary=ExecutionSummary(
            total_tasks=len(results),
            successful_tasks=successes,
            failed_tasks=len(results) - successes,
            execution_time_seconds=round(time.perf_counter() - started, 3),
        ),
        task_results=results,
        mode=limits.mode,
    )


async def _task_run(
    host: FeatureHost, task: SubagentTask, limits: RunLimits, notify: Callable[[Event], None]
) -> tuple[str, TurnOptions, Extensions | None]:
    """The prompt and options of a task: a recipe's rendered instructions and settings
    joined to the subagent's own, its models (``models.py``), and the recipe's
    extensions, which run for this subagent only (the parent's it inherits through its
    tools). What the recipe's loader noticed goes to ``notify``, into the task's
    transcript."""
    worker_provider = await host.worker_provider_name()
    if not task.recipe:
        models = task_models(host.settings, task, None, worker_provider)
        return task.prompt or "", _with_models(TurnOptions(
            instructions=SUBAGENT_INSTRUCTIONS, budget=limits.budget,
            max_steps=task.max_turns or limits.max_turns), models), None
    recipe = load_recipe(task.recipe, recipe_path=host.settings.recipe_path or "",
                         warn=False)
    for message in recipe.warnings:
        notify(Notice(f"recipe {task.recipe}: {message}", "warning"))
    rendered = recipe.render(task.params, time_limit=host.settings.render_timeout)
    options = recipe.turn_options(rendered, default_provider=worker_provider)
    models = task_models(host.settings, task, options.model, worker_provider)
    instructions = "\n\n".join(filter(None, [SUBAGENT_INSTRUCTIONS, options.instructions]))
    prompt = task.prompt or rendered.prompt or "Carry out the instructions."
    extensions = host.scoped_extensions(recipe.extension_configs(),
                                        recipe.extension_names)
    return prompt, _with_models(TurnOptions(
        instructions=instructions, temperature=options.temperature,
        max_steps=task.max_turns or options.max_steps or limits.max_turns,
        response_schema=options.response_schema, toolsets=(extensions,),
        budget=limits.budget), models), extensions


def _with_models(options: TurnOptions, models: TaskModels) -> TurnOptions:
    """A task's models in its options: one model pinned, or lead and worker of its own."""
    if models.lead is None:
        return replace(options, model=models.model)
    own: dict[Role, ModelRef] = {"lead": models.lead}
    if models.model is not None:
        own["worker"] = models.model
    return replace(options, role_models=own)


def _policy(host: FeatureHost, options: TurnOptions) -> LeadWorkerPolicy | None:
    """A subagent's own lead/worker policy: the session's numbers, but starting on the
    worker (no initial lead turns); with a lead of the task's own even when the session
    has none, and none for a subagent pinned to one model."""
    settings = host.settings
    if options.model is not None or not (settings.lead_worker_enabled or options.role_models):
        return None
    return LeadWorkerPolicy(PolicyConfig(0, settings.lead_failure_threshold,
                                         settings.lead_fallback_turns))


async def run_task(
    host: FeatureHost, task: SubagentTask, task_id: str, limits: RunLimits
) -> TaskResult:
    """One subagent, start to end. Never raises, except to pass on a cancellation."""
    conversation = PrivateConversation()
    timeout = task.timeout or limits.timeout
    label = task.prompt or f"recipe {task.recipe}"
    if task.extension is not None:
        label = f"{task.extension}: {label}"
    host.emit(SubagentStarted(task_id, label))
    began = time.perf_counter()
    status: TaskStatus = "failed"
    answer: str | None = None
    error: str | None = None
    extensions: Extensions | None = None
    external_tool = ""
    try:
        namespace = CopyOnReadNamespace(host.namespace, host.hidden_names)
        runner = host.tool_runner(namespace=namespace, refused=REFUSED_IN_SUBAGENTS)
        if task.extension is not None:
            reply = await asyncio.wait_for(
                ask_external(runner, task.extension, task.prompt or "", conversation.emit),
                timeout)
            external_tool = reply.tool
            if reply.failed or not reply.text.strip():
                error = reply.text.strip() or f"{reply.tool} answered nothing"
            else:
                status, answer = "success", reply.text
        else:
            prompt, options, extensions = await _task_run(host, task, limits,
                                                          conversation.emit)
            conversation.policy = _policy(host, options)
            agent = Agent(host, conversation, options, runner, usage_role="subagent")
            record = await asyncio.wait_for(agent.run_turn(prompt), timeout)
            # hitting max_turns is a failure even when the tool-calling steps said
            # something: record.answer then holds that in-between text, not an answer
            if record.stopped_by_budget:
                # a task that could not start within the run's budget is skipped
                error = ("skipped: budget" if not record.steps
                         else f"stopped: budget, after {len(record.steps)} step(s)")
            elif record.answer.strip() and not record.hit_step_limit:
                status, answer = "success", record.answer
            else:
                error = "stopped without an answer" + (
                    f" after {options.max_steps} turns (max_turns)"
                    if record.hit_step_limit else "")
    except asyncio.TimeoutError:
        status, error = "timeout", f"timed out after {timeout:g} s"
    except GooseError as exc:
        error = str(exc)
    except Exception as exc:  # a bug must not stop the other subagents
        logger.exception("subagent %s failed", task_id)
        error = f"{type(exc).__name__}: {exc}"
    finally:
        if extensions is not None and extensions.started:
            await asyncio.shield(extensions.stop_all())  # also when it was cancelled
    seconds = time.perf_counter() - began
    host.emit(SubagentFinished(task_id, status, seconds))
    result = TaskResult(task_id=task_id, status=status, result=answer, error=error)
    detail = result.detail
    detail.prompt = label
    detail.seconds = seconds
    detail.external_tool = external_tool
    for turn in conversation.turns:
        detail.steps += len(turn.steps)
        detail.usage = detail.usage + turn.usage
        for step in turn.steps:
            if step.model not in detail.models:
                detail.models.append(step.model)
    costs = [host.turn_cost(turn) for turn in conversation.turns]
    detail.cost = None if None in costs else sum(c for c in costs if c is not None)
    if external_tool:  # the external agent's own tokens and bill are its own: unknown
        detail.steps, detail.usage, detail.cost = 1, Usage.not_reported(), None
    detail.events = conversation.events
    return result
