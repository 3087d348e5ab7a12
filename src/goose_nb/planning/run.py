"""Planning mode's work: choosing the planner, asking it, carrying out a plan.

The planner is ``GOOSE_PLANNER_MODEL``, else the lead, else the worker, with a one-line
notice saying which. It sees the executor's tools and the user's variables but runs no
tool; its exchange joins the conversation, so the next ``%%goose_plan`` cell can answer its
questions and the agent that runs the plan knows how it came about. Everything here works on
a ``FeatureHost``; the session keeps the plan between cells.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from goose_nb.agent.loop import Agent
from goose_nb.agent.turns import TurnOptions
from goose_nb.errors import ConfigError
from goose_nb.events import AnswerDelta, Event, Notice, ToolCallFinished
from goose_nb.messages import ModelRef
from goose_nb.planning.plan import PLANNER_INSTRUCTIONS, Plan, PlannerAnswer, parse_planner_answer
from goose_nb.providers.registry import provider_class
from goose_nb.tools.variables import list_variables

if TYPE_CHECKING:
    from goose_nb.agent.host import FeatureHost
    from goose_nb.agent.turns import TurnRecord


def planner_model(host: FeatureHost, worker_provider: str) -> tuple[ModelRef, str]:
    """The planner model, and a notice saying which one (empty when it is configured)."""
    settings = host.settings
    if settings.planner_model:
        provider = settings.planner_provider or worker_provider
        return ModelRef(provider=provider, model=settings.planner_model), ""
    if settings.planner_provider:
        raise ConfigError("GOOSE_PLANNER_PROVIDER is set but GOOSE_PLANNER_MODEL is not: "
                          "set GOOSE_PLANNER_MODEL too")
    lead = host.lead_model()
    if lead is not None:
        return lead, f"GOOSE_PLANNER_MODEL is not set: planning with the lead model {lead}."
    model = settings.model or provider_class(worker_provider).default_model
    worker = ModelRef(provider=worker_provider, model=model)
    return worker, f"GOOSE_PLANNER_MODEL is not set: planning with the worker model {worker}."


def ask_planner(host: FeatureHost, prompt: str) -> PlannerAnswer:
    """One planner turn, waited for on the calling (main) thread."""
    worker_provider = host.runtime.run(host.worker_provider_name())
    model, notice = planner_model(host, worker_provider)
    if notice:
        host.emit(Notice(notice))
    tools = "\n".join(f"- {s.name}: {s.description}" for s in host.tool_runner().specs())
    variables = list_variables(host.namespace, hidden=host.hidden_names)
    instructions = (f"{PLANNER_INSTRUCTIONS}\nThe agent that will carry out the plan has "
                    f"these tools:\n{tools}\n\nThe user's variables now:\n{variables}")
    agent = Agent(host, host, TurnOptions(model=model, instructions=instructions),
                  runner=host.tool_runner(builtins=False), usage_role="planner")
    return parse_planner_answer(host.run_agent(agent, prompt).answer)


def carry_out_plan(host: FeatureHost, plan: Plan) -> TurnRecord:
    """The plan as one turn of the normal agent (lead/worker and all), its steps ticked off
    as the agent reports them done ("✓ Step N", in any step's text, not only its last).

    A tool call belongs to the step being worked on when it finishes: the first one not
    yet reported done (the agent says "✓ Step N" before it goes on to the next)."""
    said: list[str] = []
    for step in plan.steps:  # run again, the whole plan is asked for again: start afresh
        step.done = False
        step.agent_steps.clear()

    def tick(event: Event) -> None:
        if isinstance(event, AnswerDelta):
            said.append(event.text)
            plan.tick("".join(said))
        elif isinstance(event, ToolCallFinished):
            step = plan.working_on()
            if step is not None and (event.turn, event.step) not in step.agent_steps:
                step.agent_steps.append((event.turn, event.step))

    with host.listening(tick):
        record = host.run_agent(Agent(host, host), plan.prompt())
    plan.tick(record.answer)
    return record
