"""GRPO's loss pass on a CPU: ours (a group's shared tokens once, each row up to its own end) vs TRL's as it
runs with one sequence per micro-batch (every row padded to the batch's longest completion).

SmolLM2, forward and backward, one group of 4 rollouts of a jira_labels train task: the oracle's episode cut
at 100, 75, 50 and 25 % of its completion, a group's spread of lengths. Both arms score the same tokens; the
best of 2 runs of each is compared.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

ROWS = 4


def main() -> None:
    import torch
    import trl

    from scenarios import SCENARIOS
    from scenarios.scoring import play
    from train.config import TrainConfig
    from train.run import grpo_trainer

    scenario = SCENARIOS["jira_labels"]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig("grpo", "smollm2-135m", (scenario.name,), Path(tmp) / "run", group_size=ROWS,
                          batch_size=ROWS, tasks=1, max_completion_length=4096)
        trainer = grpo_trainer(cfg)[0]
    task = scenario.tasks("train", count=1)[0]
    prompt, completion, _ = trainer.rollout_func.tokens(play(scenario, task, "oracle")[0], scenario, task)
    keep = len(completion)
    ids = torch.zeros((ROWS, len(prompt) + keep), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i in range(ROWS):
        n = keep * (ROWS - i) // ROWS
        ids[i, :len(prompt) + n] = torch.tensor(prompt + completion[:n])
        mask[i, :len(prompt) + n] = 1
    model = trainer.model

    def ours() -> torch.Tensor:
        logps, _, _ = trainer._get_per_token_logps_and_entropies(model, ids, mask, keep, compute_entropy=True)
        (logps * mask[:, -keep:]).sum().backward()
        return logps.detach()

    def theirs() -> torch.Tensor:
        rows = []
        for i in range(ROWS):  # one sequence per micro-batch, gradients accumulate
            logps, _, _ = trl.GRPOTrainer._get_per_token_logps_and_entropies(
                trainer, model, ids[i:i + 1], mask[i:i + 1], keep, compute_entropy=True)
            (logps * mask[i:i + 1, -keep:]).sum().backward()
            rows.append(logps.detach())
        return torch.cat(rows)

    seconds, values = {}, {}
    for arm, fn in (("TRL", theirs), ("ours", ours)):
        runs = []
        for _ in range(2):
            model.zero_grad()
            started = time.perf_counter()
            values[arm] = fn()
            runs.append(time.perf_counter() - started)
        seconds[arm] = min(runs)
    torch.testing.assert_close(values["ours"], values["TRL"], rtol=1e-3, atol=1e-4)
    tokens = int(mask.sum())
    print(f"loss: one group of {ROWS} jira_labels rollouts ({len(prompt)} prompt tokens, completions of "
          f"{keep}..{keep // ROWS} tokens, {tokens} in all), SmolLM2, forward and backward")
    print(f"  TRL, one row per micro-batch: {seconds['TRL']:5.1f} s   ours: {seconds['ours']:5.1f} s")
    print(f"  speed-up: {seconds['TRL'] / seconds['ours']:.2f}x")


if __name__ == "__main__":
    main()
