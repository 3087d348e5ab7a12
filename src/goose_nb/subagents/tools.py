"""The subagent tools the model uses to split a request into tasks and run them.

Named as in Goose (``dynamic_task__create_task``, ``subagent__execute_task``) so that
prompts written for Goose work here. The run's summary JSON is the tool result the parent
agent reads; the last summary is kept for the magic to return.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from goose_nb.agent.loop import Agent
from goose_nb.agent.turns import TurnOptions
from goose_nb.errors import GooseError
from goose_nb.failures import Failure
from goose_nb.subagents.models import allowed_choice, allowed_models
from goose_nb.subagents.run import RunLimits, run_subagents
from goose_nb.subagents.spec import Mode, SubagentTask
from goose_nb.subagents.summary import SubagentSummary
from goose_nb.tools.base import Tool, ToolContext, ToolOutcome

if TYPE_CHECKING:
    from goose_nb.agent.host import FeatureHost

CREATE_TOOL = "dynamic_task__create_task"
EXECUTE_TOOL = "subagent__execute_task"


class TaskParameters(BaseModel):
    instructions: str | None = Field(default=None, description="What this subagent must do")
    recipe: str | None = Field(default=None, description="A recipe to run instead (its name)")
    params: dict[str, Any] = Field(default_factory=dict, description="The recipe's parameters")
    model: str | None = Field(default=None, description=(
        "The model to run this task on, only one of those the tool description lists; "
        "leave it out for the default"))
    extension: str | None = Field(default=None, description=(
        "An extension that is an external agent (e.g. 'codex' when the user says 'use the "
        "codex subagent'): it runs the instructions instead of a subagent"))
    timeout: str | None = Field(default=None, description="e.g. '90s' or '7m'")
    max_turns: int | None = Field(default=None, ge=1, description="Model calls allowed")


class CreateTasksArgs(BaseModel):
    task_parameters: list[TaskParameters] = Field(
        description="One entry per subagent task", min_length=1)


class ExecuteTasksArgs(BaseModel):
    task_ids: list[str] = Field(description="Ids returned by dynamic_task__create_task",
                                min_length=1)
    execution_mode: Literal["sequential", "parallel"] = Field(
        default="sequential", description="Run the tasks one after the other, or at once")


class SubagentToolbox:
    """The two tools, bound to a host and to one run's limits.

    ``forced_mode`` is the mode the user asked for (a flag, or words in the prompt); it
    wins over the model's ``execution_mode``.
    """

    def __init__(
        self, host: FeatureHost, limits: RunLimits | None = None, forced_mode: Mode | None = None,
        default_model: str | None = None,
    ) -> None:
        settings = host.settings
        self.host = host
        self.limits = limits or RunLimits(
            timeout=float(settings.subagent_timeout), max_turns=settings.subagent_max_turns,
            max_concurrency=settings.subagent_max_concurrency)
        self.forced_mode = forced_mode
        #: the user's model for tasks the model gives none (``--model``)
        self.default_model = default_model
        self.tasks: dict[str, SubagentTask] = {}
        self.last_summary: SubagentSummary | None = None
        self._numbers = itertools.count(1)

    @property
    def tools(self) -> list[Tool[Any]]:
        allowed = allowed_models(self.host.settings)
        models = (f" A task may set `model` to one of: {', '.join(allowed)}." if allowed
                  else " Tasks run on the default model (no `model` may be chosen).")
        return [
            Tool(
                name=CREATE_TOOL,
                description=(
                    "Create subagent tasks: independent agents that each do one task with "
                    "their own fresh context and report back. Give instructions (or a recipe "
                    "name with params) per task. Returns the task ids to run with "
                    f"{EXECUTE_TOOL}.{models}"
                ),
                arguments=CreateTasksArgs,
                run=self._create,
            ),
            Tool(
                name=EXECUTE_TOOL,
                description=(
                    "Run subagent tasks by id, sequentially or in parallel, and return a JSON "
                    "summary with each task's status and result."
                ),
                arguments=ExecuteTasksArgs,
                run=self._execute,
            ),
        ]

    async def _create(self, args: CreateTasksArgs, context: ToolContext) -> ToolOutcome:
        ids: list[str] = []
        for number, spec in enumerate(args.task_parameters, start=1):
            task_id = f"task_{next(self._numbers)}"
            try:
                model = allowed_choice(self.host.settings, spec.model) if spec.model else \
                    self.default_model
                self.tasks[task_id] = SubagentTask.model_validate({
                    "id": task_id, "prompt": spec.instructions, "recipe": spec.recipe,
                    "params": spec.params, "extension": spec.extension, "model": model,
                    "timeout": spec.timeout, "max_turns": spec.max_turns})
            except GooseError as exc:
                return ToolOutcome(f"task {number}: {exc}", Failure("bad_arguments", "model"))
            except ValueError as exc:
                return ToolOutcome(f"task {number} is not valid: {exc}")
            ids.append(task_id)
        return ToolOutcome(json.dumps({"task_ids": ids}))

    async def _execute(self, args: ExecuteTasksArgs, context: ToolContext) -> ToolOutcome:
        unknown = [task_id for task_id in args.task_ids if task_id not in self.tasks]
        if unknown:
            return ToolOutcome(f"unknown task ids {unknown}; create tasks with {CREATE_TOOL} "
                               f"first (known: {sorted(self.tasks) or 'none'})")
        limits = replace(self.limits, mode=self.forced_mode or args.execution_mode)
        tasks = [self.tasks[task_id] for task_id in args.task_ids]
        self.last_summary = await run_subagents(self.host, tasks, limits)
        return ToolOutcome(json.dumps(self.last_summary.model_dump(), indent=2))


def delegate(host: FeatureHost, prompt: str, limits: RunLimits, forced_mode: Mode | None,
             default_model: str | None = None) -> SubagentSummary:
    """A turn of the main agent with the subagent tools, for a request in words; the
    summary of the last run it started."""
    toolbox = SubagentToolbox(host, limits, forced_mode, default_model)
    mode = f" in {forced_mode} mode" if forced_mode else ""
    options = TurnOptions(budget=limits.budget, instructions=(
        "The user wants this done by subagents: split the request into independent tasks "
        f"with {CREATE_TOOL}, run them with {EXECUTE_TOOL}{mode}, then report what they did. "
        "A task the user gives to a named subagent that is one of your extensions (\"use "
        "the codex subagent to ...\") goes to that extension: set its `extension`."))
    agent = Agent(host, host, options, runner=host.tool_runner(extra_tools=toolbox.tools))
    host.run_agent(agent, prompt)
    if toolbox.last_summary is None:
        raise GooseError("the model answered without starting any subagents; say how to "
                         "split the work, or give the tasks as a YAML list")
    return toolbox.last_summary
