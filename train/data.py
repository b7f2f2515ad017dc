"""Training data from the scenarios' train split: GRPO prompts, and SFT demonstrations by the oracle, on the
tiers asked for (all of them by default: the infeasible tier's demonstrations read, write nothing and say why),
or by the policy itself: the rollouts of a saved train-split run that the checks score 1.0."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_rlvr import Scenario, Task
from scenarios.base import ALL_TIERS as ALL

STRIDE = 10_000  # a training seed's tasks start at position seed * STRIDE of the train split


def prompt_key(prompt: Sequence[dict[str, Any]]) -> str:
    """A prompt as a dictionary key: within the training rows, it names one task."""
    return json.dumps(list(prompt), sort_keys=True)


def train_tasks(scenario: Scenario, count: int, seed: int, tiers: Sequence[str] = ALL) -> list[Task]:
    """The first `count` train tasks of these tiers, from the training seed's start in the split."""
    out: list[Task] = []
    start = seed * STRIDE
    while len(out) < count:
        batch = scenario.tasks("train", count=7, start=start)  # seven in a row hold every tier
        out.extend(t for t in batch if t.tier in tiers)
        start += len(batch)
    return out[:count]


def interleaved(scenarios: list[Scenario], per_scenario: int, seed: int,
                tiers: Sequence[str] = ALL) -> list[tuple[Scenario, Task]]:
    """Each scenario's train tasks of these tiers, taken in turn: the first of each, then the second..."""
    chosen = [train_tasks(s, per_scenario, seed, tiers) for s in scenarios]
    return [(s, tasks[i]) for i in range(per_scenario) for s, tasks in zip(scenarios, chosen, strict=True)]


def prompts(scenarios: list[Scenario], per_scenario: int, seed: int,
            tiers: Sequence[str] = ALL) -> list[dict[str, Any]]:
    """GRPO rows: the conversation start, the environment (scenario) name, the task seed and tier, interleaved.
    A task whose conversation start repeats an earlier one is left out: the prompt identifies the task."""
    rows, seen = [], set()
    for s, task in interleaved(scenarios, per_scenario, seed, tiers):
        key = prompt_key(s.messages(task))
        if key not in seen:
            seen.add(key)
            rows.append({"prompt": s.messages(task), "environment": s.name, "seed": task.seed, "split": "train",
                         "task_id": task.id, "tier": task.tier})
    return rows


def demonstrations(scenarios: list[Scenario], per_scenario: int, seed: int, tiers: Sequence[str] = ALL,
                   tool_format: str = "hermes") -> list[dict[str, Any]]:
    """SFT rows: the oracle's whole conversation with the scenario's tools, on train tasks of these tiers."""
    from policies.chat import model_messages
    from scenarios.scoring import play

    rows = []
    for s, task in interleaved(scenarios, per_scenario, seed, tiers):
        trace, reward = play(s, task, "oracle")
        assert reward.score == 1.0, f"the oracle failed {task.id}: {reward.explain()}"
        messages = model_messages(trace.messages, tool_format)
        rows.append({"messages": messages, "tools": list(s.tools), "tier": task.tier})
    return rows


def passing_rollouts(paths: Sequence[Path], scenarios: list[Scenario], tiers: Sequence[str] = ALL,
                     tool_format: str = "hermes") -> list[dict[str, Any]]:
    """SFT rows from saved rollouts (rejection sampling): each trace of these runs, of these scenarios and tiers,
    that today's checks score 1.0 on its rebuilt task, once per distinct conversation. Only train-split traces:
    eval tasks are held out."""
    from policies.chat import model_messages
    from pytest_rlvr.checks import score
    from pytest_rlvr.results import read_traces

    from .config import ConfigError

    by_name = {s.name: s for s in scenarios}
    rows, seen, counts = [], set(), Counter()
    for path in paths:
        try:
            traces = read_traces(path)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"--traces {path}: not a traces file of --rlvr-save ({type(exc).__name__}: "
                              f"{exc})") from None
        for trace in traces:
            scenario = by_name.get(trace.scenario)
            if scenario is None:
                continue
            if trace.task_split is None or trace.task_seed is None:
                raise ConfigError(f"--traces {path}: {trace.task_id} does not say which task it is (saved before "
                                  "traces recorded it); roll it out again")
            if trace.task_split != "train":
                raise ConfigError(f"--traces {path}: {trace.task_id} is a {trace.task_split} task; training takes "
                                  "rollouts of train tasks only (`pytest --rlvr-split=train`)")
            task = scenario.task(trace.task_seed, "train")
            if task.digest != trace.task_digest:
                raise ConfigError(f"--traces {path}: {trace.task_id} rebuilds differently today; roll it out again")
            if task.tier not in tiers:
                continue
            counts[scenario.name, "rollouts"] += 1
            if score(scenario.checks_for(task), trace, task).score < 1.0:
                continue
            messages = model_messages(trace.messages, tool_format)
            key = prompt_key([{k: v for k, v in m.items() if k != "tool_call_id"} for m in messages])
            if key not in seen:
                seen.add(key)
                counts[scenario.name, "kept"] += 1
                rows.append({"messages": messages, "tools": list(scenario.tools), "tier": task.tier})
    for s in scenarios:
        print(f"{s.name}: {counts[s.name, 'kept']} distinct passing rollouts of {counts[s.name, 'rollouts']} saved")
    if not rows:
        raise ConfigError("--traces: no rollout of these scenarios and tiers scores 1.0; nothing to train on")
    return rows


def tokenized(rows: list[dict[str, Any]], tokenizer: Any, template: str,
              thinking: bool = False) -> list[dict[str, list[int]]]:
    """input_ids and assistant_masks of each conversation, rendered with the training variant of `template`."""
    from policies.chat import template as load_template

    training = load_template(template.replace(".jinja", "_training.jinja"))
    out = []
    for row in rows:
        encoded = tokenizer.apply_chat_template(row["messages"], tools=row["tools"], chat_template=training,
                                                tokenize=True, return_dict=True, return_assistant_tokens_mask=True,
                                                enable_thinking=thinking)
        out.append({"input_ids": list(encoded["input_ids"]), "assistant_masks": list(encoded["assistant_masks"])})
    return out
