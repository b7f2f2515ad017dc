"""The scenarios' checks, proven by scripted policies whose quality is known, on every eval task."""

from statistics import mean

import pytest

from pytest_rlvr import Trace, score
from scenarios import SCENARIOS
from scenarios.base import EVAL_SEED_BASE
from scenarios.scoring import play

NAMES = sorted(SCENARIOS)
BOUNDS = {"naive": 0.5, "spam": 0.3, "random": 0.3}


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


def test_the_same_trace_always_scores_the_same(scenario):
    for task in scenario.tasks("eval")[:10]:
        trace, reward = play(scenario, task, "spam")
        again = Trace.from_json(trace.to_json())
        assert score(scenario.checks, again, task) == reward == score(scenario.checks, trace, task)


def test_splits_are_disjoint_and_sized(scenario):
    evals = scenario.tasks("eval")
    assert len(evals) >= 50 and {t.tier for t in evals} == {"easy", "medium", "hard"}
    train = scenario.tasks("train", count=20, start=500_000)
    assert {t.seed for t in train}.isdisjoint(t.seed for t in evals)
    assert all(t.seed < EVAL_SEED_BASE for t in train) and all(t.split == "train" for t in train)
    with pytest.raises(ValueError):
        scenario.tasks("train", count=2, start=EVAL_SEED_BASE - 1)
    assert len({t.id for t in evals}) == len(evals) and len({t.prompt for t in evals}) > len(evals) // 2


def test_tasks_are_deterministic(scenario):
    first = scenario.tasks("eval", count=5)
    scenario._prepared.cache_clear()
    assert scenario.tasks("eval", count=5) == first
    assert scenario.environment(first[0]).snapshot() == scenario.environment(first[0]).snapshot()
