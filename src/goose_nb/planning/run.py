"""Planning mode's work for the session: choosing the planner, asking it, running a plan.

The planner is ``GOOSE_PLANNER_MODEL``, else the lead, else the worker, with a one-line
notice saying which. It sees the executor's tools and the user's variables but runs no
tool; its exchange joins the conversation, so the next ``%%goose_plan`` cell can answer its
questions and the agent that runs the plan knows how it came about.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from goose_nb.errors import ConfigError, GooseError
from goose_nb.events import AnswerDelta, Event, Notice
from goose_nb.messages import ModelRef
from goose_nb.planner import PLANNER_INSTRUCTIONS, PlannerAnswer, parse_planner_answer

if TYPE_CHECKING:
    from goose_nb.session import Session
    from goose_nb.turns import TurnRecord


def planner_model(session: Session, worker_provider: str) -> tuple[ModelRef, str]:
    """The planner model, and a notice saying which one (empty when it is configured)."""
    from goose_nb.providers.registry import provider_class

    settings = session.settings
    if settings.planner_model:
        provider = settings.planner_provider or worker_provider
        return ModelRef(provider=provider, model=settings.planner_model), ""
    if settings.planner_provider:
        raise ConfigError("GOOSE_PLANNER_PROVIDER is set but GOOSE_PLANNER_MODEL is not: "
                          "set GOOSE_PLANNER_MODEL too")
    lead = session.lead_model()
    if lead is not None:
        return lead, f"GOOSE_PLANNER_MODEL is not set: planning with the lead model {lead}."
    model = settings.model or provider_class(worker_provider).default_model
    worker = ModelRef(provider=worker_provider, model=model)
    return worker, f"GOOSE_PLANNER_MODEL is not set: planning with the worker model {worker}."


def ask_planner(session: Session, prompt: str) -> PlannerAnswer:
    """One planner turn (on the main thread's call); keeps the plan or the questions."""
    from goose_nb.agent import Agent
    from goose_nb.tools.variables import list_variables
    from goose_nb.turns import TurnOptions

    worker_provider = session.runtime.run(session.worker_provider_name())
    model, notice = planner_model(session, worker_provider)
    if notice:
        session.emit(Notice(notice))
    tools = "\n".join(f"- {s.name}: {s.description}" for s in session.tool_runner().specs())
    variables = list_variables(session.namespace, hidden=session.hidden_names)
    instructions = (f"{PLANNER_INSTRUCTIONS}\nThe agent that will carry out the plan has "
                    f"these tools:\n{tools}\n\nThe user's variables now:\n{variables}")
    agent = Agent(session, options=TurnOptions(model=model, instructions=instructions),
                  runner=session.tool_runner(builtins=False), usage_role="planner")
    answer = parse_planner_answer(session.run_agent(agent, prompt).answer)
    if answer.kind == "plan":
        session.current_plan, session.plan_questions = answer.plan, []
    elif answer.kind == "questions":
        session.plan_questions = answer.questions
    return answer


def carry_out_plan(session: Session) -> TurnRecord:
    """The plan as one turn of the normal agent, its steps ticked off as the agent reports
    them done ("✓ Step N", in any step's text, not only its last)."""
    plan = session.current_plan
    if plan is None:
        raise GooseError("there is no plan to run: write a request in a %%goose_plan cell "
                         "first")
    said: list[str] = []

    def listen(event: Event) -> None:
        if isinstance(event, AnswerDelta):
            said.append(event.text)
            plan.tick("".join(said))

    unsubscribe = session.subscribe(listen)
    try:
        record = session.ask(plan.prompt())
    finally:
        unsubscribe()
    plan.tick(record.answer)
    return record
