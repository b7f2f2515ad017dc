"""GRPO rollouts through evaluation's own loop (TRL's `rollout_func`).

The model being trained answers as an evaluation policy: the same rendering, tool-call parsing, simulated
world, turn limit and checks as `pytest scenarios`, with the prefix cache that makes multi-turn generation
affordable on a CPU. Each trace is then rendered once more with the training variant of the chat template,
which marks the assistant's tokens: TRL receives the prompt and completion ids, a mask that keeps tool
results and template tokens out of the loss, and each check group's reward.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from policies.hf import TransformersPolicy
from policies.prefix import PrefixCache
from pytest_rlvr import Policy, Sampling, Scenario, Task, Trace, score
from pytest_rlvr.batcher import Batcher
from pytest_rlvr.engine import sample_seed
from pytest_rlvr.rollout import rollout

from .config import TrainConfig
from .data import prompt_key, tokenized


class TrainingPolicy(TransformersPolicy):
    """The live training model as a policy; its prefix cache lives for one step (the weights then change)."""

    def __init__(self, spec: Any, tokenizer: Any, model: Any, batch: int) -> None:
        super().__init__(spec)
        self.max_batch_size = batch
        self.cache = PrefixCache(capacity=2 * batch)  # each rollout's latest sequence, and room to share
        self._loaded = (tokenizer, model)


class Rollouts:
    """`rollout_func(prompts, trainer)`: one rollout per prompt (TRL repeats each prompt `num_generations`
    times), each a task found by its prompt in the training rows."""

    def __init__(self, cfg: TrainConfig, spec: Any, tokenizer: Any, scenarios: list[Scenario],
                 rows: list[dict[str, Any]]) -> None:
        by_name = {s.name: s for s in scenarios}
        self.cfg, self.spec, self.tokenizer = cfg, spec, tokenizer
        self.tasks: dict[str, tuple[Scenario, Task]] = {}
        for row in rows:
            scenario = by_name[row["environment"]]
            self.tasks[prompt_key(row["prompt"])] = (scenario, scenario.task(row["seed"], row["split"]))
        self.traces: list[Trace] = []  # the last step's, for tests and inspection

    def __call__(self, prompts: list[list[dict[str, Any]]], trainer: Any) -> dict[str, list[Any]]:
        model = trainer.accelerator.unwrap_model(trainer.model)
        step = trainer.state.global_step
        jobs = [self.tasks[prompt_key(p)] for p in prompts]
        was_training = model.training
        model.eval()
        try:
            self.traces = asyncio.run(self._run(self.policy(model, len(jobs)), jobs, step))
        finally:
            model.train(was_training)
        out: dict[str, Any] = {"prompt_ids": [], "completion_ids": [], "env_mask": [], "rlvr_rewards": [],
                               "logprobs": None}  # TRL recomputes them; sampling ones only serve vLLM's correction
        for trace, (scenario, task) in zip(self.traces, jobs, strict=True):
            prompt, completion, mask = self.tokens(trace, scenario, task)
            out["prompt_ids"].append(prompt)
            out["completion_ids"].append(completion)
            out["env_mask"].append(mask)
            out["rlvr_rewards"].append(score(scenario.checks, trace, task).by_group())
        log(trainer, self.traces)
        with (self.cfg.output / "rollouts.jsonl").open("a") as f:  # what the model did, step by step
            f.writelines(json.dumps({"step": step, "reward": sum(r.values()), **t.to_dict()}) + "\n"
                         for t, r in zip(self.traces, out["rlvr_rewards"], strict=True))
        return out

    def policy(self, model: Any, batch: int) -> Policy:
        """The policy that answers this step's rollouts: the model being trained."""
        return TrainingPolicy(self.spec, self.tokenizer, model, batch)

    async def _run(self, policy: Policy, jobs: list[tuple[Scenario, Task]], step: int) -> list[Trace]:
        batcher = Batcher.for_policy(policy)
        cfg = self.cfg
        return list(await asyncio.gather(*(
            rollout(scenario, task, batcher.ask, sample=i, max_turns=cfg.max_turns, policy_info=policy.info,
                    sampling=Sampling(cfg.temperature, cfg.max_tokens, sample_seed(cfg.seed + step, task.id, i)))
            for i, (scenario, task) in enumerate(jobs))))

    def tokens(self, trace: Trace, scenario: Scenario, task: Task) -> tuple[list[int], list[int], list[int]]:
        """(prompt ids, completion ids, mask of the assistant's tokens) of a trace, within the episode budget."""
        from policies.chat import model_messages

        tools = list(scenario.tools)
        start = model_messages(trace.messages[:len(scenario.messages(task))])
        prompt = list(self.tokenizer.apply_chat_template(start, tools=tools, add_generation_prompt=True, tokenize=True,
                                                         return_dict=True,
                                                         enable_thinking=self.spec.thinking)["input_ids"])
        (full,) = tokenized([{"messages": model_messages(trace.messages), "tools": tools}], self.tokenizer,
                            self.spec.template, self.spec.thinking)
        ids, mask = full["input_ids"], full["assistant_masks"]
        if ids[:len(prompt)] != prompt:
            raise RuntimeError(f"the training template renders {trace.task_id} differently from evaluation")
        ids, mask = ids[len(prompt):], mask[len(prompt):]
        eos = self.tokenizer.eos_token_id
        while ids and ids[-1] != eos:  # the template's newline after the last end-of-turn
            ids, mask = ids[:-1], mask[:-1]
        budget = self.cfg.max_completion_length
        return prompt, ids[:budget], mask[:budget]


def log(trainer: Any, traces: list[Trace]) -> None:
    """Rollout statistics in TRL's logs, next to the reward columns (TRL averages each step's values)."""
    metrics = trainer._metrics["train"]  # TRL's per-step metric store (no public hook for a rollout_func)
    n = len(traces) or 1
    metrics["rollouts/turns"].append(sum(len(t.turns) for t in traces) / n)
    metrics["rollouts/tool_calls"].append(sum(len(turn.tool_calls) for t in traces for turn in t.turns) / n)
    metrics["rollouts/answered"].append(sum(t.stop_reason == "answered" for t in traces) / n)
    metrics["rollouts/worlds_changed"].append(sum(bool(t.state_diff) for t in traces) / n)
