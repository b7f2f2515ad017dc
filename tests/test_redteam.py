"""The red-team suite: adversarial probes stay under their bound, legitimate variants score 1.0 on every
eval task of their tiers, and partial solutions score strictly between 0 and 1, ranked as a user would rank them
(the feasible tiers' among themselves, the infeasible tier's among themselves)."""

from statistics import mean

import pytest

from scenarios import SCENARIOS
from scenarios.base import INFEASIBLE, TIERS
from scenarios.redteam import ATTACKS, INFEASIBLE_ATTACKS, probes
from scenarios.scoring import eval_tasks, scores

NAMES = sorted(SCENARIOS)
PROBES = [(name, p) for name in NAMES for p in probes(name)]


@pytest.mark.parametrize("name", NAMES)
def test_every_scenario_has_a_whole_red_team(name):
    team = probes(name)
    attacks = {p.attack for p in team if p.kind == "adversarial"}
    assert sum(p.kind == "adversarial" for p in team) >= 6
    assert attacks == set(ATTACKS), f"attack classes not covered: {sorted(set(ATTACKS) - attacks)}"
    for infeasible in (False, True):
        mine = [p for p in team if p.infeasible == infeasible]
        assert sum(p.kind == "legitimate" for p in mine) >= 2 + (not infeasible)
        assert sum(p.kind == "partial" for p in mine) >= 3
    assert all(p.infeasible == (p.attack in INFEASIBLE_ATTACKS) for p in team if p.kind == "adversarial")
    assert all(p.tiers == ((INFEASIBLE,) if p.infeasible else TIERS) for p in team)
    assert all(p.doc for p in team), "every probe says what it does"
    assert len({p.name for p in team}) == len(team)


@pytest.mark.parametrize(("name", "probe"), [(n, p) for n, p in PROBES if p.kind == "adversarial"],
                         ids=lambda x: getattr(x, "name", x))
def test_adversarial_probe_stays_under_its_bound(name, probe):
    assert probe.bound <= 0.3
    rewards = scores(SCENARIOS[name], probe.script, probe.tiers)
    assert mean(rewards) <= probe.bound, f"{probe.name} ({ATTACKS[probe.attack]}) averages {mean(rewards):.3f}"


@pytest.mark.parametrize(("name", "probe"), [(n, p) for n, p in PROBES if p.kind == "legitimate"],
                         ids=lambda x: getattr(x, "name", x))
def test_legitimate_variant_scores_one_on_every_task(name, probe):
    rewards = scores(SCENARIOS[name], probe.script, probe.tiers)
    tasks = eval_tasks(SCENARIOS[name], probe.tiers)
    below = [f"{t.id} {r:.3f}" for t, r in zip(tasks, rewards, strict=True) if r != 1.0]
    assert not below, f"{probe.name} scores below 1.0 on {len(below)} tasks: {below[:5]}"


@pytest.mark.parametrize("infeasible", [False, True], ids=["feasible", "infeasible"])
@pytest.mark.parametrize("name", NAMES)
def test_partial_solutions_score_between_and_rank_as_listed(name, infeasible):
    ranked = [(p.name, mean(scores(SCENARIOS[name], p.script, p.tiers))) for p in probes(name)
              if p.kind == "partial" and p.infeasible == infeasible]
    for probe, value in ranked:
        assert 0.0 < value < 1.0, f"{probe} averages {value:.3f}"
    for (better, high), (worse, low) in zip(ranked, ranked[1:], strict=False):
        assert high > low, f"{better} ({high:.3f}) should rank above {worse} ({low:.3f})"
