"""What a subagent run reports: the summary of behaviour.md §4, and each task's details.

``SubagentSummary.model_dump()`` is exactly the documented dict; the details (models, steps,
tokens, cost, the events of the subagent's turn) are what the summary view shows beside it.
The summary is data: how it looks in a notebook is the display's business, registered with
IPython's formatters when the magics load (``display/subagents.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, PrivateAttr

from goose_nb.events import Event
from goose_nb.messages import ModelRef, Usage
from goose_nb.subagents.spec import Mode

TaskStatus = Literal["success", "failed", "timeout"]


@dataclass
class TaskDetail:
    """What the summary view shows of a task beyond the summary's own fields."""

    prompt: str = ""
    models: list[ModelRef] = field(default_factory=list)
    #: the extension's tool that ran the task, for an external subagent
    external_tool: str = ""
    steps: int = 0
    usage: Usage = field(default_factory=Usage)
    cost: float | None = None
    seconds: float = 0.0
    #: everything the subagent's turn emitted, for its transcript
    events: list[Event] = field(default_factory=list)


class TaskResult(BaseModel):
    task_id: str
    status: TaskStatus
    result: str | None = None
    error: str | None = None
    _detail: TaskDetail = PrivateAttr(default_factory=TaskDetail)

    @property
    def detail(self) -> TaskDetail:
        return self._detail

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """``result`` for a success, ``error`` otherwise: never both (behaviour.md §4)."""
        data: dict[str, Any] = {"task_id": self.task_id, "status": self.status}
        if self.status == "success":
            data["result"] = self.result
        else:
            data["error"] = self.error
        return data


class ExecutionSummary(BaseModel):
    total_tasks: int
    successful_tasks: int
    failed_tasks: int
    execution_time_seconds: float


class SubagentSummary(BaseModel):
    """The run's summary; ``model_dump()`` is exactly the dict of behaviour.md §4."""

    execution_summary: ExecutionSummary
    task_results: list[TaskResult]
    mode: Mode = "sequential"

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        return {
            "execution_summary": self.execution_summary.model_dump(),
            "task_results": [result.model_dump() for result in self.task_results],
        }

    def __getitem__(self, key: str) -> Any:
        return self.model_dump()[key]

    @property
    def title(self) -> str:
        """One line: the mode, how many tasks succeeded, and how long the run took."""
        totals = self.execution_summary
        return (f"Subagents ({self.mode}): {totals.successful_tasks} of {totals.total_tasks} "
                f"succeeded in {totals.execution_time_seconds:.1f} s")

    def __repr__(self) -> str:
        return f"<SubagentSummary {self.title}>"
