"""What the agent and the features built on it need from whoever runs them.

The turn loop declares its dependencies here as protocols, and the session (the
composition root) satisfies them, the way pydantic-ai's graph declares ``GraphAgentDeps``:
nothing below the session imports it, so the loop, planning and subagents can be read,
tested and changed without the rest of the house.

- ``AgentHost``: the services one turn uses (settings, retries, models, tools, context
  limits, hints, prices, the usage ledger).
- ``FeatureHost``: an ``AgentHost`` that is also the main conversation, plus what the
  features (planning, subagents) need around a turn: the user's namespace, tool runners
  built to order, the background loop, and listening to events.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from goose_nb.agent.turns import Conversation

if TYPE_CHECKING:
    from goose_nb.agent.loop import Agent
    from goose_nb.agent.turns import TurnRecord
    from goose_nb.budget import Budget
    from goose_nb.config import Settings
    from goose_nb.events import Event, Role
    from goose_nb.extensions import ExtensionConfig, Extensions
    from goose_nb.messages import ModelRef, Usage
    from goose_nb.providers.base import Provider
    from goose_nb.providers.http import RetryPolicy
    from goose_nb.runtime import BackgroundLoop
    from goose_nb.tools.base import Tool
    from goose_nb.tools.runner import ToolRunner
    from goose_nb.usage import UsageLedger


class AgentHost(Protocol):
    """The services of one turn."""

    retry: RetryPolicy
    usage: UsageLedger

    @property
    def settings(self) -> Settings: ...

    async def provider(self, name: str) -> Provider:
        """The provider instance for a provider name (created once per settings)."""
        ...

    async def model_for_role(self, role: Role | None) -> tuple[ModelRef, Provider]:
        """The model and provider that answer a step for ``role`` (None: lead/worker off)."""
        ...

    def main_tool_runner(self) -> ToolRunner:
        """The main agent's tools, for a turn that brings none of its own."""
        ...

    def context_limit(self, model: str, role: Role | None = None) -> int: ...

    def hints(self) -> str:
        """The user's ``.goosehints`` text, for the system prompt."""
        ...

    def turn_cost(self, turn: TurnRecord) -> float | None:
        """What a finished turn cost; None when it is not known."""
        ...

    async def confirm(self, question: str) -> bool | None:
        """Ask the user yes or no (an ``approve``-style question); None when no one can
        answer (headless)."""
        ...

    def step_price(self, model: ModelRef, usage: Usage) -> float | None:
        """What ``usage`` on ``model`` costs; None when the price is not known."""
        ...

    @property
    def session_budget(self) -> Budget:
        """The session's budget (``GOOSE_NB_BUDGET``): every step counts against it."""
        ...


class FeatureHost(AgentHost, Conversation, Protocol):
    """A host that is also the main conversation, with what planning and subagents use."""

    runtime: BackgroundLoop
    namespace: dict[str, Any]
    hidden_names: frozenset[str]

    async def worker_provider_name(self) -> str:
        """``GOOSE_PROVIDER``, or the provider detected from the keys and servers."""
        ...

    def lead_model(self) -> ModelRef | None: ...

    def scoped_extensions(self, configs: Sequence[ExtensionConfig],
                          names: Sequence[str] = ()) -> Extensions:
        """Extensions for one run only (a recipe's entries, and the configured extensions
        it names), stopped with ``stop_all()`` after."""
        ...

    def tool_runner(
        self,
        namespace: dict[str, Any] | None = None,
        extra_tools: Sequence[Tool[Any]] = (),
        refused: Mapping[str, str] | None = None,
        builtins: bool = True,
    ) -> ToolRunner:
        """Tools acting on ``namespace`` (default: the user's), under the approval mode."""
        ...

    def run_agent(self, agent: Agent, prompt: str) -> TurnRecord:
        """Run one turn of ``agent`` on the background loop and wait for it."""
        ...

    def listening(self, *listeners: Callable[[Event], None]) -> AbstractContextManager[None]:
        """Call ``listeners`` with every event while the ``with`` block runs."""
        ...
