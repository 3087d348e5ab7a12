"""The agent: one turn of a conversation, and the lead/worker policy that picks its models.

- ``host.py``: what the loop and the features need from the session (protocols);
- ``turns.py``: what a turn leaves behind, and the options and state it runs with;
- ``lead_worker.py``: the lead/worker state machine (pure, no I/O);
- ``loop.py``: ``Agent``, the turn loop.
"""

from goose_nb.agent.lead_worker import LeadWorkerPolicy, PolicyConfig
from goose_nb.agent.loop import Agent
from goose_nb.agent.turns import StepRecord, TurnOptions, TurnRecord

__all__ = ["Agent", "LeadWorkerPolicy", "PolicyConfig", "StepRecord", "TurnOptions",
           "TurnRecord"]
