"""GRPO step time of `python -m train grpo` vs TRL's bare GRPOTrainer with a trivial reward (target ≤ 1.05).

Same tiny Qwen3 model (built here, random weights), same prompts, tools, worlds, batch and seed. The bare
arm is TRL's own multi-turn tool loop (`environment_factory`) with a constant reward; ours runs the
rollouts through evaluation's loop (prefix-cached generation) and scores them with the scenario checks.
Both arms run in this process, one after the other, and the median step time of each is compared (the
first step of each arm, which warms caches up, is left out). A random model would stop wherever its
sampling stream emits a stop token; here both arms are held to the whole budget (`min_new_tokens`), so
they generate the same number of tokens.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

STEPS = 4
BUDGET = 512  # completion tokens per rollout, in both arms


def trivial(completions, **_):
    return [0.0] * len(completions)


def step_times(trainer) -> list[float]:
    from transformers import TrainerCallback

    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.t = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.t)

    trainer.model.generation_config.min_new_tokens = BUDGET  # ours: evaluation's `generate` reads the model's
    trainer.generation_kwargs["min_new_tokens"] = BUDGET  # TRL's own loop
    trainer.generation_config.min_new_tokens = BUDGET
    trainer.add_callback(Clock())
    trainer.train()
    lengths = {h["completions/mean_length"] for h in trainer.state.log_history if "completions/mean_length" in h}
    assert lengths == {BUDGET}, f"the arms must generate the whole budget, not {lengths}"
    return times[1:]


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from tiny_model import build

    from train.config import TrainConfig
    from train.run import grpo_trainer

    with tempfile.TemporaryDirectory() as tmp:
        model = build(Path(tmp) / "tiny")

        def config(name: str) -> TrainConfig:
            return TrainConfig("grpo", str(model), ("jira_labels",), Path(tmp) / name, steps=STEPS, group_size=4,
                               batch_size=4, max_completion_length=BUDGET, max_tokens=BUDGET, tasks=4, max_turns=2)

        ours = step_times(grpo_trainer(config("ours"))[0])
        bare = step_times(grpo_trainer(config("bare"), reward_funcs=[trivial], bare=True)[0])
    o, b = statistics.median(ours), statistics.median(bare)
    print(f"grpo: {STEPS} steps each, batch 4, group 4, {BUDGET} completion tokens each, tiny Qwen3 on jira_labels")
    print(f"  bare TRL (constant reward): {b:6.2f} s/step   ours (scenario checks): {o:6.2f} s/step")
    print(f"  ratio: {o / b:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
