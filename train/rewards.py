"""The scenario checks as TRL reward functions: one per group, so TRL logs `rewards/<group>/mean`.

The three group columns sum to the scenario's score (with TRL's default weights of 1).
"""

from __future__ import annotations

from typing import Any

from pytest_rlvr import GROUPS


class GroupReward:
    """Reward of one check group for each completion, read from its environment."""

    def __init__(self, group: str) -> None:
        if group not in GROUPS:
            raise ValueError(f"unknown check group {group!r}")
        self.group = group
        self.__name__ = group

    def __call__(self, completions: list[Any], environments: list[Any], **_: Any) -> list[float]:
        return [env._score(completion).by_group()[self.group]
                for completion, env in zip(completions, environments, strict=True)]


def reward_functions() -> list[GroupReward]:
    return [GroupReward(g) for g in GROUPS]
