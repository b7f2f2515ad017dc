"""GRPO with `--lora`: rollout turns generated with the adapter merged (ours) vs PEFT's unmerged adapter.

SmolLM2 with a fresh adapter (which adds zero, so both arms produce the same greedy tokens), 8 first-turn
prompts. Each arm prefills its prompts once, untimed, then times the same turns again: with the prompts
cached, the time is the per-token decoding that every turn of a rollout pays.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

ROLLOUTS = 8
NEW_TOKENS = 128  # one turn's budget in the GRPO runs


def main() -> None:
    from peft import get_peft_model

    from policies.registry import resolve
    from policies.weights import embedded_checkpoint
    from train.config import TrainConfig
    from train.rollouts import TrainingPolicy, lora_merged
    from train.run import load, lora_config

    from .generation import first_turns

    spec = resolve("smollm2-135m")
    model, tokenizer = load(str(embedded_checkpoint()), spec, lora=True)
    model = get_peft_model(model, lora_config(TrainConfig("grpo", "", (), None, lora=True))).eval()
    requests = first_turns(ROLLOUTS, NEW_TOKENS)
    seconds, tokens = {}, {}
    for arm, merge in (("unmerged", contextlib.nullcontext), ("merged", lambda: lora_merged(model))):
        policy = TrainingPolicy(spec, tokenizer, model, ROLLOUTS)
        with merge():
            asyncio.run(policy.generate(requests))  # prefill, untimed
            started = time.perf_counter()
            turns = asyncio.run(policy.generate(requests))
            seconds[arm] = time.perf_counter() - started
        tokens[arm] = [t.text for t in turns]
    assert tokens["merged"] == tokens["unmerged"], "a fresh adapter must not change the tokens"
    print(f"lora: {ROLLOUTS} turns of up to {NEW_TOKENS} tokens, prompts cached, SmolLM2 with a LoRA adapter")
    print(f"  PEFT unmerged: {seconds['unmerged']:6.1f} s   merged (ours): {seconds['merged']:6.1f} s")
    print(f"  speed-up: {seconds['unmerged'] / seconds['merged']:.2f}x")


if __name__ == "__main__":
    main()
