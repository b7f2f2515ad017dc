"""Score scripted policies on a scenario's eval tasks without pytest: the meta-tests and the README's table.

    python -m scenarios.scoring [scenario ...]
    python -m scenarios.scoring --markdown
    python -m scenarios.scoring --golden tests/golden/check-outcomes.json

The first prints, per scenario, the mean reward (and its lowest and highest) of the shipped scripted
policies (oracle, noop, naive, spam, random) and of every red-team probe (`scenarios.redteam`), on the eval
split. The second prints the README's table: a row per shipped policy and per attack class (its worst
probe), the lowest score of any legitimate variant, and the partial solutions best first. The third records
every check outcome of the shipped policies on every eval task: the golden file that tests/test_golden.py
holds the checks to, so that a change in what a check pays shows as a diff.
"""

from __future__ import annotations

import asyncio
import json
import sys
from statistics import mean

from pytest_rlvr import Reward, Sampling, Scenario, Script, Task, Trace, score
from pytest_rlvr.rollout import rollout
from pytest_rlvr.scripted import ScriptPolicy, make_scripted

from .redteam import ATTACKS, probes

POLICIES = ("oracle", "noop", "naive", "spam", "random")


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
    return trace, score(scenario.checks, trace, task)


def scores(scenario: Scenario, policy: str | Script) -> list[float]:
    """The policy's reward on every eval task (the i-th task sampled with seed i)."""
    return [play(scenario, t, policy, seed=i)[1].score for i, t in enumerate(scenario.tasks("eval"))]


def table(scenarios: list[Scenario]) -> dict[str, dict[str, list[float]]]:
    """Per scenario, every policy's rewards on the eval tasks: the shipped ones, then the red team's."""
    out: dict[str, dict[str, list[float]]] = {}
    for scenario in scenarios:
        row = {p: scores(scenario, p) for p in POLICIES}
        row.update({f"{p.kind}:{p.name}": scores(scenario, p.script) for p in probes(scenario.name)})
        out[scenario.name] = row
    return out


def outcomes(scenarios: list[Scenario]) -> dict[str, dict[str, dict[str, dict]]]:
    """Every shipped policy's score and failed checks on every eval task, per scenario."""
    out: dict[str, dict[str, dict[str, dict]]] = {}
    for scenario in scenarios:
        out[scenario.name] = {}
        for policy in POLICIES:
            rows = {}
            for i, task in enumerate(scenario.tasks("eval")):
                reward = play(scenario, task, policy, seed=i)[1]
                rows[task.id] = {"score": round(reward.score, 4), "failed": sorted(o.name for o in reward.failures)}
            out[scenario.name][policy] = rows
    return out


def _all() -> dict[str, Scenario]:
    from . import SCENARIOS

    return SCENARIOS


def markdown(scenarios: list[Scenario]) -> str:
    """The README's table: mean reward over the eval tasks, one column per scenario."""
    rows: dict[str, list[str]] = {p: [] for p in POLICIES}
    rows.update({f"{a}: {ATTACKS[a]} (worst probe)": [] for a in ATTACKS})
    rows["legitimate variants (lowest task score)"] = []
    rows["partial solutions, best first"] = []
    for scenario in scenarios:
        scores_of = table([scenario])[scenario.name]
        team = {p.name: p for p in probes(scenario.name)}
        for p in POLICIES:
            rows[p].append(f"{mean(scores_of[p]):.3f}")
        for a in ATTACKS:
            worst = max(mean(scores_of[f"adversarial:{n}"]) for n, p in team.items() if p.attack == a)
            rows[f"{a}: {ATTACKS[a]} (worst probe)"].append(f"{worst:.3f}")
        legit = [n for n, p in team.items() if p.kind == "legitimate"]
        rows["legitimate variants (lowest task score)"].append(
            f"{min(min(scores_of[f'legitimate:{n}']) for n in legit):.3f} ({len(legit)})")
        rows["partial solutions, best first"].append(" > ".join(
            f"{mean(scores_of[f'partial:{n}']):.2f}" for n, p in team.items() if p.kind == "partial"))
    head = "| policy | " + " | ".join(s.name for s in scenarios) + " |"
    lines = [head, "|---" * (len(scenarios) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(values) + " |" for name, values in rows.items()]
    return "\n".join(lines)


def main(names: list[str]) -> None:
    chosen = [_all()[n] for n in names] or list(_all().values())
    for scenario in chosen:
        kinds = {p.name: p for p in probes(scenario.name)}
        print(f"{scenario.name}  (mean, lowest and highest reward over {len(scenario.tasks('eval'))} eval tasks)")
        for name, rewards in table([scenario])[scenario.name].items():
            kind, _, probe = name.rpartition(":")
            what = kind or "shipped"
            if kind == "adversarial":
                what = f"{kind}, {kinds[probe].attack}, bound {kinds[probe].bound:g}"
            print(f"  {probe:40s} {mean(rewards):.3f}  [{min(rewards):.3f}, {max(rewards):.3f}]  {what}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--golden"] and len(sys.argv) == 3:
        with open(sys.argv[2], "w") as file:
            json.dump(outcomes(list(_all().values())), file, indent=1, sort_keys=True)
            file.write("\n")
    elif sys.argv[1:] == ["--markdown"]:
        print(markdown(list(_all().values())))
    else:
        main(sys.argv[1:])
