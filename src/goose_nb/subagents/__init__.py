"""Subagents: independent agent instances that run tasks in sequence or in parallel.

``spec.py`` is what a run is asked (tasks, and the mode and limits said in words);
``summary.py`` is what it reports (behaviour.md §4); ``run.py`` runs the tasks;
``tools.py`` is the pair of tools through which a model splits a request into tasks.
"""

from goose_nb.subagents.spec import SubagentTask
from goose_nb.subagents.summary import SubagentSummary, TaskResult

__all__ = ["SubagentSummary", "SubagentTask", "TaskResult"]
