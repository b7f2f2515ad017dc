"""The loss pass on a CPU: ours (the rows' shared start once, each row up to its own end) vs TRL's as it runs
with one sequence per micro-batch (GRPO pads every row to the batch's longest completion).

SmolLM2, forward and backward, one CPU micro-batch of jira_labels: for GRPO, one group of 4 rollouts (the
oracle's episode of a train task cut at 100, 75, 50 and 25 % of its completion, a group's spread of lengths);
for SFT, the oracle's episodes of 2 train tasks. Both arms score the same tokens in float32 (`precision`
measures bf16); the best of 2 runs of each is compared.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

ROWS = 4  # a GRPO micro-batch on a CPU: up to 4 rollouts of one group
SFT_ROWS = 2  # an SFT micro-batch on a CPU


def best(arms: dict[str, Any]) -> tuple[dict[str, float], dict[str, Any]]:
    """The best of 2 timed runs of each arm, and each arm's last value."""
    seconds, values = {}, {}
    for arm, fn in arms.items():
        runs = []
        for _ in range(2):
            started = time.perf_counter()
            values[arm] = fn()
            runs.append(time.perf_counter() - started)
        seconds[arm] = min(runs)
    return seconds, values


def main() -> None:
    grpo()
    sft()


def grpo() -> None:
    import torch

    from scenarios import SCENARIOS
    from scenarios.scoring import play
    from train.config import TrainConfig
    from train.run import grpo_trainer
    from train.trainer import per_token_logps

    scenario = SCENARIOS["jira_labels"]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig("grpo", "smollm2-135m", (scenario.name,), Path(tmp) / "run", group_size=ROWS,
                          batch_size=ROWS, tasks=1, max_completion_length=4096, float32=True)
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
        model.zero_grad()
        logps, _ = per_token_logps(trainer, model, ids, mask, keep, compute_entropy=True)
        (logps * mask[:, -keep:]).sum().backward()
        return logps.detach()

    def theirs() -> torch.Tensor:
        model.zero_grad()
        rows = []
        for i in range(ROWS):  # one sequence per micro-batch, gradients accumulate
            logps, _ = per_token_logps(trainer, model, ids[i:i + 1], mask[i:i + 1], keep, compute_entropy=True,
                                       trl_pass=True)
            (logps * mask[i:i + 1, -keep:]).sum().backward()
            rows.append(logps.detach())
        return torch.cat(rows)

    seconds, values = best({"TRL": theirs, "ours": ours})
    torch.testing.assert_close(values["ours"], values["TRL"], rtol=1e-3, atol=1e-4)
    print(f"loss, GRPO: one group of {ROWS} jira_labels rollouts ({len(prompt)} prompt tokens, completions of "
          f"{keep}..{keep // ROWS} tokens, {int(mask.sum())} in all), SmolLM2, forward and backward")
    print(f"  TRL, one row per micro-batch: {seconds['TRL']:5.1f} s   ours: {seconds['ours']:5.1f} s")
    print(f"  speed-up: {seconds['TRL'] / seconds['ours']:.2f}x")


def sft() -> None:
    import torch
    import trl

    from train.config import TrainConfig
    from train.run import sft_trainer

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig("sft", "smollm2-135m", ("jira_labels",), Path(tmp) / "run", batch_size=SFT_ROWS,
                          tasks=SFT_ROWS, float32=True)
        trainer = sft_trainer(cfg)[0]
    model = trainer.model.train()
    batch = next(iter(trainer.get_train_dataloader()))  # one micro-batch, as a CPU run makes them
    count = (batch["labels"] != -100).sum()

    def ours() -> torch.Tensor:
        model.zero_grad()
        loss = trainer.compute_loss(model, dict(batch), num_items_in_batch=count)
        loss.backward()
        return loss.detach()

    def theirs() -> torch.Tensor:
        model.zero_grad()
        total = 0
        for i in range(SFT_ROWS):  # one sequence per micro-batch, each cut to its own length
            n = int(batch["attention_mask"][i].sum())
            row = {k: v[i:i + 1, :n] for k, v in batch.items()}
            loss = trl.SFTTrainer.compute_loss(trainer, model, row, num_items_in_batch=count)
            loss.backward()
            total = total + loss.detach()
        return total

    seconds, values = best({"TRL": theirs, "ours": ours})
    torch.testing.assert_close(values["ours"], values["TRL"], rtol=1e-4, atol=1e-5)
    lengths = batch["attention_mask"].sum(1).tolist()
    print(f"loss, SFT: {SFT_ROWS} jira_labels demonstrations ({min(lengths)}..{max(lengths)} tokens), SmolLM2, "
          f"forward and backward")
    print(f"  TRL, one row per micro-batch: {seconds['TRL']:5.1f} s   ours: {seconds['ours']:5.1f} s")
    print(f"  speed-up: {seconds['TRL'] / seconds['ours']:.2f}x")
