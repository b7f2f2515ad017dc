"""Embedded CPU model: batched generation across 8 rollouts vs the same 8 one at a time (target ≥ 3×).

Both arms render the same 8 first-turn prompts (one task per scenario, then more) and generate the same
number of new tokens greedily; tokens/s counts the tokens produced. Neither arm keeps a prefix cache, which
would let the second arm (and later requests of the first) skip the prefill of prompts seen before.
"""

from __future__ import annotations

import asyncio
import time

ROLLOUTS = 8
NEW_TOKENS = 48


def first_turns(rollouts: int, new_tokens: int) -> list:
    """First-turn requests of `rollouts` eval tasks, one scenario after another."""
    from pytest_rlvr.policy import Sampling, TurnRequest
    from scenarios import SCENARIOS

    scenarios = list(SCENARIOS.values())
    requests = []
    for i in range(rollouts):
        scenario = scenarios[i % len(scenarios)]
        task = scenario.tasks("eval", count=2, start=i // len(scenarios))[0]
        requests.append(TurnRequest(f"r{i}", task, scenario.messages(task), scenario.tools,
                                    Sampling(max_tokens=new_tokens)))
    return requests


def main() -> None:
    from policies.hf import TransformersPolicy
    from policies.prefix import PrefixCache
    from policies.registry import resolve

    policy = TransformersPolicy(resolve("smollm2-135m"))
    policy.load()
    policy.cache = PrefixCache(capacity=0)  # batching alone (see the docstring)
    requests = first_turns(ROLLOUTS, NEW_TOKENS)
    asyncio.run(policy.generate(requests[:1]))  # warm-up

    started = time.perf_counter()
    one = [asyncio.run(policy.generate([r]))[0] for r in requests]
    single_s = time.perf_counter() - started
    started = time.perf_counter()
    batched = asyncio.run(policy.generate(requests))
    batched_s = time.perf_counter() - started

    single_tokens = sum(t.tokens_out for t in one)
    batched_tokens = sum(t.tokens_out for t in batched)
    prompt = sum(t.tokens_in for t in one) / len(one)
    print(f"generation: {ROLLOUTS} rollouts, ~{prompt:.0f} prompt tokens each, up to {NEW_TOKENS} new tokens")
    print(f"  one at a time: {single_s:6.1f} s  {single_tokens / single_s:6.1f} tokens/s")
    print(f"  batched:       {batched_s:6.1f} s  {batched_tokens / batched_s:6.1f} tokens/s")
    print(f"  speed-up: {(batched_tokens / batched_s) / (single_tokens / single_s):.2f}x (target >= 3x)")


if __name__ == "__main__":
    main()
