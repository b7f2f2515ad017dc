"""Training precision on a CPU: bf16 autocast over float32 weights (what `python -m train` uses where the CPU
multiplies bf16 natively) vs float32.

SmolLM2, one thread. The loss pass: one SFT micro-batch of 2 jira_labels demonstrations, forward and backward.
Generation: 4 rows of a jira_labels prompt, prefill (one new token) and 64 more decoding steps, which is why
rollouts decode in float32. The best of 2 runs of each arm is compared.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

NEW_TOKENS = 64
ROWS = 4


def main() -> None:
    import torch

    from bench.loss import best
    from train.config import TrainConfig
    from train.run import cpu_has_bf16, sft_trainer

    if not cpu_has_bf16():
        print("precision: this CPU has no bf16 instructions; training runs in float32 here")
        return
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig("sft", "smollm2-135m", ("jira_labels",), Path(tmp) / "run", batch_size=2, tasks=2)
        trainer, tokenizer, _ = sft_trainer(cfg)
    model = trainer.model.train()
    batch = next(iter(trainer.get_train_dataloader()))
    count = (batch["labels"] != -100).sum()

    def loss_pass(bf16: bool) -> float:
        model.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):  # as accelerate wraps the forward
            loss = trainer.compute_loss(model, dict(batch), num_items_in_batch=count)
        loss.backward()
        return loss.item()

    seconds, values = best({"float32": lambda: loss_pass(False), "bf16": lambda: loss_pass(True)})
    lengths = batch["attention_mask"].sum(1).tolist()
    print(f"precision, SFT loss pass: 2 jira_labels demonstrations ({min(lengths)}..{max(lengths)} tokens), "
          f"forward and backward, one thread")
    print(f"  float32: {seconds['float32']:5.1f} s   bf16 autocast: {seconds['bf16']:5.1f} s   speed-up: "
          f"{seconds['float32'] / seconds['bf16']:.2f}x   loss {values['float32']:.4f} vs {values['bf16']:.4f}")

    model.eval()
    prompt = batch["input_ids"][0, :int((batch["labels"][0] != -100).int().argmax())]  # up to the first answer
    ids = prompt.repeat(ROWS, 1)

    def generate(bf16: bool, new: int) -> None:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new,
                           min_new_tokens=new, do_sample=False, pad_token_id=tokenizer.pad_token_id)

    arms = {f"{p} {n}": (lambda p=p, n=n: generate(p == "bf16", n)) for p in ("float32", "bf16") for n in (1, 65)}
    seconds, _ = best(arms)
    prefill = {p: seconds[f"{p} 1"] for p in ("float32", "bf16")}
    decode = {p: seconds[f"{p} 65"] - seconds[f"{p} 1"] for p in ("float32", "bf16")}
    print(f"precision, generation: {ROWS} rows of a {len(prompt)}-token jira_labels prompt, one thread")
    print(f"  prefill: float32 {prefill['float32']:5.2f} s   bf16 autocast {prefill['bf16']:5.2f} s   speed-up "
          f"{prefill['float32'] / prefill['bf16']:.2f}x")
    print(f"  {NEW_TOKENS} decoding steps: float32 {decode['float32']:5.2f} s   bf16 autocast "
          f"{decode['bf16']:5.2f} s   speed-up {decode['float32'] / decode['bf16']:.2f}x")


if __name__ == "__main__":
    main()
