"""What the five scenarios share: seeded tasks on a simulated site, splits, the world, the generic checks."""

from __future__ import annotations

import random
from abc import abstractmethod
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pytest_rlvr import Scenario, Script, Task, generic

from .atlassian import catalog
from .atlassian.generate import generate
from .atlassian.site import Site
from .atlassian.world import World
from .infeasible import CHECKS as INFEASIBLE_CHECKS
from .infeasible import INFEASIBLE

EVAL_TASKS = 60  # feasible eval tasks per scenario
EVAL_SEED_BASE = 1_000_000  # feasible eval seeds are EVAL_SEED_BASE + i; feasible train seeds 0 .. EVAL_SEED_BASE - 1
TIERS = ("easy", "medium", "hard")  # the feasible tiers: tier = TIERS[seed % 3]
ALL_TIERS = (*TIERS, INFEASIBLE)
EVAL_INFEASIBLE = 10  # infeasible eval tasks per scenario
INFEASIBLE_EVAL_BASE = 1_500_000  # infeasible eval seeds are INFEASIBLE_EVAL_BASE + i
INFEASIBLE_TRAIN_BASE = 2_000_000  # infeasible train seeds are INFEASIBLE_TRAIN_BASE + i, below INFEASIBLE_TRAIN_END
INFEASIBLE_TRAIN_END = 3_000_000
INFEASIBLE_EVERY = 6  # a split's tasks: six feasible ones, then an infeasible one, and again
TRAIN_POSITIONS = EVAL_SEED_BASE // INFEASIBLE_EVERY * (INFEASIBLE_EVERY + 1) + EVAL_SEED_BASE % INFEASIBLE_EVERY
"""How many train tasks there are: the position where the feasible train seeds would reach the eval seeds."""

SYSTEM_PROMPT = (
    "You are an assistant that works in an Atlassian Cloud site (Jira and Confluence) through tools that "
    "call its REST APIs. Use the tools to do what the user asks. Look up ids, keys and required fields "
    "with the read tools instead of guessing them. Every tool returns the HTTP status and the JSON body. "
    "When the work is done, answer with a short summary and no tool call."
)


class AtlassianScenario(Scenario):
    """A scenario whose tasks run on a seeded simulated site. Subclasses build a task from a seed; the
    infeasible tier's tasks are scored by `scenarios.infeasible.CHECKS`, the other tiers' by `checks`."""

    tool_names: tuple[str, ...] = ()
    system_prompt = SYSTEM_PROMPT
    tier_checks = {INFEASIBLE: INFEASIBLE_CHECKS}

    def __init__(self) -> None:
        self.tools = catalog.definitions(self.tool_names)

    @abstractmethod
    def build(self, rng: random.Random, site: Site, tier: str) -> tuple[str, Any]:
        """Prepare the site for a task (in place) and return (prompt, what the checks need: a frozen
        dataclass the scenario declares)."""

    @abstractmethod
    def build_infeasible(self, rng: random.Random, site: Site) -> tuple[str, Any]:
        """Prepare the site for a request that cannot be done as asked and return (prompt, its
        `scenarios.infeasible.InfeasibleTask`)."""

    def tasks(self, split: str, count: int | None = None, start: int = 0) -> list[Task]:
        """The split's tasks from position `start`: six feasible ones, then an infeasible one, and again (so any
        seven in a row hold one). Eval has 70 (60 feasible, 10 infeasible); train is unlimited up to
        `TRAIN_POSITIONS`.

        Raises:
            ValueError: An unknown split, a train request without a count, or one past the train tasks.
        """
        if split == "eval":
            total = EVAL_TASKS + EVAL_INFEASIBLE
            stop = total if count is None else min(total, start + count)
        elif split == "train":
            if count is None:
                raise ValueError("the train split is unlimited: ask for a count")
            if start + count > TRAIN_POSITIONS:
                raise ValueError("train tasks end where eval seeds begin")
            stop = start + count
        else:
            raise ValueError(f"unknown split {split!r}; use 'train' or 'eval'")
        return [self.task(seed_at(split, p), split) for p in range(start, stop)]

    def task(self, seed: int, split: str) -> Task:
        prompt, data, _ = self._prepared(seed)
        return Task(f"{self.name}/{split}/{seed}", self.name, split, seed, tier_of(seed), prompt, data)

    @lru_cache(maxsize=512)  # noqa: B019 - scenarios are module-level singletons
    def _prepared(self, seed: int) -> tuple[str, Any, Site]:
        rng = random.Random(f"{self.name}:{seed}")
        site = generate(seed)
        tier = tier_of(seed)
        prompt, data = self.build_infeasible(rng, site) if tier == INFEASIBLE else self.build(rng, site, tier)
        return prompt, data, site

    def environment(self, task: Task) -> World:
        return World(self._prepared(task.seed)[2], self.tool_names, initial=self._initial(task.seed))

    @lru_cache(maxsize=512)  # noqa: B019 - scenarios are module-level singletons
    def _initial(self, seed: int) -> dict[str, Any]:
        """The task's starting snapshot, made once and shared (read-only) by every world of the task."""
        return World(self._prepared(seed)[2], self.tool_names).snapshot()


def tier_of(seed: int) -> str:
    """A task's tier, from its seed alone (rescoring rebuilds a task from its seed)."""
    return INFEASIBLE if INFEASIBLE_EVAL_BASE <= seed < INFEASIBLE_TRAIN_END else TIERS[seed % len(TIERS)]


def seed_at(split: str, position: int) -> int:
    """The seed of the split's task at `position`: six feasible seeds in order, then an infeasible one."""
    block, offset = divmod(position, INFEASIBLE_EVERY + 1)
    if offset < INFEASIBLE_EVERY:
        return (EVAL_SEED_BASE if split == "eval" else 0) + block * INFEASIBLE_EVERY + offset
    return (INFEASIBLE_EVAL_BASE if split == "eval" else INFEASIBLE_TRAIN_BASE) + block


def tiered(feasible: Mapping[str, Script], infeasible: Mapping[str, Script]) -> dict[str, Script]:
    """Scripts by name that play `feasible[name]` on the feasible tiers and `infeasible[name]` on the infeasible
    one (a name in one mapping only plays on every tier)."""
    out: dict[str, Script] = {}
    for name in dict.fromkeys([*feasible, *infeasible]):
        easy, hard = feasible.get(name), infeasible.get(name)
        if easy is None or hard is None or easy is hard:
            out[name] = easy or hard  # type: ignore[assignment]
            continue

        def play(task: Task, easy: Script = easy, hard: Script = hard) -> Any:
            return (hard if task.tier == INFEASIBLE else easy)(task)

        play.__name__, play.__doc__ = easy.__name__, easy.__doc__
        out[name] = play
    return out


no_invalid_call = generic.no_invalid_call()
no_duplicate_write = generic.no_duplicate_write()
