"""The scenario checks as TRL reward functions: one per group, so TRL logs `rewards/<group>/mean`.

The rollouts score each trace with the scenario's checks, exactly as evaluation does, and hand TRL the
groups' shares (`rlvr_rewards`); the three group columns sum to the scenario's score (TRL's default
weights are 1).
"""

from __future__ import annotations

from typing import Any

from pytest_rlvr import GROUPS


class GroupReward:
    """One check group's share of each rollout's score."""

    def __init__(self, group: str) -> None:
        if group not in GROUPS:
            raise ValueError(f"unknown check group {group!r}")
        self.group = group
        self.__name__ = group

    def __call__(self, completions: list[Any], rlvr_rewards: list[dict[str, float]], **_: Any) -> list[float]:
        return [r[self.group] for r in rlvr_rewards]


def reward_functions() -> list[GroupReward]:
    return [GroupReward(g) for g in GROUPS]
