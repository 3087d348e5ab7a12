"""Planning mode: a planner model answers with questions or a plan the user reviews first.

``plan.py`` reads the planner's answer (JSON, or numbered Markdown) into a ``Plan``;
``run.py`` chooses the planner, asks it, and carries out a plan as one agent turn.
"""

from goose_nb.planning.plan import Plan, PlannerAnswer, PlanStep

__all__ = ["Plan", "PlanStep", "PlannerAnswer"]
