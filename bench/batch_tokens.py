"""Embedded CPU model: late turns of long rollouts, one `generate` for all vs batches within `BATCH_TOKENS`.

Eight issue-creation rollouts of the oracle, each cut before its final answer (the longest prompts a scenario
makes, 4,000-6,000 tokens), are generated for greedily by the same model in each arm, in a fresh process per
arm so that each reports its own peak memory. Neither arm keeps a prefix cache (every token is prefilled).
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time

ROLLOUTS = 8
NEW_TOKENS = 16


def late_turns() -> list:
    from pytest_rlvr.policy import Sampling, TurnRequest
    from scenarios import SCENARIOS
    from scenarios.scoring import play

    scenario = SCENARIOS["jira_issue_create"]
    requests = []
    for task in scenario.tasks("train", count=ROLLOUTS * 3):
        if task.tier == "infeasible":
            continue
        trace, _ = play(scenario, task, "oracle")
        requests.append(TurnRequest(task.id, task, trace.messages[:-1], scenario.tools,
                                    Sampling(max_tokens=NEW_TOKENS)))
        if len(requests) == ROLLOUTS:
            break
    return requests


def arm(budget: int | None) -> dict:
    from policies.hf import TransformersPolicy
    from policies.prefix import PrefixCache
    from policies.registry import resolve

    policy = TransformersPolicy(resolve("smollm2-135m"))
    policy.load()
    policy.cache = PrefixCache(capacity=0)
    policy.max_batch_tokens = budget
    requests = late_turns()
    started = time.perf_counter()
    turns = asyncio.run(policy.generate(requests))
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kilobytes on Linux
    return {"seconds": time.perf_counter() - started, "peak_gb": peak_gb,
            "prompt": [t.tokens_in for t in turns], "texts": [t.text for t in turns]}


def main() -> None:
    from policies.hf import BATCH_TOKENS

    runs = {}
    for name, budget in (("one generate", None), (f"within {BATCH_TOKENS:,} tokens", BATCH_TOKENS)):
        out = subprocess.run([sys.executable, "-m", "bench.batch_tokens", json.dumps(budget)], check=True,
                             capture_output=True, text=True).stdout
        runs[name] = json.loads(out.splitlines()[-1])
    first = next(iter(runs.values()))
    print(f"batch tokens: {ROLLOUTS} late issue-creation turns of {min(first['prompt']):,}-{max(first['prompt']):,} "
          f"prompt tokens, {NEW_TOKENS} new tokens, no prefix cache")
    for name, r in runs.items():
        print(f"  {name:24s} {r['seconds']:6.1f} s  peak {r['peak_gb']:.2f} GB")
    a, b = runs.values()
    print(f"  peak memory ratio: {b['peak_gb'] / a['peak_gb']:.2f}x, time ratio: {b['seconds'] / a['seconds']:.2f}x, "
          f"same text: {a['texts'] == b['texts']}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(arm(json.loads(sys.argv[1]))))
    else:
        main()
