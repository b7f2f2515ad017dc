"""The learnability pre-flight (`python -m train probe`) and the spread figure of the pytest summary."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import rlvr_toy

from pytest_rlvr import score
from pytest_rlvr.aggregate import aggregate, has_spread
from pytest_rlvr.engine import Engine
from scenarios import SCENARIOS
from train.__main__ import main
from train.config import ConfigError, ProbeConfig, parse
from train.probe import ALL, Group, make_policy, probe, rollouts, settings, summarize, tasks

pytest_plugins = ["pytester"]

SCENARIO = "jira_labels"


def cfg(model: str, **kw) -> ProbeConfig:
    return parse(["probe", "--model", model, "--scenarios", SCENARIO, *[f"--{k.replace('_', '-')}={v}"
                                                                        for k, v in kw.items()]])


def run(c: ProbeConfig) -> list[Group]:
    scenarios = {SCENARIO: SCENARIOS[SCENARIO]}
    return rollouts(c, make_policy(c.model, scenarios, settings(c)), scenarios)


def test_random_spread_matches_a_hand_count_over_the_same_traces():
    c = cfg("random", tasks=7, samples=4)
    scenario = SCENARIOS[SCENARIO]
    engine = Engine(make_policy("random", {SCENARIO: scenario}, settings(c)), settings(c))

    async def all_cases():
        return await asyncio.gather(*(engine.run_case(scenario, t) for t in tasks(c, scenario)))

    hand: dict[str, list[bool]] = {}
    for task, traces in zip(tasks(c, scenario), asyncio.run(all_cases()), strict=True):
        rewards = [score(scenario.checks_for(task), trace, task).score for trace in traces]
        assert len(rewards) == 4
        hand.setdefault(task.tier, []).append(len(set(rewards)) > 1)
    cells = {x.tier: x for x in summarize(run(c))}
    for tier, spreads in hand.items():
        assert 0 <= cells[tier].spread <= 1
        assert cells[tier].spread == pytest.approx(sum(spreads) / len(spreads))
    everything = [s for spreads in hand.values() for s in spreads]
    assert cells[ALL].groups == 7
    assert cells[ALL].spread == pytest.approx(sum(everything) / 7)
    assert 0 < cells[ALL].spread < 1  # random calls earn a little sometimes: some groups differ, some do not


def test_oracle_is_saturated_and_flagged(capsys):
    cells = probe(cfg("oracle", tasks=4, samples=2))
    assert cells and all(x.all_pass == 1 and x.all_fail == 0 and x.spread == 0 and x.flat for x in cells)
    assert cells[0].signal == "none: saturated, every sample passes"
    captured = capsys.readouterr()
    out = captured.out
    assert "no signal for GRPO (every group flat): jira_labels/easy" in out
    assert "saturated" in out
    progress = [line for line in captured.err.splitlines() if line.startswith("probe: ")]
    assert [line.split(" groups")[0] for line in progress] == [f"probe: {i}/4" for i in range(1, 5)]
    assert all(line.endswith(" 1.00 1.00") for line in progress)  # each group's rewards as it finishes


def test_save_writes_the_figures_and_each_groups_rewards(tmp_path, capsys):
    out = tmp_path / "probe" / "random.json"
    assert main(["probe", "--model", "random", "--scenarios", SCENARIO, "--tasks", "3", "--save", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["config"]["samples"] == 4 and [c["tier"] for c in data["cells"]][-1] == ALL
    assert len(data["groups"]) == 3 and all(len(g["rewards"]) == 4 for g in data["groups"])
    assert main(["probe", "--model", "noop", "--scenarios", SCENARIO, "--tasks", "1", "--save", str(tmp_path)]) == 2
    assert "--save=" in capsys.readouterr().err


def test_noop_fails_everywhere_and_is_flagged():
    cells = summarize(run(cfg("noop", tasks=3, samples=3)))
    assert all(x.all_fail == 1 and x.all_pass == 0 and x.mean == 0 and x.flat for x in cells)


def test_summarize_orders_tiers_and_counts_shares():
    groups = [Group("s", "hard", "t1", (0.0, 1.0), 1.0), Group("s", "easy", "t2", (1.0, 1.0), 1.0),
              Group("s", "easy", "t3", (0.2, 0.2), 1.0)]
    easy, hard, everything = summarize(groups)
    assert (easy.tier, hard.tier, everything.tier) == ("easy", "hard", ALL)
    assert (easy.spread, easy.all_pass, easy.all_fail, easy.mean) == (0, 0.5, 0.5, pytest.approx(0.6))
    assert easy.signal == "none: every group flat" and hard.signal == "yes"
    assert everything.spread == pytest.approx(1 / 3)
    assert has_spread([0.5, 0.5 + 1e-12]) is False and has_spread([]) is False


@pytest.mark.parametrize(("argv", "message"), [
    (["--model", "nope"], "--model=nope: not a scripted policy"),
    (["--model", "./no/such/dir"], "no such checkpoint directory"),
    (["--model", "oracle", "--samples", "0"], "--samples=0: must be at least 1"),
    (["--model", "oracle", "--concurrency", "0"], "--concurrency=0: must be at least 1"),
    (["--model", "oracle", "--scenarios", "jira_nope"], "unknown scenario 'jira_nope'"),
])
def test_bad_options_fail_in_one_line(argv, message, capsys):
    assert main(["probe", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_probe_options_default_and_do_not_disturb_training_ones():
    c = parse(["probe"])
    assert (c.samples, c.tasks, c.temperature, c.tiers[0]) == (4, 8, 1.0, "easy")
    with pytest.raises(ConfigError):
        parse(["probe", "--tiers", "easy,nope"])
    assert parse(["grpo", "--output", "x"]).command == "grpo"


@pytest.mark.parametrize("concurrency", [2, 32])
def test_concurrency_bounds_the_rollouts_in_flight(monkeypatch, concurrency):
    import train.probe

    peak = 0

    class Counting(Engine):
        async def _rollout(self, *args, **kwargs):
            nonlocal peak
            peak = max(peak, self.rollouts_started - self.rollouts_finished)
            return await super()._rollout(*args, **kwargs)

    monkeypatch.setattr(train.probe, "Engine", Counting)
    groups = run(cfg("random", tasks=4, samples=4, concurrency=concurrency))
    assert len(groups) == 4 and peak == min(concurrency, 16)


def test_aggregate_spread_is_none_for_one_sample():
    record = {"scenario": "s", "task_id": "t", "samples": 1, "rewards": [1.0], "mean": 1.0, "passed": True,
              "successes": 1, "checks": {}}
    assert aggregate([record])["s"].spread is None
    two = [{**record, "task_id": "a", "samples": 2, "rewards": [0.0, 1.0], "mean": 0.5},
           {**record, "task_id": "b", "samples": 2, "rewards": [1.0, 1.0]}]
    assert aggregate(two)["s"].to_dict()["spread"] == 0.5


CASES = """
import pytest
from pytest_rlvr import assert_checks
from toy import ToyScenario

@pytest.mark.rlvr(ToyScenario(count=4))
def test_toy(rlvr_case):
    assert_checks(rlvr_case)
"""


@pytest.fixture(autouse=True)
def lean_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider")


def test_summary_shows_the_spread_only_with_several_samples(pytester: pytest.Pytester):
    pytester.makepyfile(toy=Path(rlvr_toy.__file__).read_text(), test_cases=CASES)
    result = pytester.runpytest("--rlvr-model=oracle", "--rlvr-samples=2")
    result.stdout.fnmatch_lines(["toy: share of cases whose sample rewards differ (groups with a spread): 0.000 "
                                 "(none: *GRPO has no signal)"])
    result = pytester.runpytest("--rlvr-model=random", "--rlvr-samples=3")
    result.stdout.fnmatch_lines(["toy: share of cases whose sample rewards differ (groups with a spread): 0.*"])
    result = pytester.runpytest("--rlvr-model=oracle", "--rlvr-samples=1")
    result.stdout.fnmatch_lines(["*rlvr summary*"])
    result.stdout.no_fnmatch_line("*groups with a spread*")
