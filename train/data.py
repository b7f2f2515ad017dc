"""Training data from the scenarios' train split: GRPO prompts, and SFT demonstrations by the oracle."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pytest_rlvr import Scenario


def prompt_key(prompt: Sequence[dict[str, Any]]) -> str:
    """A prompt as a dictionary key: within the training rows, it names one task."""
    return json.dumps(list(prompt), sort_keys=True)


def prompts(scenarios: list[Scenario], per_scenario: int, seed: int) -> list[dict[str, Any]]:
    """GRPO rows: the conversation start, the environment (scenario) name and the task seed, interleaved.
    A task whose conversation start repeats an earlier one is left out: the prompt identifies the task."""
    rows, seen = [], set()
    for i in range(per_scenario):
        for s in scenarios:
            task = s.tasks("train", count=1, start=seed * 10_000 + i)[0]
            key = prompt_key(s.messages(task))
            if key not in seen:
                seen.add(key)
                rows.append({"prompt": s.messages(task), "environment": s.name, "seed": task.seed,
                             "split": "train", "task_id": task.id})
    return rows


def demonstrations(scenarios: list[Scenario], per_scenario: int, seed: int) -> list[dict[str, Any]]:
    """SFT rows: the oracle's whole conversation with the scenario's tools, on train tasks."""
    from policies.chat import model_messages
    from scenarios.scoring import play

    rows = []
    for i in range(per_scenario):
        for s in scenarios:
            task = s.tasks("train", count=1, start=seed * 10_000 + i)[0]
            trace, reward = play(s, task, "oracle")
            assert reward.score == 1.0, f"the oracle failed {task.id}: {reward.explain()}"
            rows.append({"messages": model_messages(trace.messages), "tools": list(s.tools)})  # the whole episode
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
