"""SFT and GRPO runs with TRL: model loading, trainer set-up, and a checkpoint the plugin evaluates as is."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from .config import ConfigError, TrainConfig, check_template


def model_path(name: str) -> tuple[str, Any]:
    """(path or id to load, ModelSpec) for an alias, a checkpoint directory or a model id."""
    from policies.adapter import weights
    from policies.registry import resolve

    spec = resolve(name)
    check_template(spec.template)
    return weights(spec), spec


def device_args(cfg: TrainConfig) -> dict[str, Any]:
    """bf16 autocast over float32 weights on a GPU, and on a CPU with bf16 instructions (`python -m bench
    precision`), unless --float32. No activation checkpointing on a CPU: memory is not what it lacks."""
    import torch

    if torch.cuda.is_available():
        return {"bf16": not cfg.float32}
    return {"use_cpu": True, "bf16": not cfg.float32 and cpu_has_bf16(), "activation_checkpointing": False}


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated and slower."""
    import torch

    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def load(path: str, spec: Any, lora: bool = False) -> tuple[Any, Any]:
    """(model, tokenizer). Weights that train stay in float32 (under bf16 autocast): a small update to a bf16
    weight rounds away. Frozen LoRA base weights load in bf16 on a GPU."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from policies.chat import template

    dtype = torch.bfloat16 if lora and torch.cuda.is_available() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.chat_template = template(spec.template)  # exactly TRL's, so TRL recognises it
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def lora_config(cfg: TrainConfig) -> Any:
    if not cfg.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")


def check_budget(cfg: TrainConfig, tokenizer: Any, scenarios: list[Any], tool_format: str = "hermes") -> None:
    """Refuse a completion budget the oracle's episodes do not fit in: TRL would drop tool results."""
    from .data import demonstrations

    longest = 0
    for row in demonstrations(scenarios, 2, cfg.seed, cfg.tiers, tool_format):
        prompt = tokenizer.apply_chat_template(row["messages"][:2], tools=row["tools"], tokenize=True,
                                               add_generation_prompt=True)
        full = tokenizer.apply_chat_template(row["messages"], tools=row["tools"], tokenize=True)
        longest = max(longest, len(_ids(full)) - len(_ids(prompt)))
    if longest > cfg.max_completion_length:
        raise ConfigError(f"--max-completion-length={cfg.max_completion_length} is too small: the reference "
                          f"episodes take up to {longest} tokens (tool results included), and TRL drops tool "
                          f"results past the budget")


def _ids(encoded: Any) -> list[int]:
    return list(encoded["input_ids"] if isinstance(encoded, dict) or hasattr(encoded, "keys") else encoded)


GRPO_MICRO_TOKENS = 8192  # completion tokens a CPU micro-batch may hold: 4 x 4,096 held 15.2 GB, 4 x 3,072 11.5 GB
SFT_MICRO_TOKENS = 8192  # two issue-creation demonstrations of 5,000-6,100 tokens went past 24 GB and were killed


def batching(cfg: TrainConfig, longest: int = 0) -> dict[str, int]:
    """`--batch-size` sequences per optimizer step; on a CPU (no gradient checkpointing) the loss holds the
    activations of a few sequences at a time, and gradients accumulate. Rows that share their start run it
    once (`trainer.py`): up to 4 rollouts of one GRPO group, which always do, within `GRPO_MICRO_TOKENS`;
    2 SFT demonstrations, which do when they come from one scenario, when two of the `longest` fit in
    `SFT_MICRO_TOKENS` (4 long episodes of different scenarios would need about 20 GB)."""
    micro = cfg.batch_size
    if device_args(cfg).get("use_cpu"):
        if cfg.command == "grpo":
            unit = cfg.group_size
            sizes = [n for n in (4, 3, 2) if n * cfg.max_completion_length <= GRPO_MICRO_TOKENS] + [1]
        else:
            unit, sizes = cfg.batch_size, [2, 1] if 2 * longest <= SFT_MICRO_TOKENS else [1]
        micro = next(n for n in sizes if unit % n == 0)
    return {"per_device_train_batch_size": micro, "gradient_accumulation_steps": cfg.batch_size // micro}


def time_limit(cfg: TrainConfig) -> list[Any]:
    """A callback that ends training at the step end nearest `cfg.time_limit` minutes, judged by the mean step
    so far: stopping only once past the limit gave slow GRPO steps (100-460 s) up to 6 minutes more than the SFT
    arm of an equal-time comparison."""
    if cfg.time_limit is None:
        return []
    import time

    from transformers import TrainerCallback

    class TimeLimit(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            self.begin, self.steps = time.monotonic(), 0
            self.deadline = self.begin + cfg.time_limit * 60

        def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            self.steps += 1
            now = time.monotonic()
            if now + (now - self.begin) / self.steps / 2 >= self.deadline:  # one more step would end further off
                control.should_training_stop = True

    return [TimeLimit()]


def finish(cfg: TrainConfig, trainer: Any, tokenizer: Any, spec: Any) -> Path:
    """Save a plain checkpoint (LoRA merged) with its tokenizer, eval template and spec, plus logs and plot;
    with --lora, also the adapter alone in `adapter/` (a few MB, evaluated over its base: `policies/adapter.py`)."""
    from policies.chat import template
    from policies.registry import save_metadata

    from .plot import plot_rewards

    model = trainer.model
    if cfg.lora:
        from policies.adapter import save_adapter

        save_adapter(model, cfg.output / "adapter", cfg.model, spec)
        model = model.merge_and_unload()
    model.save_pretrained(cfg.output)
    tokenizer.chat_template = template(spec.template)
    tokenizer.save_pretrained(cfg.output)
    save_metadata(cfg.output, replace(spec, alias=str(cfg.output), model=str(cfg.output)))
    history = trainer.state.log_history
    (cfg.output / "log_history.json").write_text(json.dumps(history, indent=1) + "\n")
    plot_rewards(history, cfg.output / "rewards.png")
    return cfg.output


def grpo_trainer(cfg: TrainConfig, reward_funcs: list[Any] | None = None, bare: bool = False) -> tuple[Any, Any, Any]:
    """(trainer, tokenizer, spec) for a GRPO run. Rollouts go through evaluation's loop and are scored by the
    scenario checks; `bare` (for benchmarks) uses TRL's built-in tool loop instead, with `reward_funcs`."""
    from datasets import Dataset
    from trl import GRPOConfig
    from trl import GRPOTrainer as TRLGRPOTrainer

    from scenarios import SCENARIOS

    from .data import prompts
    from .pool import make_pool
    from .rewards import reward_functions
    from .rollouts import Rollouts
    from .trainer import GRPOTrainer, score_completions_only

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    path, spec = model_path(cfg.model)
    model, tokenizer = load(path, spec, cfg.lora and not cfg.float32)  # --float32: no bf16 base either
    scenarios = [SCENARIOS[n] for n in cfg.scenarios]
    check_budget(cfg, tokenizer, scenarios, spec.tool_format)
    cfg.save()
    args = GRPOConfig(  # the whole batch is generated at once (steps_per_generation = accumulation steps)
        output_dir=str(cfg.output / "trainer"), max_steps=cfg.steps, learning_rate=cfg.learning_rate,
        **batching(cfg), num_generations=cfg.group_size, seed=cfg.seed,
        max_completion_length=cfg.max_completion_length, max_tool_calling_iterations=cfg.max_turns,
        temperature=cfg.temperature, logging_steps=1, save_strategy="steps", save_steps=max(cfg.steps // 2, 1),
        report_to="none", beta=cfg.beta, scale_rewards=cfg.scale_rewards,
        chat_template_kwargs={"enable_thinking": spec.thinking},
        log_completions=False, **device_args(cfg), **({"use_vllm": True, "vllm_mode": cfg.vllm} if cfg.vllm else {}))
    if args.use_cpu:
        score_completions_only()
    rows = prompts(scenarios, cfg.tasks, cfg.seed, cfg.tiers)
    pool = make_pool(cfg, rows)  # None unless --sampling pool
    dataset = Dataset.from_list(rows)
    if bare:
        from .environment import environment_class

        rollout = {"environment_factory": {s.name: environment_class(s) for s in scenarios}}
    else:
        rollout = {"rollout_func": Rollouts(cfg, spec, tokenizer, scenarios, rows, pool=pool)}
    trainer_class = TRLGRPOTrainer if bare else GRPOTrainer  # the bare arm is TRL's own
    trainer = trainer_class(model=model, reward_funcs=reward_funcs or reward_functions(), args=args,
                          train_dataset=dataset, processing_class=tokenizer, peft_config=lora_config(cfg),
                          callbacks=time_limit(cfg), **rollout)
    trainer.pool = pool
    return trainer, tokenizer, spec


def grpo(cfg: TrainConfig) -> Path:
    from .rollouts import failure_rates

    trainer, tokenizer, spec = grpo_trainer(cfg)
    trainer.train(resume_from_checkpoint=cfg.resume)
    out = finish(cfg, trainer, tokenizer, spec)
    if trainer.pool is not None:  # the tasks' last states: `--pool` seeds a later run with them
        trainer.pool.save(out / "pool.json")
    spread, groups = spread_groups(trainer.state.log_history, cfg.batch_size // cfg.group_size)
    rates = failure_rates(out / "rollouts.jsonl")
    if rates:
        print("failing checks, share of rollouts, first half of the steps -> second half:")
        for name, spans in rates.items():
            print(f"  {name}: " + " -> ".join("-" if rate is None else f"{rate:.0%}" for rate in spans))
    unsolved = ", or none passed (--skip-unsolved)" if cfg.skip_unsolved else ""
    print(f"groups with a spread of rewards: {spread} of {groups} (the others had no advantage: all their rollouts "
          f"scored the same{unsolved}; a higher --temperature or a larger --group-size samples more varied ones)")
    return out


def spread_groups(history: list[dict[str, Any]], groups_per_step: int) -> tuple[int, int]:
    """(groups whose rollouts did not all score the same, groups) over a GRPO run, from TRL's logged
    `frac_reward_zero_std`. A warm start that samples nearly the same episode every time makes few of them."""
    flat = [h["frac_reward_zero_std"] for h in history if "frac_reward_zero_std" in h]
    return round((len(flat) - sum(flat)) * groups_per_step), len(flat) * groups_per_step


def sft(cfg: TrainConfig) -> Path:
    trainer, tokenizer, spec = sft_trainer(cfg)
    trainer.train(resume_from_checkpoint=cfg.resume)
    return finish(cfg, trainer, tokenizer, spec)


def sft_trainer(cfg: TrainConfig) -> tuple[Any, Any, Any]:
    """(trainer, tokenizer, spec) for an SFT run on the oracle's demonstrations of train tasks, or on the passing
    rollouts of saved runs (`--traces`)."""
    from datasets import Dataset
    from trl import SFTConfig

    from scenarios import SCENARIOS

    from .data import demonstrations, passing_rollouts, tokenized
    from .trainer import SFTTrainer

    path, spec = model_path(cfg.model)
    scenarios = [SCENARIOS[n] for n in cfg.scenarios]
    if cfg.traces:  # read and scored before the model loads: a bad file fails in one line
        conversations = passing_rollouts(cfg.traces, scenarios, cfg.tiers, spec.tool_format)
    else:
        conversations = demonstrations(scenarios, cfg.tasks, cfg.seed, cfg.tiers, spec.tool_format)
    model, tokenizer = load(path, spec, cfg.lora and not cfg.float32)  # --float32: no bf16 base either
    cfg.save()
    # Tokenized here with TRL's generation-tagged template: the conversations mix tool-argument shapes that a
    # Dataset cannot type, and the loss covers the assistant's tokens only (never prompts or tool results).
    rows = tokenized(conversations, tokenizer, spec.template, spec.thinking)
    args = SFTConfig(
        output_dir=str(cfg.output / "trainer"), max_steps=cfg.steps, learning_rate=cfg.learning_rate,
        **batching(cfg, max(len(r["input_ids"]) for r in rows)), seed=cfg.seed, logging_steps=1, report_to="none",
        max_length=8192,
        save_strategy="steps", save_steps=max(cfg.steps // 2, 1),  # as GRPO: a killed run keeps its half-way state
        **device_args(cfg))
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                         peft_config=lora_config(cfg), callbacks=time_limit(cfg))
    return trainer, tokenizer, spec
