"""Score scripted policies on a scenario's eval tasks without pytest: the meta-tests and the README's table.

    python -m scenarios.scoring [scenario ...]
    python -m scenarios.scoring --markdown
    python -m scenarios.scoring --golden tests/golden/check-outcomes.json

The first prints, per scenario, the mean reward (and its lowest and highest) of the shipped scripted
policies (oracle, noop, naive, spam, random, refuse) with their mean per tier, and of every red-team probe
(`scenarios.redteam`) on the tiers it plays, on the eval split. The second prints the README's table: a row per
shipped policy with its mean per tier, a row per attack class (its worst probe), the lowest score of any
legitimate variant, and the partial solutions best first. The third records every check outcome of the shipped
policies on every eval task: the golden file that tests/test_golden.py holds the checks to, so that a change in
what a check pays shows as a diff.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from statistics import mean

from pytest_rlvr import Reward, Sampling, Scenario, Script, Task, Trace, score
from pytest_rlvr.rollout import rollout
from pytest_rlvr.scripted import ScriptPolicy, make_scripted

from .base import ALL_TIERS, EVAL_SEED_BASE, INFEASIBLE, INFEASIBLE_EVAL_BASE
from .redteam import ATTACKS, probes

POLICIES = ("oracle", "noop", "naive", "spam", "random", "refuse")


def play(scenario: Scenario, task: Task, policy: str | Script, seed: int = 0) -> tuple[Trace, Reward]:
    """One scripted rollout of `task` by a named scripted policy or a script, and its reward."""
    if isinstance(policy, str):
        player = make_scripted(policy, {scenario.name: scenario})
        assert player is not None, policy
    else:
        player = ScriptPolicy(policy.__name__, {scenario.name: scenario}, policy)

    async def ask(request):
        (turn,) = await player.generate([request])
        return turn

    trace = asyncio.run(rollout(scenario, task, ask, sampling=Sampling(seed=seed), policy_info=player.info))
    return trace, score(scenario.checks_for(task), trace, task)


def ordinal(task: Task) -> int:
    """The task's place among the eval tasks of its kind (feasible or infeasible): the sampling seed it is played
    with, the same as before the infeasible tier existed."""
    return task.seed - (INFEASIBLE_EVAL_BASE if task.tier == INFEASIBLE else EVAL_SEED_BASE)


def eval_tasks(scenario: Scenario, tiers: Sequence[str] = ALL_TIERS) -> list[Task]:
    """The scenario's eval tasks of these tiers."""
    return [t for t in scenario.tasks("eval") if t.tier in tiers]


def scores(scenario: Scenario, policy: str | Script, tiers: Sequence[str] = ALL_TIERS) -> list[float]:
    """The policy's reward on every eval task of these tiers (each sampled with its `ordinal`)."""
    return [play(scenario, t, policy, seed=ordinal(t))[1].score for t in eval_tasks(scenario, tiers)]


def by_tier(scenario: Scenario, policy: str | Script, tiers: Sequence[str] = ALL_TIERS) -> dict[str, list[float]]:
    """The policy's rewards on the eval tasks, per tier (in `ALL_TIERS` order)."""
    out: dict[str, list[float]] = {}
    for task in eval_tasks(scenario, tiers):
        out.setdefault(task.tier, []).append(play(scenario, task, policy, seed=ordinal(task))[1].score)
    return {t: out[t] for t in ALL_TIERS if t in out}


def table(scenarios: list[Scenario]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Per scenario, every policy's rewards per tier on the eval tasks: the shipped ones on every tier, then the
    red team's on the tiers each plays."""
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for scenario in scenarios:
        row = {p: by_tier(scenario, p) for p in POLICIES}
        row.update({f"{p.kind}:{p.name}": by_tier(scenario, p.script, p.tiers) for p in probes(scenario.name)})
        out[scenario.name] = row
    return out


def outcomes(scenarios: list[Scenario]) -> dict[str, dict[str, dict[str, dict]]]:
    """Every shipped policy's score and failed checks on every eval task, per scenario."""
    out: dict[str, dict[str, dict[str, dict]]] = {}
    for scenario in scenarios:
        out[scenario.name] = {}
        for policy in POLICIES:
            rows = {}
            for task in scenario.tasks("eval"):
                reward = play(scenario, task, policy, seed=ordinal(task))[1]
                rows[task.id] = {"score": round(reward.score, 4), "failed": sorted(o.name for o in reward.failures)}
            out[scenario.name][policy] = rows
    return out


def _all() -> dict[str, Scenario]:
    from . import SCENARIOS

    return SCENARIOS


def _flat(rewards: dict[str, list[float]]) -> list[float]:
    return [r for values in rewards.values() for r in values]


def markdown(scenarios: list[Scenario]) -> str:
    """The README's table, one column per scenario: each shipped policy's mean reward per tier over the eval
    tasks, each attack class's worst probe on its tier, the legitimate variants' lowest score, the partial
    solutions best first."""
    tiers = " / ".join(ALL_TIERS)
    rows: dict[str, list[str]] = {f"{p} ({tiers})": [] for p in POLICIES}
    rows.update({f"{a}: {ATTACKS[a]} (worst probe)": [] for a in ATTACKS})
    rows["legitimate variants (lowest task score)"] = []
    rows["partial solutions, best first"] = []
    for scenario in scenarios:
        scores_of = table([scenario])[scenario.name]
        team = {p.name: p for p in probes(scenario.name)}
        for p in POLICIES:
            rows[f"{p} ({tiers})"].append(" / ".join(f"{mean(scores_of[p][t]):.2f}" for t in ALL_TIERS))
        for a in ATTACKS:
            worst = max(mean(_flat(scores_of[f"adversarial:{n}"])) for n, p in team.items() if p.attack == a)
            rows[f"{a}: {ATTACKS[a]} (worst probe)"].append(f"{worst:.3f}")
        legit = [n for n, p in team.items() if p.kind == "legitimate"]
        rows["legitimate variants (lowest task score)"].append(
            f"{min(min(_flat(scores_of[f'legitimate:{n}'])) for n in legit):.3f} ({len(legit)})")
        ranked = [" > ".join(f"{mean(_flat(scores_of[f'partial:{n}'])):.2f}" for n, p in team.items()
                             if p.kind == "partial" and p.infeasible == infeasible) for infeasible in (False, True)]
        rows["partial solutions, best first"].append("; infeasible: ".join(r for r in ranked if r))
    head = "| policy | " + " | ".join(s.name for s in scenarios) + " |"
    lines = [head, "|---" * (len(scenarios) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in rows.items()]
    return "\n".join(lines)


def main(names: list[str]) -> None:
    chosen = [_all()[n] for n in names] or list(_all().values())
    for scenario in chosen:
        kinds = {p.name: p for p in probes(scenario.name)}
        print(f"{scenario.name}  (mean, lowest and highest reward over {len(scenario.tasks('eval'))} eval tasks; "
              f"mean per tier)")
        for name, rewards in table([scenario])[scenario.name].items():
            kind, _, probe = name.rpartition(":")
            what = kind or "shipped"
            if kind == "adversarial":
                what = f"{kind}, {kinds[probe].attack}, bound {kinds[probe].bound:g}"
            elif kind and kinds[probe].infeasible:
                what = f"{kind}, infeasible"
            flat = _flat(rewards)
            tiers = "  ".join(f"{t} {mean(v):.3f}" for t, v in rewards.items())
            print(f"  {probe:40s} {mean(flat):.3f}  [{min(flat):.3f}, {max(flat):.3f}]  {tiers}  ({what})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--golden"] and len(sys.argv) == 3:
        with open(sys.argv[2], "w") as file:
            json.dump(outcomes(list(_all().values())), file, indent=1, sort_keys=True)
            file.write("\n")
    elif sys.argv[1:] == ["--markdown"]:
        print(markdown(list(_all().values())))
    else:
        main(sys.argv[1:])
