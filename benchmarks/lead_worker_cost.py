"""What lead/worker saves, and what the policy itself costs per step.

Run with ``.venv/bin/python benchmarks/lead_worker_cost.py``. One scripted 20-turn session
(with failing tool calls injected in a few worker turns) is played twice against the local
test server in the same run: with lead/worker on (lead gpt-4o, worker gpt-4o-mini, defaults
3 / 2 / 2) and with the lead alone (GOOSE_MODEL=gpt-4o). The server gives the same answers
and token counts whatever model is asked, so the difference in cost is the models' prices
alone; prices are genai-prices' for those models. Then the policy's own overhead: the
median time of one choose + record_step cycle over many turns, measured without I/O.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "tests"):
    sys.path.insert(0, str(folder))

from model_server import ModelServer, Reply, openai_reply  # noqa: E402

from goose_nb.agent.lead_worker import LeadWorkerPolicy, PolicyConfig  # noqa: E402
from goose_nb.display.usage import format_cost  # noqa: E402
from goose_nb.failures import Failure, StepOutcome  # noqa: E402
from goose_nb.pricing import savings  # noqa: E402
from goose_nb.providers.http import RetryPolicy  # noqa: E402
from goose_nb.session import Session  # noqa: E402

TURNS = 20
FAILING_TURNS = {6, 7, 12, 16}  # 1-based turns whose first two tool calls fail
USAGE = (3_000, 400)  # tokens in / out of every model call


def script() -> list[list[Reply]]:
    """Per turn, the replies the server gives: a tool call, then a text answer; a failing
    turn starts with two broken tool calls."""
    turns = []
    for number in range(1, TURNS + 1):
        replies = []
        if number in FAILING_TURNS:
            for index, code in enumerate(("1 / 0", "undefined_name")):
                call = (f"bad{number}_{index}", "python", json.dumps({"code": code}))
                replies.append(openai_reply("", [call], usage=USAGE))
        call = (f"ok{number}", "python", json.dumps({"code": f"result_{number} = {number}"}))
        replies.append(openai_reply("", [call], usage=USAGE))
        replies.append(openai_reply(f"Turn {number} done.", usage=USAGE))
        turns.append(replies)
    return turns


def play(env: dict[str, str]) -> Session:
    with ModelServer() as server:
        session = Session(environ={"GOOSE_PROVIDER": "openai", "OPENAI_HOST": server.url,
                                   "OPENAI_API_KEY": "sk-benchmark-key-not-secret", **env},
                          config_path=Path(tempfile.gettempdir()) / "no-goose-config.yaml",
                          retry=RetryPolicy(base_delay=0.01), namespace={})
        for number, replies in enumerate(script(), start=1):
            server.queue(*replies)
            session.ask(f"Step {number} of the analysis.")
            # a turn that escalated needs fewer replies than scripted: drop the rest
            server.replies.clear()
        session.close()
    return session


def policy_overhead(cycles: int = 20_000) -> float:
    """Median microseconds of one choose + record_step, over batches of turns."""
    clean, failed = StepOutcome("clean"), StepOutcome("failed", (Failure("python_error"),))
    samples = []
    for _ in range(20):
        policy = LeadWorkerPolicy(PolicyConfig())
        started = time.perf_counter()
        for turn in range(cycles // 4):
            policy.start_turn(correction=turn % 7 == 0)
            for step in range(4):
                decision, _ = policy.choose()
                policy.record_step(decision.role, failed if step == turn % 5 else clean)
            policy.end_turn()
        samples.append((time.perf_counter() - started) / cycles * 1e6)
    return statistics.median(samples)


def main() -> int:
    lead_worker = play({"GOOSE_MODEL": "gpt-4o-mini", "GOOSE_LEAD_MODEL": "gpt-4o"})
    lead_only = play({"GOOSE_MODEL": "gpt-4o"})
    book = lead_worker.price_book()
    mixed = savings(lead_worker.usage, lead_worker.lead_model(), book)
    alone = savings(lead_only.usage, None, book)
    roles = "".join("L" if s.role == "lead" else "W" for t in lead_worker.turns for s in t.steps)
    steps = sum(len(t.steps) for t in lead_worker.turns)
    print(f"{TURNS} turns, {steps} steps with lead/worker ({roles.count('L')} lead, "
          f"{roles.count('W')} worker), {sum(len(t.steps) for t in lead_only.turns)} lead-only;"
          f" failing tool calls injected in turns {sorted(FAILING_TURNS)}\n")
    print("| run | cost |")
    print("|---|---:|")
    print(f"| lead/worker (gpt-4o lead, gpt-4o-mini worker) | {format_cost(mixed.total_cost)} |")
    print(f"| lead only (gpt-4o) | {format_cost(alone.total_cost)} |")
    if mixed.total_cost and alone.total_cost:
        ratio = mixed.total_cost / alone.total_cost
        print(f"| **ratio lead/worker / lead only** | **{ratio:.2f}** |")
    print(f"\npolicy overhead: {policy_overhead():.1f} µs per step (choose + record_step)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
