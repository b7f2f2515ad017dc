"""Harness vs bare client: the same rollouts against the same real local server, through pytest and without it.

A real `transformers serve` process serves the SmolLM2 checkpoint on the CPU (loopback, free port). Arm 1
is a whole `pytest scenarios ... --rlvr-base-url` session over CASES cases; its traces record every request
it made (the conversation before each turn). Arm 2 replays exactly those requests with the bare `openai`
client in a plain asyncio loop (each rollout's turns in order, all rollouts at once), in a fresh process that
imports nothing but asyncio and openai. Greedy decoding makes both arms generate the same tokens (checked).
The server answers one request at a time, so both arms do the same work and the difference is the harness.

Figures (the fastest of REPEATS runs of each arm, alternating, since other load on the machine only ever
slows a run down): the pytest session's wall time over the bare loop's time (target <= 1.02), and over the
bare process's wall time (process start and imports on both sides); and, without pytest's fixed cost
(start-up, imports, collection, results: a `noop` session over the same cases), over the bare loop. The
fixed cost is a couple of seconds, so the first ratio reaches the target only for runs of minutes.
Sizes: RLVR_BENCH_SERVER_CASES, RLVR_BENCH_SERVER_MAX_TOKENS, RLVR_BENCH_SERVER_REPEATS.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = "jira_labels"
CASES = int(os.environ.get("RLVR_BENCH_SERVER_CASES", 12))
MAX_TOKENS = int(os.environ.get("RLVR_BENCH_SERVER_MAX_TOKENS", 48))
MAX_TURNS = 2
REPEATS = int(os.environ.get("RLVR_BENCH_SERVER_REPEATS", 2))
TARGET = 1.02
STARTUP_TIMEOUT_S = 180

BARE = r"""
import asyncio, json, sys, time
from openai import AsyncOpenAI

url, path = sys.argv[1], sys.argv[2]
chains = json.load(open(path))


async def main():
    client = AsyncOpenAI(base_url=url, api_key="EMPTY", max_retries=0, timeout=600)
    tokens = 0

    async def rollout(chain):
        nonlocal tokens
        for body in chain:
            answer = await client.chat.completions.create(**body)
            tokens += answer.usage.completion_tokens

    started = time.perf_counter()
    await asyncio.gather(*(rollout(chain) for chain in chains))
    elapsed = time.perf_counter() - started
    await client.close()
    print(json.dumps({"loop_s": elapsed, "tokens_out": tokens}))


asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def transformers_serve(checkpoint: Path, directory: Path) -> Iterator[str]:
    """`transformers serve` for a local checkpoint on the CPU; yields its API root, stops it at the end."""
    port = free_port()
    log = directory / "server.log"
    # One thread: the clients get the other core, and OpenMP threads do not spin against them.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": str(directory / "hf"),
           "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(checkpoint), "--host", "127.0.0.1",
               "--port", str(port), "--device", "cpu"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"transformers serve did not start:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.25)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def harness(url: str | None, directory: Path) -> tuple[float, Path]:
    """Wall time of a whole pytest session over the cases, and where its traces are (the `noop` policy
    without a URL)."""
    save = directory / "run.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    policy = ["--rlvr-model=smollm2-135m", f"--rlvr-base-url={url}"] if url else ["--rlvr-model=noop"]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", f"scenarios/test_{SCENARIO}.py", "-q", "-p", "no:xdist",
         "-p", "no:hypothesispytest", *policy, f"--rlvr-tasks={CASES}", f"--rlvr-max-tokens={MAX_TOKENS}",
         f"--rlvr-max-turns={MAX_TURNS}", f"--rlvr-save={save}"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    results = json.loads(save.read_text()) if save.exists() else {"cases": []}
    if done.returncode not in (0, 1) or len(results["cases"]) != CASES or any("error" in c for c in results["cases"]):
        raise RuntimeError(f"the pytest session failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed, save.with_name(save.stem + ".traces.jsonl")


def replay(traces_path: Path, model: str) -> tuple[list[list[dict[str, Any]]], int]:
    """The chat.completions bodies the harness sent (as OpenAIPolicy builds them), per rollout in turn order;
    and its tokens out."""
    import scenarios
    from policies.openai_server import thinking_switch, wire_messages
    from policies.registry import resolve
    from pytest_rlvr.results import read_traces

    tools = [dict(t) for t in scenarios.SCENARIOS[SCENARIO].tools]
    spec = resolve("smollm2-135m")
    extra = {}
    if thinking_switch(spec):
        extra = {"extra_body": {"chat_template_kwargs": {"enable_thinking": spec.thinking}}}
    chains, tokens = [], 0
    for trace in read_traces(traces_path):
        position = next(i for i, m in enumerate(trace.messages) if m["role"] == "assistant")
        chain = []
        for turn in trace.turns:
            chain.append({"model": model, "messages": wire_messages(trace.messages[:position]), "tools": tools,
                          "temperature": 0.0, "max_tokens": MAX_TOKENS, "seed": trace.seed, **extra})
            position += 1 + len(turn.tool_calls)
            tokens += turn.tokens_out
        chains.append(chain)
    return chains, tokens


def bare(url: str, chains_path: Path) -> tuple[float, float, int]:
    """Wall time of the bare process, the time of its asyncio loop, and the tokens it got."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", BARE, url, str(chains_path)], capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the bare client failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return elapsed, figures["loop_s"], figures["tokens_out"]


def measure() -> dict[str, Any]:
    from policies.weights import embedded_checkpoint

    checkpoint = embedded_checkpoint()
    with tempfile.TemporaryDirectory(prefix="rlvr-bench-server-") as tmp:
        directory = Path(tmp)
        with transformers_serve(checkpoint, directory) as url:
            with urllib.request.urlopen(f"{url}/models", timeout=10) as answer:
                (model,) = [m["id"] for m in json.load(answer)["data"]]
            warm = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
            request = urllib.request.Request(f"{url}/chat/completions", json.dumps(warm).encode(),
                                             {"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=120).read()  # first-request set-up, outside both arms
            harness_s, bare_process_s, bare_loop_s, noop_s = [], [], [], []
            requests = tokens_harness = tokens_bare = 0
            for repeat in range(REPEATS):
                run_dir = directory / f"run{repeat}"
                (run_dir / "noop").mkdir(parents=True)
                noop_s.append(harness(None, run_dir / "noop")[0])
                elapsed, traces = harness(url, run_dir)
                harness_s.append(elapsed)
                chains, tokens_harness = replay(traces, model)
                requests = sum(len(c) for c in chains)
                chains_path = run_dir / "chains.json"
                chains_path.write_text(json.dumps(chains))
                process_s, loop_s, tokens_bare = bare(url, chains_path)
                bare_process_s.append(process_s)
                bare_loop_s.append(loop_s)
    h, bp, bl, noop = (min(x) for x in (harness_s, bare_process_s, bare_loop_s, noop_s))
    return {"cases": CASES, "requests": requests, "tokens_harness": tokens_harness, "tokens_bare": tokens_bare,
            "harness_s": h, "bare_process_s": bp, "bare_loop_s": bl, "ratio": h / bl, "ratio_processes": h / bp,
            "noop_s": noop, "ratio_marginal": (h - noop) / bl,
            "spread": {"harness": [round(x, 2) for x in harness_s], "bare_loop": [round(x, 2) for x in bare_loop_s]}}


def main() -> None:
    f = measure()
    same = "same" if f["tokens_harness"] == f["tokens_bare"] else "DIFFERENT"
    print(f"   transformers serve (CPU), SmolLM2-135M; {f['cases']} {SCENARIO} cases, {f['requests']} requests, "
          f"<= {MAX_TURNS} turns of <= {MAX_TOKENS} tokens; fastest of {REPEATS}")
    print(f"   tokens out, harness / bare      : {f['tokens_harness']} / {f['tokens_bare']} ({same} work)")
    print(f"   pytest session (whole process)  : {f['harness_s']:.2f} s")
    print(f"   bare client (asyncio loop)      : {f['bare_loop_s']:.2f} s")
    print(f"   bare client (whole process)     : {f['bare_process_s']:.2f} s")
    print(f"   pytest fixed cost (noop policy) : {f['noop_s']:.2f} s")
    print(f"   every run, harness / bare loop  : {f['spread']['harness']} / {f['spread']['bare_loop']}")
    print(f"   ratio, session / bare loop      : {f['ratio']:.3f} (target <= {TARGET}: "
          f"{'met' if f['ratio'] <= TARGET else 'MISSED'})")
    print(f"   ratio, session / bare process   : {f['ratio_processes']:.3f}")
    print(f"   ratio, (session - noop) / loop  : {f['ratio_marginal']:.3f} (what the harness adds per request)")


if __name__ == "__main__":
    main()
