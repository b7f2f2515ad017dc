"""The scenarios' checks, proven by scripted policies whose quality is known, on every eval task."""

from statistics import mean

import pytest

from pytest_rlvr import CheckBug, Trace, score
from scenarios import SCENARIOS
from scenarios.base import (
    ALL_TIERS,
    EVAL_SEED_BASE,
    INFEASIBLE,
    INFEASIBLE_EVAL_BASE,
    INFEASIBLE_TRAIN_BASE,
    INFEASIBLE_TRAIN_END,
    TIERS,
    TRAIN_POSITIONS,
)
from scenarios.infeasible import CHECKS as INFEASIBLE_CHECKS
from scenarios.scoring import by_tier, play

NAMES = sorted(SCENARIOS)
BOUNDS = {"naive": 0.5, "spam": 0.3, "random": 0.3}
FEASIBLE_BOUNDS = {"refuse": 0.3}  # always declining must not pay where the work can be done
INFEASIBLE_BOUNDS = {"naive": 0.1, "spam": 0.1, "random": 0.1, "refuse": 0.3}  # acting where it cannot


@pytest.fixture(scope="module", params=NAMES)
def scenario(request):
    return SCENARIOS[request.param]


def test_oracle_scores_one_and_noop_zero_on_every_eval_task(scenario):
    for task in scenario.tasks("eval"):
        trace, reward = play(scenario, task, "oracle")
        assert reward.score == 1.0, f"{task.id}: {task.prompt}\n{reward.explain()}"
        _, silent = play(scenario, task, "noop")
        assert silent.score == 0.0, f"{task.id}\n{silent.explain()}"
        assert all(o.message for o in silent.outcomes), "every failed check says why"


@pytest.mark.parametrize("policy", sorted(BOUNDS))
def test_weak_policies_stay_under_their_bound(scenario, policy):
    rewards = [play(scenario, t, policy, seed=i)[1].score for i, t in enumerate(scenario.tasks("eval"))]
    assert mean(rewards) <= BOUNDS[policy], f"{policy} averages {mean(rewards):.3f} on {scenario.name}"


@pytest.mark.parametrize("policy", sorted({*FEASIBLE_BOUNDS, *INFEASIBLE_BOUNDS}))
def test_acting_and_declining_each_pay_only_on_their_tier(scenario, policy):
    tiers = by_tier(scenario, policy)
    feasible = [r for t in TIERS for r in tiers[t]]
    if policy in FEASIBLE_BOUNDS:
        assert mean(feasible) <= FEASIBLE_BOUNDS[policy], f"{policy} averages {mean(feasible):.3f} when it can act"
    if policy in INFEASIBLE_BOUNDS:
        assert mean(tiers[INFEASIBLE]) <= INFEASIBLE_BOUNDS[policy], \
            f"{policy} averages {mean(tiers[INFEASIBLE]):.3f} on requests that cannot be done"


def test_the_same_trace_always_scores_the_same(scenario):
    tasks = scenario.tasks("eval")[:10]
    assert INFEASIBLE in {t.tier for t in tasks}
    for task in tasks:
        trace, reward = play(scenario, task, "spam")
        again = Trace.from_json(trace.to_json())
        checks = scenario.checks_for(task)
        assert score(checks, again, task) == reward == score(checks, trace, task)


def test_each_tier_is_scored_by_its_own_checks(scenario):
    feasible, infeasible = scenario.tasks("eval")[:7][0], scenario.tasks("eval")[:7][6]
    assert infeasible.tier == INFEASIBLE and feasible.tier in TIERS
    assert tuple(scenario.checks_for(infeasible)) == INFEASIBLE_CHECKS
    assert tuple(scenario.checks_for(feasible)) == tuple(scenario.checks)
    assert not {c.name for c in INFEASIBLE_CHECKS} & {c.name for c in scenario.checks}
    with pytest.raises(CheckBug, match="InfeasibleTask"):  # a feasible check given an infeasible task
        score(scenario.checks, play(scenario, infeasible, "oracle")[0], infeasible)


def test_splits_are_disjoint_and_sized(scenario):
    evals = scenario.tasks("eval")
    assert len(evals) == 70 and {t.tier for t in evals} == set(ALL_TIERS)
    assert sum(t.tier == INFEASIBLE for t in evals) == 10
    assert {t.seed for t in evals if t.tier != INFEASIBLE} == set(range(EVAL_SEED_BASE, EVAL_SEED_BASE + 60))
    assert {t.seed for t in evals if t.tier == INFEASIBLE} == {INFEASIBLE_EVAL_BASE + i for i in range(10)}
    train = scenario.tasks("train", count=21, start=500_000)
    assert {t.seed for t in train}.isdisjoint(t.seed for t in evals)
    assert all(t.split == "train" for t in train) and sum(t.tier == INFEASIBLE for t in train) == 3
    assert all(t.seed < EVAL_SEED_BASE for t in train if t.tier != INFEASIBLE)
    assert all(INFEASIBLE_TRAIN_BASE <= t.seed < INFEASIBLE_TRAIN_END for t in train if t.tier == INFEASIBLE)
    last = scenario.tasks("train", count=1, start=TRAIN_POSITIONS - 1)[0]
    assert last.seed == EVAL_SEED_BASE - 1
    with pytest.raises(ValueError):
        scenario.tasks("train", count=2, start=TRAIN_POSITIONS - 1)
    assert len({t.id for t in evals}) == len(evals) and len({t.prompt for t in evals}) > len(evals) // 2


def test_every_seven_tasks_in_a_row_hold_an_infeasible_one_and_the_seed_tells_the_tier(scenario):
    evals = scenario.tasks("eval")
    for start in range(len(evals) - 6):
        assert INFEASIBLE in {t.tier for t in evals[start:start + 7]}, start
    assert [t.tier for t in scenario.tasks("eval", count=6)] == [TIERS[(EVAL_SEED_BASE + i) % 3] for i in range(6)]
    for task in [*evals[:14], *scenario.tasks("train", count=14, start=70)]:
        assert scenario.task(task.seed, task.split) == task


def test_tasks_are_deterministic(scenario):
    first = scenario.tasks("eval", count=7)
    scenario._prepared.cache_clear()
    assert scenario.tasks("eval", count=7) == first
    assert scenario.environment(first[6]).snapshot() == scenario.environment(first[6]).snapshot()
