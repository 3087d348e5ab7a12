"""Planning mode: a planner model turns a request into questions or a reviewed plan.

The planner sees the session's context (recent conversation, ``.goosehints``, the tools the
executor will have, a summary of the user's variables) and runs no tool. It is asked for
JSON; when it ignores that, numbered Markdown is read instead, and an answer that is
neither questions nor a plan is shown as text with a notice, and nothing runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from goose_nb.structured import parse_json_answer

PLANNER_INSTRUCTIONS = """\
You are the planner. Do not do the work and do not call tools: turn the user's request into
either clarifying questions (only when you cannot plan without the answers) or a plan of
concrete, numbered steps that an agent with the tools listed will carry out in this notebook.
Answer with JSON only, in one of these two shapes:
{"type": "questions", "questions": ["...", "..."]}
{"type": "plan", "title": "...", "steps": [{"do": "what to do", "check": "how to know it worked"}]}
"""

_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+(.*\S)\s*$")
_CHECK = re.compile(r"\s*(?:[—–-]+|\()\s*(?:check|verify|done when)\s*:?\s*(.*?)\)?\s*$",
                    re.IGNORECASE)
_DONE = re.compile(r"(?:✓|✅|\[x\])\s*step\s*(\d+)|\bstep\s*(\d+)\s*(?:is\s*)?(?:done|complete)",
                   re.IGNORECASE)


@dataclass
class PlanStep:
    do: str
    check: str = ""
    done: bool = False
    #: (turn, step) of the agent's steps that called tools while this was the step being
    #: worked on, in order: their python calls are this step's code (``%goose export
    #: plan_step_N``)
    agent_steps: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Plan:
    title: str
    steps: list[PlanStep] = field(default_factory=list)

    def text(self) -> str:
        """The plan as editable text: a title line, then one numbered step per line."""
        lines = [self.title]
        for number, step in enumerate(self.steps, start=1):
            check = f" — check: {step.check}" if step.check else ""
            lines.append(f"{number}. {step.do}{check}")
        return "\n".join(lines)

    def prompt(self) -> str:
        """The plan as the prompt of the turn that carries it out."""
        return (f"Carry out this plan, step by step, with your tools.\n\n{self.text()}\n\n"
                "After finishing each step, write a line `✓ Step N` (N its number), then go "
                "on; at the end, sum up what was done.")

    def working_on(self) -> PlanStep | None:
        """The step being worked on: the first not yet reported done."""
        return next((step for step in self.steps if not step.done), None)

    def tick(self, answer: str) -> int:
        """Tick the steps the agent's answer reports as done; returns how many are."""
        for match in _DONE.finditer(answer):
            number = int(match.group(1) or match.group(2))
            if 1 <= number <= len(self.steps):
                self.steps[number - 1].done = True
        return sum(step.done for step in self.steps)


@dataclass
class PlannerAnswer:
    """What the planner said: questions, a plan, or neither (then only ``text``)."""

    kind: Literal["questions", "plan", "text"]
    text: str
    questions: list[str] = field(default_factory=list)
    plan: Plan | None = None


def plan_from_text(text: str, default_title: str = "Plan") -> Plan | None:
    """A plan from numbered lines (the user's edited text, or Markdown from a planner
    that ignored the JSON format); None without numbered lines."""
    title, steps = "", []
    for line in text.splitlines():
        match = _NUMBERED.match(line)
        if match:
            body = match.group(2).removeprefix("[ ] ").removeprefix("[x] ")
            check = _CHECK.search(body)
            steps.append(PlanStep(do=body[: check.start()].strip() if check else body,
                                  check=check.group(1).strip() if check else ""))
        elif line.strip() and not steps and not title:
            title = line.strip().strip("#*").removeprefix("Plan:").strip()
    return Plan(title or default_title, steps) if steps else None


def _from_json(data: Any) -> PlannerAnswer | None:
    if not isinstance(data, dict):
        return None
    text = json.dumps(data, indent=2)
    questions = data.get("questions")
    if data.get("type") == "questions" or (questions and not data.get("steps")):
        if isinstance(questions, list) and questions:
            return PlannerAnswer("questions", text, questions=[str(q) for q in questions])
        return None
    steps = data.get("steps")
    if isinstance(steps, list) and steps:
        parsed = [PlanStep(do=str(s.get("do") or s.get("step") or s.get("description") or ""),
                           check=str(s.get("check") or s.get("verify") or ""))
                  if isinstance(s, dict) else PlanStep(do=str(s)) for s in steps]
        parsed = [step for step in parsed if step.do]
        if parsed:
            return PlannerAnswer("plan", text, plan=Plan(str(data.get("title") or "Plan"),
                                                        parsed))
    return None


def parse_planner_answer(text: str) -> PlannerAnswer:
    """Questions or a plan, from JSON if the planner followed the format, else from
    numbered Markdown; otherwise just the text."""
    try:
        parsed = _from_json(parse_json_answer(text))
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed
    numbered = [m.group(2) for m in map(_NUMBERED.match, text.splitlines()) if m]
    if numbered and all(item.rstrip().endswith("?") for item in numbered):
        return PlannerAnswer("questions", text, questions=numbered)
    plan = plan_from_text(text)
    if plan is not None:
        return PlannerAnswer("plan", text, plan=plan)
    return PlannerAnswer("text", text)
