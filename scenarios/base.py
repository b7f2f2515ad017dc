"""What the five scenarios share: seeded tasks on a simulated site, splits, the world, the generic checks."""

from __future__ import annotations

import random
from abc import abstractmethod
from functools import lru_cache
from typing import Any

from pytest_rlvr import Scenario, Task, generic

from .atlassian import catalog
from .atlassian.generate import generate
from .atlassian.site import Site
from .atlassian.world import World

EVAL_TASKS = 60
EVAL_SEED_BASE = 1_000_000  # eval seeds are EVAL_SEED_BASE + i; train seeds are 0 .. EVAL_SEED_BASE - 1
TIERS = ("easy", "medium", "hard")

SYSTEM_PROMPT = (
    "You are an assistant that works in an Atlassian Cloud site (Jira and Confluence) through tools that "
    "call its REST APIs. Use the tools to do what the user asks. Look up ids, keys and required fields "
    "with the read tools instead of guessing them. Every tool returns the HTTP status and the JSON body. "
    "When the work is done, answer with a short summary and no tool call."
)


class AtlassianScenario(Scenario):
    """A scenario whose tasks run on a seeded simulated site. Subclasses build a task from a seed."""

    tool_names: tuple[str, ...] = ()
    system_prompt = SYSTEM_PROMPT

    def __init__(self) -> None:
        self.tools = catalog.definitions(self.tool_names)

    @abstractmethod
    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, Any]:
        """Prepare the site for a task (in place) and return (prompt, what the checks need: a frozen
        dataclass the scenario declares)."""

    def tasks(self, split: str, count: int | None = None, start: int = 0) -> list[Task]:
        if split == "eval":
            stop = EVAL_TASKS if count is None else min(EVAL_TASKS, start + count)
            seeds = [EVAL_SEED_BASE + i for i in range(start, stop)]
        elif split == "train":
            if count is None:
                raise ValueError("the train split is unlimited: ask for a count")
            if start + count > EVAL_SEED_BASE:
                raise ValueError("train tasks end where eval seeds begin")
            seeds = list(range(start, start + count))
        else:
            raise ValueError(f"unknown split {split!r}; use 'train' or 'eval'")
        return [self.task(seed, split) for seed in seeds]

    def task(self, seed: int, split: str) -> Task:
        prompt, data, _ = self._prepared(seed)
        tier = TIERS[seed % len(TIERS)]
        return Task(f"{self.name}/{split}/{seed}", self.name, split, seed, tier, prompt, data)

    @lru_cache(maxsize=512)  # noqa: B019 - scenarios are module-level singletons
    def _prepared(self, seed: int) -> tuple[str, Any, Site]:
        rng = random.Random(f"{self.name}:{seed}")
        site = generate(seed)
        prompt, data = self.build(rng, site, TIERS[seed % len(TIERS)])
        return prompt, data, site

    def environment(self, task: Task) -> World:
        return World(self._prepared(task.seed)[2], self.tool_names, initial=self._initial(task.seed))

    @lru_cache(maxsize=512)  # noqa: B019 - scenarios are module-level singletons
    def _initial(self, seed: int) -> dict[str, Any]:
        """The task's starting snapshot, made once and shared (read-only) by every world of the task."""
        return World(self._prepared(seed)[2], self.tool_names).snapshot()


no_invalid_call = generic.no_invalid_call()
no_duplicate_write = generic.no_duplicate_write()
