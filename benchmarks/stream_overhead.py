"""How much goose_nb's stream processing costs over raw httpx, and how long ``%load_ext`` takes.

Run with ``.venv/bin/python benchmarks/stream_overhead.py``. It starts the test model server
(``tests/model_server.py``) in a child process, so that the server's Python code does not share
the benchmark's interpreter lock, and has it answer every request with the same 2,000-chunk
OpenAI stream. Then, in one run and interleaved:

- raw httpx: ``AsyncClient.stream`` + ``aiter_lines()`` + ``json.loads`` of every ``data:`` line;
- goose_nb: ``OpenAIProvider.stream()`` consumed to its ``ResponseComplete``.

Each is warmed up once, then timed ``--runs`` times; the table shows the medians and the
ratio goose_nb / raw (target: within 1.5x). The time of ``%load_ext goose_nb`` is measured
in fresh interpreters, with IPython's shell already created (target: under 300 ms).

Options: ``--runs N`` (default 15), ``--chunks N`` (default 2000), ``--load-runs N``
(default 5), ``--profile`` (cProfile of the goose_nb side, top functions by own time).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
for folder in (ROOT, TESTS):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import httpx  # noqa: E402

from goose_nb.config import Settings  # noqa: E402
from goose_nb.messages import ChatRequest, Message, ResponseComplete, TextDelta  # noqa: E402
from goose_nb.providers.openai import OpenAIProvider  # noqa: E402

STREAM_TARGET = 1.5
LOAD_TARGET_MS = 300.0
MODEL = "gpt-bench"

LOAD_EXT_CODE = """
import time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
start = time.perf_counter()
shell.run_line_magic("load_ext", "goose_nb")
elapsed = (time.perf_counter() - start) * 1000
assert "goose" in shell.magics_manager.magics["line"], "goose magics not registered"
print(elapsed)
"""


# the server, in a child process ------------------------------------------------------------


def _serve(chunks: int, ready: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    sys.path.insert(0, str(TESTS))
    from model_server import ModelServer, openai_reply

    text = "abcd" * chunks  # four characters per delta: exactly ``chunks`` text deltas
    reply = openai_reply(text, model=MODEL, pieces=chunks)
    with ModelServer() as server:
        server.responder = lambda request: reply
        ready.put((server.url, len(reply.chunks), sum(len(c) for c in reply.chunks)))
        stop.wait()


# the two clients -----------------------------------------------------------------------------


def request_body() -> dict:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": "stream please"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def raw_httpx(client: httpx.AsyncClient, url: str) -> int:
    """The floor: read lines, decode every ``data:`` payload, nothing else."""
    decoded = 0
    async with client.stream("POST", url, json=request_body(),
                             headers={"accept": "text/event-stream"}) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                json.loads(payload)
                decoded += 1
    return decoded


async def goose_nb_stream(provider: OpenAIProvider, request: ChatRequest) -> int:
    """goose_nb's provider layer, every event consumed up to the ``ResponseComplete``."""
    deltas = 0
    complete = None
    async for event in provider.stream(request):
        if isinstance(event, TextDelta):
            deltas += 1
        elif isinstance(event, ResponseComplete):
            complete = event
    if complete is None:
        raise RuntimeError("goose_nb's stream ended without a ResponseComplete")
    return deltas


async def measure(url: str, runs: int, chunks: int, profile: bool) -> dict[str, list[float]]:
    settings = Settings(openai_host=url, openai_base_path="v1/chat/completions")
    request = ChatRequest(model=MODEL, messages=[Message(role="user", text="stream please")])
    timings: dict[str, list[float]] = {"raw": [], "goose_nb": []}
    async with httpx.AsyncClient(timeout=60.0) as client:
        provider = OpenAIProvider(settings, client)
        endpoint = provider.endpoint.url

        async def raw() -> int:
            return await raw_httpx(client, endpoint)

        async def goose() -> int:
            return await goose_nb_stream(provider, request)

        # warm-up (connection, imports, caches), and a check that both see the whole stream
        raw_count, goose_count = await raw(), await goose()
        if goose_count != chunks:
            raise RuntimeError(f"goose_nb saw {goose_count} text deltas, expected {chunks}")
        if raw_count < chunks:
            raise RuntimeError(f"raw httpx decoded {raw_count} chunks, expected >= {chunks}")

        for index in range(runs):
            order = [("raw", raw), ("goose_nb", goose)]
            if index % 2:
                order.reverse()  # interleaved, alternating who goes first
            for name, run in order:
                start = time.perf_counter()
                await run()
                timings[name].append(time.perf_counter() - start)

        if profile:
            await profile_goose(goose)
    return timings


async def profile_goose(goose) -> None:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        await goose()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    print("\ncProfile of 5 goose_nb streams, by own time:\n")
    print(out.getvalue())


# %load_ext goose_nb ------------------------------------------------------------------------


def load_ext_ms(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", LOAD_EXT_CODE],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return times


# main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--load-runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    stop = context.Event()
    server = context.Process(target=_serve, args=(args.chunks, ready, stop), daemon=True)
    server.start()
    try:
        url, sse_events, size = ready.get(timeout=30)
        timings = asyncio.run(measure(url, args.runs, args.chunks, args.profile))
    finally:
        stop.set()
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    loads = load_ext_ms(args.load_runs)

    raw_ms = statistics.median(timings["raw"]) * 1000
    goose_ms = statistics.median(timings["goose_nb"]) * 1000
    ratio = goose_ms / raw_ms
    load_ms = statistics.median(loads)

    def verdict(ok: bool) -> str:
        return "ok" if ok else "**over target**"

    print(f"\nOpenAI stream: {args.chunks} text deltas ({sse_events} SSE events, "
          f"{size / 1024:.0f} KiB), median of {args.runs} interleaved runs after one warm-up; "
          f"`%load_ext goose_nb`: median of {args.load_runs} fresh interpreters.\n")
    print("| measurement | median | target | |")
    print("|---|---:|---:|---|")
    print(f"| raw httpx (`aiter_lines` + `json.loads`) | {raw_ms:.1f} ms | | |")
    print(f"| goose_nb `OpenAIProvider.stream()` | {goose_ms:.1f} ms | | |")
    print(f"| ratio goose_nb / raw | {ratio:.2f}x | ≤ {STREAM_TARGET}x "
          f"| {verdict(ratio <= STREAM_TARGET)} |")
    print(f"| `%load_ext goose_nb` | {load_ms:.0f} ms | < {LOAD_TARGET_MS:.0f} ms "
          f"| {verdict(load_ms < LOAD_TARGET_MS)} |")
    print(f"\n(per-delta cost: raw {raw_ms * 1000 / args.chunks:.1f} µs, "
          f"goose_nb {goose_ms * 1000 / args.chunks:.1f} µs; "
          f"load_ext runs: {', '.join(f'{t:.0f}' for t in loads)} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
