"""`python -m train` options, checked before anything is loaded: bad configuration fails in one line."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SUPPORTED_TEMPLATES = ("qwen2_5.jinja", "qwen3.jinja", "qwen3_5_nothink.jinja", "qwen3_5_think.jinja")


class ConfigError(ValueError):
    """A configuration that cannot train; str(e) is the one line shown."""


def several_processes() -> bool:
    """Launched as one of several training processes (`accelerate launch`, torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass(frozen=True)
class TrainConfig:
    command: str  # "grpo" | "sft"
    model: str
    scenarios: tuple[str, ...]
    output: Path
    steps: int = 20
    group_size: int = 4
    batch_size: int = 4
    learning_rate: float = 5e-6
    lora: bool = False
    seed: int = 0
    max_turns: int = 6
    max_completion_length: int = 1024
    max_tokens: int = 256  # per assistant turn, as evaluation's --rlvr-max-tokens
    temperature: float = 1.0
    tasks: int = 64  # train tasks per scenario (SFT demonstrations, or the GRPO prompt pool)
    tiers: tuple[str, ...] = ("easy", "medium", "hard", "infeasible")  # the task tiers trained on (all by default)
    resume: str | None = None
    time_limit: float | None = None  # minutes of training, for equal-time comparisons
    split: str = "train"
    vllm: str | None = None  # "colocate" | "server": TRL's vLLM engine generates the rollouts' turns
    float32: bool = False  # no bf16 autocast, even where the device multiplies bf16 natively
    beta: float = 0.0  # GRPO: weight of the KL term to the starting model (TRL's beta; 0 loads no reference)
    scale_rewards: str = "group"  # GRPO: divide advantages by the group's reward std ("group"), the batch's, or not
    sampling: str = "uniform"  # GRPO prompts: TRL's shuffle, or "pool": mostly tasks with signal (train/pool.py)
    pool: Path | None = None  # GRPO: a probe's JSON whose groups seed the pool's task states
    skip_unsolved: bool = False  # GRPO: a group in which no rollout passes gets no advantage (DAPO's filter)
    traces: tuple[Path, ...] = ()  # SFT: rows are the passing rollouts of these saved train-split runs, not the oracle

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["output"] = str(self.output)
        data["pool"] = None if self.pool is None else str(self.pool)
        data["traces"] = [str(p) for p in self.traces]
        return data

    def save(self) -> None:
        self.output.mkdir(parents=True, exist_ok=True)
        (self.output / "train-config.json").write_text(json.dumps(self.to_dict(), indent=1) + "\n")


@dataclass(frozen=True)
class ProbeConfig:
    """`python -m train probe`: K rollouts per train task, to see whether GRPO would have a spread to learn from."""

    model: str
    scenarios: tuple[str, ...]
    tasks: int = 8  # train tasks per scenario (the first ones of the tiers asked for, as GRPO's prompt pool)
    samples: int = 4  # rollouts per task: GRPO's group size
    temperature: float = 1.0
    max_tokens: int = 256
    max_turns: int | None = None  # the scenario's own limit when None
    tiers: tuple[str, ...] = ("easy", "medium", "hard", "infeasible")
    seed: int = 0  # the training seed: which train tasks (as `grpo --seed`), and every sample's seed
    save: Path | None = None  # where to write the figures as JSON
    concurrency: int = 32  # rollouts in flight at once (evaluation's default); each holds its episode's cache
    command: str = "probe"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m train", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for name, helptext in (("grpo", "GRPO with the scenario checks as rewards"),
                           ("sft", "SFT on the oracle's demonstrations, or on a saved run's passing rollouts")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--model", default="smollm2-135m", help="alias, checkpoint directory or model id")
        s.add_argument("--scenarios", default="all", help="comma-separated scenario names, or 'all'")
        s.add_argument("--output", required=True, type=Path, help="output directory (the checkpoint)")
        s.add_argument("--steps", type=int, default=20)
        s.add_argument("--group-size", type=int, default=4, help="GRPO completions per prompt")
        s.add_argument("--batch-size", type=int, default=4, help="sequences per optimizer step")
        s.add_argument("--learning-rate", "--lr", type=float, default=None)
        s.add_argument("--lora", action="store_true", help="train LoRA adapters (peft) instead of all weights")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--max-turns", type=int, default=6, help="tool-calling iterations per episode")
        s.add_argument("--max-completion-length", type=int, default=1024,
                       help="tokens for the whole episode, tool results included")
        s.add_argument("--max-tokens", type=int, default=256, help="tokens per assistant turn")
        s.add_argument("--temperature", type=float, default=1.0)
        s.add_argument("--tasks", type=int, default=64, help="train tasks per scenario")
        s.add_argument("--tiers", default="all", help="comma-separated task tiers to train on (easy, medium, hard, "
                       "infeasible: requests that cannot be done as asked), or 'all' (default)")
        s.add_argument("--split", default="train", help="task split to train on (only 'train' is allowed)")
        s.add_argument("--resume", default=None, help="resume from a checkpoint directory of a previous run")
        s.add_argument("--float32", action="store_true",
                       help="train in float32 (default: bf16 autocast on a GPU, or a CPU with bf16 instructions)")
        s.add_argument("--time-limit", type=float, default=None, metavar="MINUTES",
                       help="stop at the step end nearest this many minutes of training (at most --steps steps)")
        if name == "sft":
            s.add_argument("--traces", type=Path, action="append", default=[], metavar="RUN.traces.jsonl",
                           help="rejection sampling: train on the rollouts of a saved train-split run "
                                "(`pytest --rlvr-split=train --rlvr-save`) that the scenario's checks score 1.0, "
                                "instead of the oracle's demonstrations; repeat for several runs")
        if name == "grpo":
            s.add_argument("--beta", type=float, default=0.0,
                           help="weight of the KL penalty to the starting model (TRL's beta; default 0: none)")
            s.add_argument("--scale-rewards", choices=("group", "batch", "none"), default="group",
                           help="divide each advantage by its group's reward std (TRL's default), the batch's, or "
                                "not at all (Dr. GRPO: a group whose rewards barely differ makes a small update)")
            s.add_argument("--vllm", choices=("colocate", "server"), default=None,
                           help="GRPO: generate turns with TRL's vLLM engine, in this process's GPU (colocate) or "
                                "a `trl vllm-serve` server (server); default: transformers in-process")
            s.add_argument("--sampling", choices=("uniform", "pool"), default=None,
                           help="GRPO prompts: TRL's shuffle (default), or a difficulty pool: mostly tasks whose last "
                                "group had a spread of rewards or that are not seen yet, some solved or flat ones")
            s.add_argument("--pool", type=Path, default=None, metavar="PROBE.json",
                           help="seed the pool's task states from `python -m train probe --save` (same --seed); "
                                "implies --sampling pool")
            s.add_argument("--skip-unsolved", action="store_true",
                           help="a group in which no rollout passes the scenario's threshold teaches nothing (every "
                                "rollout gets the group's mean reward, as DAPO drops such groups): partial credit "
                                "among failures otherwise rewards stopping early; the pool draws such tasks less")
    s = sub.add_parser("probe", help="learnability pre-flight: K rollouts per train task; the share of groups "
                       "with a spread of rewards per scenario and tier (GRPO learns from those only)")
    s.add_argument("--model", default="smollm2-135m",
                   help="alias, checkpoint directory, model id, or a scripted policy (oracle, naive, random, noop)")
    s.add_argument("--scenarios", default="all", help="comma-separated scenario names, or 'all'")
    s.add_argument("--tasks", type=int, default=8, help="train tasks per scenario (the first ones, as GRPO's)")
    s.add_argument("--samples", type=int, default=4, help="rollouts per task (GRPO's --group-size)")
    s.add_argument("--temperature", type=float, default=1.0)
    s.add_argument("--max-tokens", type=int, default=256, help="tokens per assistant turn")
    s.add_argument("--max-turns", type=int, default=None, help="assistant turns per rollout (default: the scenario's)")
    s.add_argument("--tiers", default="all", help="comma-separated task tiers, or 'all' (default)")
    s.add_argument("--seed", type=int, default=0, help="training seed: which train tasks, and the samples' seeds")
    s.add_argument("--save", type=Path, default=None, help="also write the figures (and the groups' rewards) as JSON")
    s.add_argument("--concurrency", type=int, default=32,
                   help="rollouts in flight at once (default 32, as evaluation's); lower it when memory is short: "
                        "long scenarios' in-process rollouts each hold up to a few hundred MB")
    return p


def _scenarios(spec: str) -> tuple[str, ...]:
    from scenarios import SCENARIOS

    names = tuple(SCENARIOS) if spec == "all" else tuple(s.strip() for s in spec.split(","))
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ConfigError(f"--scenarios: unknown scenario {unknown[0]!r}; known: {', '.join(SCENARIOS)}")
    return names


def _tiers(spec: str) -> tuple[str, ...]:
    from scenarios.base import ALL_TIERS

    tiers = ALL_TIERS if spec == "all" else tuple(dict.fromkeys(t.strip() for t in spec.split(",")))
    wrong = [t for t in tiers if t not in ALL_TIERS]
    if wrong:
        raise ConfigError(f"--tiers: unknown tier {wrong[0]!r}; known: {', '.join(ALL_TIERS)}, or all")
    return tiers


def parse_probe(a: argparse.Namespace) -> ProbeConfig:
    """The probe's options, checked."""
    for name in ("tasks", "samples", "max_tokens", "max_turns", "concurrency"):
        value = getattr(a, name)
        if value is not None and value < 1:
            raise ConfigError(f"--{name.replace('_', '-')}={value}: must be at least 1")
    if a.temperature < 0:
        raise ConfigError(f"--temperature={a.temperature}: must be 0 or more")
    return ProbeConfig(a.model, _scenarios(a.scenarios), tasks=a.tasks, samples=a.samples,
                       temperature=a.temperature, max_tokens=a.max_tokens, max_turns=a.max_turns,
                       tiers=_tiers(a.tiers), seed=a.seed, save=a.save, concurrency=a.concurrency)


def parse(argv: list[str]) -> TrainConfig | ProbeConfig:
    a = parser().parse_args(argv)
    if a.command == "probe":
        return parse_probe(a)
    names = _scenarios(a.scenarios)
    tiers = _tiers(a.tiers)
    if a.split != "train":
        raise ConfigError(f"--split={a.split}: training uses the train split only; eval tasks are held out")
    for name in ("steps", "group_size", "batch_size", "max_turns", "max_completion_length", "max_tokens", "tasks"):
        if getattr(a, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')}={getattr(a, name)}: must be at least 1")
    if a.time_limit is not None and a.time_limit <= 0:
        raise ConfigError(f"--time-limit={a.time_limit}: must be a positive number of minutes")
    if a.command == "grpo" and (a.batch_size * 1) % a.group_size:
        raise ConfigError(f"--batch-size={a.batch_size} must be a multiple of --group-size={a.group_size}")
    beta = getattr(a, "beta", 0.0)
    if beta < 0:
        raise ConfigError(f"--beta={beta}: must be 0 or more")
    vllm = getattr(a, "vllm", None)
    if vllm:
        check_vllm()
    sampling, pool = sampling_options(a, names)
    skip_unsolved = getattr(a, "skip_unsolved", False)
    traces = tuple(getattr(a, "traces", ()))
    if missing := [p for p in traces if not p.is_file()]:
        raise ConfigError(f"--traces {missing[0]}: no such file (a run's <stem>.traces.jsonl, from --rlvr-save)")
    if skip_unsolved and several_processes():
        raise ConfigError("--skip-unsolved: judges each group's rollouts in one training process; on several, a "
                          "group's rollouts are split between them")
    # GRPO on all weights of SmolLM2 degraded its warm start at 2e-5 within 12 steps, and improved it at 5e-6
    lr = a.learning_rate if a.learning_rate is not None else (5e-5 if a.command == "sft" else 5e-6)
    return TrainConfig(a.command, a.model, names, a.output, steps=a.steps, group_size=a.group_size,
                       batch_size=a.batch_size, learning_rate=lr, lora=a.lora, seed=a.seed, max_turns=a.max_turns,
                       max_completion_length=a.max_completion_length, max_tokens=a.max_tokens,
                       temperature=a.temperature, tasks=a.tasks, tiers=tiers, resume=a.resume,
                       time_limit=a.time_limit,
                       split=a.split, vllm=vllm, float32=a.float32, beta=beta,
                       scale_rewards=getattr(a, "scale_rewards", "group"), sampling=sampling, pool=pool,
                       skip_unsolved=skip_unsolved, traces=traces)


def sampling_options(a: argparse.Namespace, scenarios: tuple[str, ...]) -> tuple[str, Path | None]:
    """(--sampling, --pool) of a GRPO run: --pool implies the pool, which `train.pool.check` checks."""
    pool = getattr(a, "pool", None)
    sampling = getattr(a, "sampling", None) or ("pool" if pool is not None else "uniform")
    if pool is not None and sampling != "pool":
        raise ConfigError(f"--pool={pool}: seeds the difficulty pool, which --sampling {sampling} does not draw from")
    if sampling == "pool":
        from .pool import check

        check(pool, scenarios, a.seed)
    return sampling, pool


def check_vllm() -> None:
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        raise ConfigError("--vllm needs vLLM and a GPU: pip install 'pytest-rlvr[vllm]'")
    if several_processes():  # each turn would be a collective call, a turn count per rank
        raise ConfigError("--vllm: rollouts generate with vLLM in one training process; on several, use the default")


def check_template(template: str) -> None:
    if template not in SUPPORTED_TEMPLATES:
        raise ConfigError(f"chat template {template!r} is not one TRL trains tool use with; "
                          f"supported: {', '.join(SUPPORTED_TEMPLATES)}")
