"""What a user of a real kernel sees of a streamed answer, and what it costs.

Run with ``.venv/bin/python benchmarks/kernel_streaming.py``. It starts the test model
server (``tests/model_server.py``) in this process and a real IPython kernel (ipykernel,
over jupyter_client, as a front end talks to it), points goose_nb in the kernel at the
server, and measures, in one run:

- **first text**: the server sends the first words of an answer, then pauses 2 s; how long
  until an iopub message carrying those words leaves the kernel (target ≤ 30 ms);
- **iopub bytes**: a 200 KB answer streamed over 5 s; the bytes of every display message
  the cell sent, against the size of its final output (target ≤ 4x);
- **in-kernel cost**: a 20,000-chunk answer, from execute request to idle, with
  ``%%goose`` against raw httpx (its async client, as goose_nb uses it) reading and
  decoding the same stream in the same kernel (target ≤ 1.3x);
- **a 10-step tool session**: how many TCP connections the server saw (target 1), and the
  median gap between the server finishing one answer and receiving the next request, which
  is the python tool's run plus goose_nb's own work (target ≤ 2 ms);
- **a 200-turn session**: the median time of turns 181-200 against turns 11-30, each from
  execute request to idle against a server that answers at once (target ≤ 1.5x: the
  client's work per turn stays flat as the history grows).

Times are wall clock (``time.time()``), so the server's and the client's clocks agree.
Options: ``--chunks N`` (default 20000), ``--runs N`` (runs of the 20,000-chunk pair,
default 3; the medians are reported).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
for folder in (ROOT, TESTS):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from kernels import displays_until_idle, execute, kernels, offline_env  # noqa: E402
from model_server import ModelServer, openai_reply, python_call  # noqa: E402

#: the baseline: the same stream read with httpx's own async client, as goose_nb reads it
#: (top-level await in the kernel's cell)
RAW_HTTPX = """
import httpx, json
async with httpx.AsyncClient(timeout=60) as client:
    async with client.stream("POST", {url!r} + "/v1/chat/completions",
                             json={{"model": "gpt-bench", "stream": True, "messages": []}}) as r:
        text = []
        async for line in r.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                delta = json.loads(line[6:])["choices"]
                if delta and delta[0]["delta"].get("content"):
                    text.append(delta[0]["delta"]["content"])
len("".join(text))
"""


def run_cell(kc: Any, code: str, timeout: float = 300) -> tuple[float, list[tuple[float, dict]]]:
    """Execute ``code``; (seconds from request to idle, display messages with arrival)."""
    started = time.time()
    seen = displays_until_idle(kc, kc.execute(code), timeout)
    return time.time() - started, seen


def first_text(server: ModelServer, kc: Any) -> dict[str, float]:
    reply = openai_reply("Hello there, here is the start", pieces=1)
    reply.chunks.insert(2, b": the model is thinking\n\n")  # an SSE comment, as servers send
    reply.pause_after = (1, 2.0)  # the role chunk, the first words, then a 2 s pause
    server.queue(reply)
    _, seen = run_cell(kc, "%%goose\nHi")
    sent = server.requests[-1].chunks_sent_at[1]
    shown = next(t for t, m in seen if "Hello there" in m["content"]["data"]["text/plain"])
    return {"first text ms": round((shown - sent) * 1000, 1)}


def iopub_bytes(server: ModelServer, kc: Any) -> dict[str, float]:
    text = "".join(f"Paragraph {i}: " + "word " * 38 + "\n\n" for i in range(1000))[:200_000]
    reply = openai_reply(text, pieces=250)
    reply.chunk_delay = 5.0 / 250
    server.queue(reply)
    _, seen = run_cell(kc, "%%goose\nWrite a lot.")
    sent = sum(len(json.dumps(m["content"])) for _, m in seen)
    # the final output: the last data of every display the cell kept
    final: dict[str, dict] = {}
    for _, message in seen:
        display_id = message["content"].get("transient", {}).get("display_id") or id(message)
        final[str(display_id)] = message["content"]["data"]
    kept = sum(len(json.dumps(data)) for data in final.values())
    return {"iopub bytes": sent, "final output bytes": kept, "ratio": round(sent / kept, 1),
            "display messages": len(seen)}


def chunk_cost(server: ModelServer, kc: Any, chunks: int, runs: int) -> dict[str, float]:
    ours, raw = [], []
    for _ in range(runs + 1):  # the first pair warms both paths up
        server.queue(openai_reply("x" * chunks, pieces=chunks))
        ours.append(run_cell(kc, "%%goose\nStream.")[0])
        server.queue(openai_reply("x" * chunks, pieces=chunks))
        raw.append(run_cell(kc, RAW_HTTPX.format(url=server.url))[0])
    ours_s, raw_s = statistics.median(ours[1:]), statistics.median(raw[1:])
    return {"goose_nb ms": round(ours_s * 1000), "raw httpx ms": round(raw_s * 1000),
            "ratio": round(ours_s / raw_s, 2)}


def tool_session(server: ModelServer, kc: Any) -> dict[str, float]:
    start = len(server.requests)
    server.queue(*(openai_reply("", [python_call(f"call_{i}", f"step_{i} = {i}")])
                   for i in range(9)), openai_reply("Done."))
    run_cell(kc, "%goose reset")
    run_cell(kc, "%%goose\nTen steps.")
    requests = server.requests[start:]
    gaps = [(b.received_at - a.finished_at) * 1000 for a, b in itertools.pairwise(requests)]
    return {"requests": len(requests),
            "TCP connections": len({r.client_port for r in requests}),
            "median gap ms": round(statistics.median(gaps), 1)}


def long_session(server: ModelServer, kc: Any, turns: int = 200) -> dict[str, float]:
    run_cell(kc, "%goose reset")
    times = []
    for index in range(turns):
        server.queue(openai_reply(f"Answer {index}: " + "words " * 20))
        times.append(run_cell(kc, f"%%goose\nQuestion {index}?")[0])
    early, late = statistics.median(times[10:30]), statistics.median(times[-20:])
    return {"turns 11-30 ms": round(early * 1000, 1), "last 20 turns ms": round(late * 1000, 1),
            "ratio": round(late / early, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = Path.cwd()
    with ModelServer() as server, kernels(folder) as start:
        env = offline_env({"GOOSE_PROVIDER": "openai", "GOOSE_MODEL": "gpt-bench",
                           "OPENAI_HOST": server.url, "OPENAI_API_KEY": "sk-bench-0000000000",
                           "GOOSE_MAX_STEPS": "20", "GOOSE_CONFIG_PATH": "/nonexistent"})
        _, kc = start(env)
        reply, _ = execute(kc, "%load_ext goose_nb")
        assert reply["status"] == "ok", reply
        server.queue(openai_reply("Warm."))  # the first turn also creates the provider
        run_cell(kc, "%%goose\nWarm up.")
        results = {
            "first text (server sends, then pauses 2 s)": first_text(server, kc),
            "200 KB answer over 5 s": iopub_bytes(server, kc),
            f"{args.chunks:,}-chunk answer": chunk_cost(server, kc, args.chunks, args.runs),
            "10-step python tool session": tool_session(server, kc),
            "200-turn session": long_session(server, kc),
        }
    for name, figures in results.items():
        print(f"{name}: " + ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
                                      for k, v in figures.items()))


if __name__ == "__main__":
    main()
