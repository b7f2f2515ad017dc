"""The contract of a scenario: its tasks, the tools and prompt a policy sees, a fresh world per rollout,
the checks that score a trace, and the scripted policies that prove them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from .checks import Check, checks_version
from .task import Environment, Script, Task


class Scenario(ABC):
    """A family of tasks with the tools offered, the system prompt, the checks and scripted policies."""

    name: str
    system_prompt: str
    tools: Sequence[Mapping[str, Any]]  # OpenAI-style tool definitions, exactly what the model sees
    checks: Sequence[Check]
    tier_checks: Mapping[str, Sequence[Check]] = {}  # tiers judged by checks of their own instead of `checks`
    max_turns: int = 12
    threshold: float = 1.0
    scripts: Mapping[str, Script] = {}

    @abstractmethod
    def tasks(self, split: str, count: int | None = None, start: int = 0) -> list[Task]:
        """Tasks of a split: eval has a fixed set (all of it when count is None); train is unlimited."""

    @abstractmethod
    def task(self, seed: int, split: str) -> Task:
        """The task of this seed in this split (the same seed always gives the same task)."""

    @abstractmethod
    def environment(self, task: Task) -> Environment:
        """A fresh, deterministic world for one rollout of `task`."""

    def checks_for(self, task: Task) -> Sequence[Check]:
        """The checks that score `task`: its tier's own (`tier_checks`), else `checks`. Every scorer asks here,
        so that one tier's checks never pay on another's tasks."""
        return self.tier_checks.get(task.tier, self.checks)

    @cached_property
    def checks_version(self) -> str:
        """A fingerprint of the checks (every tier's), saved with results so that runs scored differently are
        not compared unawares."""
        tiers = [c for tier in sorted(self.tier_checks) for c in self.tier_checks[tier]]
        return checks_version([*self.checks, *tiers])

    def messages(self, task: Task) -> list[dict[str, Any]]:
        """The conversation the policy starts from."""
        return [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": task.prompt}]
