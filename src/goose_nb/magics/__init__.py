"""The notebook face: one ``Magics`` class per topic, all on one session.

- ``goose.py``: ``%%goose`` and the ``%goose`` subcommands (it holds the session);
- ``plan.py``: ``%%goose_plan``;
- ``subagents.py``: ``%%goose_subagents`` (and ``subagent_request.py``, what was typed);
- ``recipes.py``: ``%goose_recipe``;
- ``shared.py``: what they share (errors as ``UsageError``, live turn views).
"""

from __future__ import annotations

from typing import Any

from goose_nb.magics.goose import GooseMagics
from goose_nb.magics.plan import PlanMagics
from goose_nb.magics.recipes import RecipeMagics
from goose_nb.magics.subagents import SubagentMagics

__all__ = ["GooseMagics", "PlanMagics", "RecipeMagics", "SubagentMagics", "register_magics"]


def register_magics(shell: Any) -> GooseMagics:
    """Register every goose_nb magic with ``shell``; returns the ``%goose`` magics, which
    hold the session the others share."""
    goose = GooseMagics(shell)
    shell.register_magics(goose)
    shell.events.register("pre_run_cell", goose.before_cell)
    shell.events.register("post_run_cell", goose.after_cell)
    for topic in (PlanMagics, SubagentMagics, RecipeMagics):
        shell.register_magics(topic(shell, goose))
    return goose
