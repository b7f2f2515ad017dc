"""Score scripted policies on a scenario's tasks without pytest: the meta-tests and `python -m scenarios`.

    python -m scenarios.scoring [scenario ...]

prints, per scenario, the mean reward of oracle, noop, naive, spam and random on the eval split.
"""

from __future__ import annotations

import asyncio
import sys
from statistics import mean

from pytest_rlvr import Sampling, Scenario, Task, score
from pytest_rlvr.rollout import rollout
from pytest_rlvr.scripted import make_scripted

POLICIES = ("oracle", "noop", "naive", "spam", "random")


def play(scenario: Scenario, task: Task, policy_name: str, seed: int = 0):
    """One scripted rollout of `task` and its reward."""
    policy = make_scripted(policy_name, {scenario.name: scenario})
    assert policy is not None, policy_name

    async def ask(request):
        (turn,) = await policy.generate([request])
        return turn

    trace = asyncio.run(rollout(scenario, task, ask, sampling=Sampling(seed=seed), policy_info=policy.info))
    return trace, score(scenario.checks, trace, task)


def table(scenarios: list[Scenario]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for scenario in scenarios:
        tasks = scenario.tasks("eval")
        out[scenario.name] = {p: mean(play(scenario, t, p, seed=i)[1].score for i, t in enumerate(tasks))
                              for p in POLICIES}
    return out


def _all() -> dict[str, Scenario]:
    from . import SCENARIOS

    return SCENARIOS


if __name__ == "__main__":
    chosen = [_all()[n] for n in sys.argv[1:]] or list(_all().values())
    for name, row in table(chosen).items():
        print(f"{name:28s} " + "  ".join(f"{p}={v:.3f}" for p, v in row.items()))

