"""The scenario checks as TRL reward functions: one per group, so TRL logs `rewards/<group>/mean`.

The rollouts score each trace with the scenario's checks, exactly as evaluation does, and hand TRL the
groups' shares (`rlvr_rewards`); the three group columns sum to the scenario's score (TRL's default
weights are 1).
"""

from __future__ import annotations

from collections.abc import Sequence
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


def without_unsolved(keys: Sequence[str], shares: Sequence[dict[str, float]],
                     passed: Sequence[bool]) -> list[dict[str, float]]:
    """`--skip-unsolved`: the rollouts of a group (one task's, in this step) none of which passed all get the
    group's mean shares, so the group has no advantage, as DAPO drops groups that never succeed. Its partial
    credit would otherwise teach what failing more cheaply looks like: on tasks the policy cannot do yet,
    reading and stopping beats a wrong write, and the policy learns to stop everywhere."""
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    out = [dict(s) for s in shares]
    for rows in groups.values():
        if not any(passed[i] for i in rows):
            mean = {g: sum(shares[i][g] for i in rows) / len(rows) for g in shares[rows[0]]}
            for i in rows:
                out[i] = dict(mean)
    return out
