"""Informative groups per minute: GRPO prompts drawn from the difficulty pool (`grpo --sampling pool`) vs
TRL's uniform shuffle (`RepeatSampler`, the default), in one run.

GRPO learns only from groups whose rewards differ; a group of a task the policy always solves, or always
fails alike, is spent for nothing. Both arms run the same number of steps of `GROUPS` groups of `GROUP_SIZE`
rollouts on the same train tasks, record every group in a pool (`train.pool.record`, as the training rollouts
do) and draw the next steps' tasks one step ahead (as TRL's trainer and accelerate fetch them); they differ only
in the sampler. Each arm's steps are timed with the wall clock, from the draw to the last group recorded; the arms
step in turn, so that the load of a shared machine falls on both alike.

The policy is a stand-in for a model: a GRPO step of a real one takes minutes here, so a few hundred groups
would take a day. Each task gets a probability that the policy solves it: 40 % of tasks never, 35 % always, the
others between 0.2 and 0.8, as GRPO runs from a warm start logged their groups (docs/training-runs.md: of 8
groups, 2 with a spread, the others all 1.00 or all 0.00, or next to it). A rollout plays the scenario's
oracle with that probability and otherwise a weak script of the task's own (naive, noop or spam, which score
the same every time), through the real simulator and checks. It also learns: a task played in a group with
a spread becomes a little likelier to be solved (`LEARN`), and now and then a never-solved task becomes
solvable sometimes (`TRANSFER`), so task states change during the run and the pool has to notice.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from typing import Any

from pytest_rlvr.aggregate import has_spread

STEPS = 60
TASKS = 16  # train tasks per scenario
GROUPS = 8  # groups per step
GROUP_SIZE = 4
SEED = 0
NEVER, ALWAYS = 0.4, 0.35  # shares of tasks never and always solved at the start; the rest between 0.2 and 0.8
LEARN = 0.05  # a task's solve probability gained from a group with a spread
TRANSFER = 0.2  # chance per step that one never-solved task becomes solvable (0.25) from learning elsewhere
WEAK = ("naive", "noop", "spam")


class StandIn:
    """The stand-in policy: per task, a solve probability and a weak script (see the module docstring)."""

    def __init__(self, keys: list[str], seed: int) -> None:
        draw = random.Random(seed)
        self.p: dict[str, float] = {}
        self.weak: dict[str, str] = {}
        for k in keys:
            u = draw.random()
            self.p[k] = 0.0 if u < NEVER else 1.0 if u < NEVER + ALWAYS else draw.uniform(0.2, 0.8)
            self.weak[k] = draw.choice(WEAK)
        self.rng = random.Random(seed + 1)  # which rollouts solve
        self.transfer_rng = random.Random(seed + 2)  # the same transfers in both arms: never-solved tasks don't learn

    def group(self, scenario: Any, task: Any, size: int) -> list[float]:
        from scenarios.scoring import play

        return [play(scenario, task, "oracle" if self.rng.random() < self.p[task.id] else self.weak[task.id],
                     seed=i)[1].score for i in range(size)]

    def learn(self, key: str, rewards: list[float]) -> None:
        if has_spread(rewards):
            self.p[key] = min(1.0, self.p[key] + LEARN)

    def transfer(self) -> None:
        never = sorted(k for k, p in self.p.items() if p == 0)
        if never and self.transfer_rng.random() < TRANSFER:
            self.p[self.transfer_rng.choice(never)] = 0.25


class Arm:
    """One arm: its pool, stand-in policy and sampler, stepped by `step`, which adds its wall time to `seconds`."""

    def __init__(self, sampling: str, tasks: int, groups: int, group_size: int, seed: int,
                 scenarios: list[str] | None = None) -> None:
        from scenarios import SCENARIOS
        from train.data import prompts
        from train.pool import Pool, PoolSampler
        from train.trainer import RepeatSampler  # TRL's own

        chosen = [SCENARIOS[n] for n in scenarios or SCENARIOS]
        rows = prompts(chosen, tasks, seed)
        self.tasks = {r["task_id"]: (SCENARIOS[r["environment"]], SCENARIOS[r["environment"]].task(r["seed"], "train"))
                      for r in rows}
        self.sampling, self.groups, self.group_size = sampling, groups, group_size
        self.pool = Pool.from_rows(rows)
        self.policy = StandIn(self.pool.keys, seed)
        layout = {"mini_repeat_count": group_size, "batch_size": groups, "repeat_count": 1, "seed": seed}
        sampler = PoolSampler(rows, **layout, pool=self.pool) if sampling == "pool" else RepeatSampler(rows, **layout)
        self.stream: Iterator[int] = (i for _ in itertools.count() for i in sampler)  # epoch after epoch
        self.ahead: list[int] | None = None
        self.steps = self.informative = 0
        self.seconds = 0.0

    def take(self) -> list[int]:
        return list(itertools.islice(self.stream, self.groups * self.group_size))

    def step(self) -> None:
        """One step: the next step's prompts are fetched before this step's rollouts, as in training."""
        from train.pool import record

        started = time.perf_counter()
        current, self.ahead = self.ahead or self.take(), self.take()
        keys = [self.pool.keys[i] for i in current[::self.group_size]]
        rewards = [self.policy.group(*self.tasks[k], self.group_size) for k in keys]
        record(self.pool, [k for k in keys for _ in range(self.group_size)], [r for group in rewards for r in group])
        for k, r in zip(keys, rewards, strict=True):
            self.informative += has_spread(r)
            self.policy.learn(k, r)
        self.policy.transfer()
        self.steps += 1
        self.seconds += time.perf_counter() - started

    def figures(self) -> dict[str, Any]:
        """Groups, informative groups, rollouts, seconds, per minute, and the mean solve probability now."""
        groups = self.steps * self.groups
        return {"sampling": self.sampling, "tasks": len(self.tasks), "groups": groups, "informative": self.informative,
                "rollouts": groups * self.group_size, "seconds": self.seconds,
                "per_minute": self.informative / self.seconds * 60 if self.seconds else 0.0,
                "solve": sum(self.policy.p.values()) / len(self.policy.p), "counts": self.pool.counts()}


def measure(steps: int = STEPS, tasks: int = TASKS, groups: int = GROUPS, group_size: int = GROUP_SIZE,
            seed: int = SEED, scenarios: list[str] | None = None) -> dict[str, Any]:
    """Both arms, stepped in turn (the one going first alternating) so that the machine's load falls on both
    alike, after a warm-up rollout of each task; and the ratio of their informative groups per minute, pool over
    uniform."""
    from scenarios.scoring import play

    arms = {s: Arm(s, tasks, groups, group_size, seed, scenarios) for s in ("uniform", "pool")}
    for scenario, task in arms["uniform"].tasks.values():
        play(scenario, task, "oracle")
    for n in range(steps):
        for name in (("uniform", "pool") if n % 2 == 0 else ("pool", "uniform")):
            arms[name].step()
    out: dict[str, Any] = {name: arm.figures() for name, arm in arms.items()}
    u, p = out["uniform"]["per_minute"], out["pool"]["per_minute"]
    out["ratio"] = p / u if u else float("inf")
    return out


def main() -> None:
    figures = measure()
    u = figures["uniform"]
    print(f"   {u['tasks']} train tasks, {STEPS} steps of {GROUPS} groups x {GROUP_SIZE} rollouts per arm; stand-in "
          f"policy (oracle with a per-task probability, else a weak script)")
    for name in ("uniform", "pool"):
        a = figures[name]
        print(f"   {name:8}: {a['informative']:4d} informative of {a['groups']} groups in {a['seconds'] / 60:.3f} min "
              f"= {a['per_minute']:.0f} per minute; mean solve probability at the end {a['solve']:.3f}; "
              f"pool states {a['counts']}")
    print(f"   ratio (pool / uniform), informative groups per minute: {figures['ratio']:.2f}x")


if __name__ == "__main__":
    main()
