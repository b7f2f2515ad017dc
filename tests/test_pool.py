"""The difficulty pool (`grpo --sampling pool`): task states from groups, draws that prefer signal but revisit
flat tasks, TRL's sampler layout, seeding from a probe's JSON, its options, the rollouts' hook, and its bench."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from trl.trainer.utils import RepeatSampler

from scenarios import SCENARIOS
from train import pool as pool_module
from train.config import ConfigError, ProbeConfig, parse
from train.data import prompts, train_tasks
from train.pool import FLAT, INFORMATIVE, SATURATED, SIGNAL, UNKNOWN, Pool, PoolSampler, make_pool, record, state_of

SCENARIO = "jira_labels"


def pool_of(states: dict[str, list[float] | None]) -> Pool:
    """A pool whose tasks have these groups (None: unknown)."""
    pool = Pool(list(states))
    for key, rewards in states.items():
        if rewards is not None:
            pool.record(key, rewards)
    return pool


@pytest.mark.parametrize("rewards, state", [
    ([1.0, 1.0, 1.0, 1.0], SATURATED),
    ([0.0, 0.0, 0.0, 0.0], FLAT),
    ([0.18, 0.18, 0.18], FLAT),  # the same partial credit every time: no advantage either
    ([0.0, 1.0, 1.0, 1.0], INFORMATIVE),
    ([0.18, 0.09], INFORMATIVE),
    ([1.0], SATURATED),
    ([], UNKNOWN),
])
def test_a_groups_rewards_set_its_tasks_state(rewards, state):
    assert state_of(rewards) == state


@pytest.mark.parametrize("rewards, state", [
    ([0.0, 0.09, 0.0, 0.09], FLAT),  # a spread, but nothing passed: no advantage under --skip-unsolved
    ([0.91, 0.27, 0.5], FLAT),
    ([1.0, 0.27, 0.09, 0.0], INFORMATIVE),  # solved sometimes
    ([1.0, 1.0], SATURATED),
])
def test_with_a_threshold_a_group_that_never_passed_is_flat(rewards, state):
    assert state_of(rewards, threshold=1.0) == state


def test_a_skip_unsolved_pool_judges_each_task_by_its_scenarios_threshold():
    rows = prompts([SCENARIOS[SCENARIO]], 3, 0)
    keys = [r["task_id"] for r in rows]
    pool = make_pool(grpo("--sampling", "pool", "--skip-unsolved", "--tasks", "3"), rows)
    assert pool.thresholds == dict.fromkeys(keys, SCENARIOS[SCENARIO].threshold)
    record(pool, [keys[0]] * 2 + [keys[1]] * 2, [0.0, 0.09, 0.0, 1.0])
    assert [pool.state(k) for k in keys] == [FLAT, INFORMATIVE, UNKNOWN]
    assert make_pool(grpo("--sampling", "pool", "--tasks", "3"), rows).thresholds == {}  # spread alone counts


def test_record_groups_one_steps_rollouts_by_task_and_sums_the_check_groups_shares():
    pool = Pool(["a", "b", "c"])
    shares = [{"arguments": 0.2, "process": 0.3, "outcome": 0.5}, {"arguments": 0.2, "process": 0.0, "outcome": 0.0}]
    record(pool, ["a", "a", "b", "b"], [*shares, shares[0], shares[0]])
    assert pool.rewards == {"a": (1.0, 0.2), "b": (1.0, 1.0)}
    assert [pool.state(k) for k in "abc"] == [INFORMATIVE, SATURATED, UNKNOWN]
    record(pool, [{"task_id": "b"}, {"task_id": "b"}], [0.0, 0.0])  # rows name their task too; the latest counts
    assert pool.state("b") == FLAT and pool.counts() == {UNKNOWN: 1, INFORMATIVE: 1, SATURATED: 0, FLAT: 1}
    record(None, ["a"], [0.0])  # no pool: nothing to do
    with pytest.raises(ValueError):
        record(pool, ["a", "a"], [1.0])
    with pytest.raises(KeyError):
        record(pool, ["z"], [1.0])


def test_draws_prefer_informative_and_unknown_tasks_but_revisit_flat_ones():
    states: dict[str, list[float] | None] = {f"i{n}": [0.0, 1.0] for n in range(4)}
    states |= {f"u{n}": None for n in range(4)}
    states |= {f"s{n}": [1.0, 1.0] for n in range(16)} | {f"f{n}": [0.0, 0.0] for n in range(16)}
    pool = pool_of(states)
    rng = random.Random(0)
    draws = [pool.draw(4, rng) for _ in range(500)]
    assert all(len(set(d)) == 4 for d in draws)  # a step's groups are distinct tasks
    seen = Counter(pool.keys[i] for d in draws for i in d)
    flat = sum(n for k, n in seen.items() if pool.state(k) not in SIGNAL)
    assert 0.1 < flat / 2000 < 0.2  # FLAT_SHARE of the draws
    assert set(seen) == set(pool.keys)  # every saturated and flat task comes back now and then
    assert min(seen[k] for k in states if k[0] in "iu") > 10 * max(seen[k] for k in states if k[0] in "sf")


def test_a_kind_with_too_few_tasks_is_made_up_from_the_other():
    pool = pool_of({"i": [0.0, 1.0], "u": None, "s": [1.0, 1.0], "f": [0.0, 0.0], "g": [0.5, 0.5]})
    chosen = pool.draw(4, random.Random(0), flat_share=0.0)
    assert len(set(chosen)) == 4 and {0, 1} <= set(chosen)
    assert sorted(pool.draw(5, random.Random(0), flat_share=1.0)) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="cannot draw 6"):
        pool.draw(6, random.Random(0))


def test_a_step_of_several_groups_spreads_them_over_tiers_and_scenarios_with_signal_first():
    rows = [{"task_id": f"{s}/{t}{n}", "environment": s, "tier": t}
            for s in ("a", "b") for t in ("easy", "hard") for n in range(8)]
    pool = Pool.from_rows(rows)  # every task unknown
    rng = random.Random(0)
    for _ in range(200):
        drawn = pool.draw(4, rng)
        assert len(set(drawn)) == 4 and len({pool.stratum(i) for i in drawn}) == 4  # one group of each stratum
    six = pool.draw(6, rng)  # more groups than strata: the strata come round again
    assert sorted(Counter(pool.stratum(i) for i in six).values()) == [1, 1, 2, 2]
    for key in pool.keys[8:]:  # now only a's easy tasks have signal: signal comes before the spread
        pool.record(key, [0.0, 0.0])
    assert {pool.stratum(i) for i in pool.draw(4, rng, flat_share=0.0)} == {("a", "easy")}
    assert len({pool.stratum(i) for i in pool.draw(3, rng, flat_share=1.0)}) == 3


def _layout(indices: list[int], mini: int, batch: int, repeat: int) -> int:
    """The number of chunks, after checking TRL's layout: each of `batch` distinct indices `mini` times in a row,
    the whole chunk `repeat` times over."""
    size = mini * batch
    assert len(indices) % (size * repeat) == 0
    chunks = [indices[i:i + size * repeat] for i in range(0, len(indices), size * repeat)]
    for chunk in chunks:
        first = chunk[:size]
        groups = [first[i:i + mini] for i in range(0, size, mini)]
        assert all(len(set(g)) == 1 for g in groups) and len({g[0] for g in groups}) == batch
        assert chunk == first * repeat
    return len(chunks)


@pytest.mark.parametrize("n, mini, batch, repeat", [(7, 2, 3, 4), (12, 3, 4, 2), (5, 1, 5, 1), (9, 4, 2, 1)])
def test_the_sampler_lays_indices_out_as_trls_repeat_sampler(n, mini, batch, repeat):
    theirs = RepeatSampler(range(n), mini_repeat_count=mini, batch_size=batch, repeat_count=repeat, seed=0)
    ours = PoolSampler(range(n), mini_repeat_count=mini, batch_size=batch, repeat_count=repeat, seed=0,
                       pool=Pool([str(i) for i in range(n)]))
    drawn = list(ours)
    assert len(ours) == len(theirs) == len(drawn) == len(list(theirs))
    assert _layout(drawn, mini, batch, repeat) == _layout(list(theirs), mini, batch, repeat) == n // batch
    with pytest.raises(ValueError, match="the dataset 4 rows"):
        PoolSampler(range(4), 2, pool=Pool(["a", "b"]))
    with pytest.raises(ValueError, match="3 groups per step"):
        PoolSampler(range(2), 2, batch_size=3, pool=Pool(["a", "b"]))


def test_each_chunk_is_drawn_when_asked_for_so_records_made_since_steer_it(monkeypatch):
    monkeypatch.setattr(pool_module, "FLAT_SHARE", 0.0)
    pool = Pool([f"t{i}" for i in range(8)])
    sampler = PoolSampler(range(8), mini_repeat_count=2, batch_size=2, repeat_count=2, seed=1, pool=pool)
    stream = iter(sampler)
    first = [next(stream) for _ in range(8)]  # one chunk: 2 tasks x 2 rollouts, twice
    record(pool, [pool.keys[i] for i in first[:4]], [1.0] * 4)  # both saturated
    rest = list(stream)
    assert len(rest) == 3 * 8 and not set(first) & set(rest)
    assert sampler.drawn[0] == sorted(set(first), key=first.index)


def test_draws_are_deterministic_under_a_seed():
    def run(seed: int) -> list[int]:
        pool = pool_of({f"t{i}": ([0.0, 1.0] if i % 3 else [1.0, 1.0]) for i in range(12)})
        sampler = PoolSampler(range(12), mini_repeat_count=2, batch_size=3, seed=seed, pool=pool)
        out = []
        for _ in range(3):  # three epochs, recording each step's groups as a trainer would
            for index in sampler:
                out.append(index)
                if len(out) % 6 == 0:
                    keys = [pool.keys[i] for i in out[-6:]]
                    record(pool, keys, [float(len(out) % 4 == 0), 1.0] * 3)
        return out

    assert run(3) == run(3)
    assert run(3) != run(4)


def _probe_json(path: Path, rewards: list[list[float]], seed: int = 0, model: str = "other-model",
                scenario: str = SCENARIO) -> list[str]:
    """A probe's JSON as `python -m train probe --save` writes it, with these groups' rewards for the first
    train tasks of the scenario; their task ids come back."""
    from train.probe import Group, save, summarize

    cfg = ProbeConfig(model, (scenario,), tasks=len(rewards), samples=len(rewards[0]), seed=seed, save=path)
    tasks = train_tasks(SCENARIOS[scenario], len(rewards), seed)
    groups = [Group(scenario, t.tier, t.id, tuple(r), 0.5) for t, r in zip(tasks, rewards, strict=True)]
    save(cfg, summarize(groups), groups)
    return [t.id for t in tasks]


def grpo(*args: str) -> object:
    return parse(["grpo", "--output", "x", "--scenarios", SCENARIO, *args])


def test_a_probe_of_another_model_seeds_the_pool_and_unprobed_tasks_start_unknown(tmp_path):
    probe = tmp_path / "probe.json"
    ids = _probe_json(probe, [[1.0] * 4, [0.0, 0.0, 1.0, 0.0], [0.0] * 4])
    cfg = grpo("--pool", str(probe), "--tasks", "6")
    assert (cfg.sampling, cfg.pool) == ("pool", probe)  # --pool implies the pool
    rows = prompts([SCENARIOS[SCENARIO]], 6, 0)
    pool = make_pool(cfg, rows)
    assert [pool.state(k) for k in ids] == [SATURATED, INFORMATIVE, FLAT]
    assert [pool.state(r["task_id"]) for r in rows[3:]] == [UNKNOWN] * 3
    assert pool.keys == [r["task_id"] for r in rows]
    assert make_pool(grpo(), rows) is None  # uniform by default: TRL's own sampler
    assert make_pool(grpo("--sampling", "pool"), rows).counts()[UNKNOWN] == 6
    saved = tmp_path / "run" / "pool.json"  # a run's pool, saved, seeds another run the same way
    pool.save(saved)
    again = make_pool(grpo("--pool", str(saved)), rows)
    assert again.states == pool.states and again.rewards == pool.rewards
    assert json.loads(json.dumps(cfg.to_dict()))["pool"] == str(probe)  # train-config.json can hold it


def test_a_probe_of_several_scenarios_seeds_those_the_run_trains(tmp_path):
    probe = tmp_path / "probe.json"
    ids = _probe_json(probe, [[0.0, 1.0]] * 2)
    data = json.loads(probe.read_text())
    other = train_tasks(SCENARIOS["jira_issue_create"], 1, 0)[0]
    data["groups"].append({"scenario": other.id.split("/")[0], "tier": other.tier, "task_id": other.id,
                           "rewards": [1.0, 1.0], "threshold": 0.5})
    probe.write_text(json.dumps(data))
    pool = make_pool(grpo("--pool", str(probe), "--tasks", "2"), prompts([SCENARIOS[SCENARIO]], 2, 0))
    assert [pool.state(k) for k in ids] == [INFORMATIVE, INFORMATIVE] and len(pool) == 2


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "missing.json", "no such file"),
    (lambda d: _write(d / "bad.json", "{not json"), "not JSON"),
    (lambda d: _write(d / "cells.json", json.dumps({"cells": []})), "not a probe's JSON"),
    (lambda d: _write(d / "empty.json", json.dumps({"groups": [{"task_id": "a", "rewards": []}]})),
     "not a probe's JSON"),
    (lambda d: _write(d / "text.json", json.dumps({"groups": [{"task_id": "a", "rewards": ["1"]}]})),
     "not a probe's JSON"),
])
def test_a_pool_file_that_is_not_a_probes_json_fails_in_one_line(tmp_path, make, message):
    with pytest.raises(ConfigError, match=message) as error:
        grpo("--pool", str(make(tmp_path)))
    assert "\n" not in str(error.value) and str(error.value).startswith("--pool=")


def test_pool_options_that_cannot_work_fail_in_one_line(tmp_path, monkeypatch):
    probe = tmp_path / "probe.json"
    _probe_json(probe, [[0.0, 1.0]], seed=1)
    with pytest.raises(ConfigError, match="--seed=1's train tasks; this run trains on --seed=0's"):
        grpo("--pool", str(probe))
    assert grpo("--pool", str(probe), "--seed", "1").pool == probe
    with pytest.raises(ConfigError, match="a probe of jira_labels; this run trains confluence_page_create"):
        parse(["grpo", "--output", "x", "--scenarios", "confluence_page_create", "--pool", str(probe), "--seed", "1"])
    with pytest.raises(ConfigError, match="--sampling uniform does not draw from"):
        grpo("--pool", str(probe), "--seed", "1", "--sampling", "uniform")
    infeasible = prompts([SCENARIOS[SCENARIO]], 2, 1, ("infeasible",))  # the probe's task is of another tier
    with pytest.raises(ConfigError, match="none of its tasks is one this run trains on"):
        make_pool(grpo("--pool", str(probe), "--seed", "1", "--tiers", "infeasible"), infeasible)
    with pytest.raises(SystemExit):  # GRPO only
        parse(["sft", "--output", "x", "--pool", str(probe)])
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="in one training process"):
        grpo("--sampling", "pool")
    assert grpo().sampling == "uniform"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tiny_model import build

    return build(tmp_path_factory.mktemp("tiny"))


def test_the_training_rollouts_record_each_groups_rewards_in_the_pool(tiny, tmp_path):
    from collections import defaultdict
    from types import SimpleNamespace

    from transformers import AutoModelForCausalLM

    from policies.registry import resolve
    from train.config import TrainConfig
    from train.rollouts import Rollouts
    from train.run import load

    spec = resolve(str(tiny))
    _, tokenizer = load(str(tiny), spec)
    cfg = TrainConfig("grpo", str(tiny), (SCENARIO,), tmp_path / "run", max_completion_length=4096, tasks=3,
                      max_tokens=8, max_turns=2, sampling="pool", skip_unsolved=True)
    rows = prompts([SCENARIOS[SCENARIO]], 3, 0)
    pool = make_pool(cfg, rows)
    rollouts = Rollouts(cfg, spec, tokenizer, [SCENARIOS[SCENARIO]], rows, pool=pool)
    trainer = SimpleNamespace(use_vllm=False, model=AutoModelForCausalLM.from_pretrained(tiny),
                              accelerator=SimpleNamespace(unwrap_model=lambda m: m),
                              state=SimpleNamespace(global_step=0), _metrics={"train": defaultdict(list)})
    cfg.output.mkdir(parents=True)
    out = rollouts([rows[0]["prompt"]] * 2 + [rows[2]["prompt"]] * 2, trainer)
    scores = [json.loads(line)["reward"] for line in (cfg.output / "rollouts.jsonl").read_text().splitlines()]
    assert pool.rewards == {rows[0]["task_id"]: tuple(scores[:2]), rows[2]["task_id"]: tuple(scores[2:])}
    assert pool.state(rows[1]["task_id"]) == UNKNOWN and pool.counts()[UNKNOWN] == 1
    # --skip-unsolved: the random model passes nothing, so each group's rollouts reach TRL with equal rewards
    assert max(scores) < SCENARIOS[SCENARIO].threshold
    given = [sum(r.values()) for r in out["rlvr_rewards"]]
    assert given == pytest.approx([sum(scores[:2]) / 2] * 2 + [sum(scores[2:]) / 2] * 2)
    assert [pool.state(rows[i]["task_id"]) for i in (0, 2)] == [FLAT, FLAT]


def test_grpo_with_pool_sampling_draws_its_prompts_from_the_pool(tiny, tmp_path, monkeypatch):
    """The trainer's sampler is the pool's (`GRPOTrainer._get_train_sampler`), and each step's groups reach it."""
    from train.run import grpo_trainer

    monkeypatch.setattr(pool_module, "FLAT_SHARE", 0.0)  # only the informative tasks, while there are two
    probe = tmp_path / "probe.json"
    ids = _probe_json(probe, [[1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]])
    cfg = parse(["grpo", "--model", str(tiny), "--scenarios", SCENARIO, "--output", str(tmp_path / "run"),
                 "--steps", "2", "--group-size", "2", "--batch-size", "4", "--tasks", "4", "--max-turns", "2",
                 "--max-tokens", "8", "--max-completion-length", "2048", "--pool", str(probe)])
    trainer, _, _ = grpo_trainer(cfg)
    pool = trainer.rollout_func.pool
    assert isinstance(trainer._get_train_sampler(), PoolSampler) and [pool.state(k) for k in ids] == [
        SATURATED, INFORMATIVE, SATURATED, INFORMATIVE]
    trainer.train()
    logged = [json.loads(line) for line in (cfg.output / "rollouts.jsonl").read_text().splitlines()]
    assert len(logged) == 8 and {r["task_id"] for r in logged if r["step"] == 0} == {ids[1], ids[3]}
    for key in {r["task_id"] for r in logged}:  # each task drawn holds the group of the last step it was in
        last = max(r["step"] for r in logged if r["task_id"] == key)
        assert pool.rewards[key] == tuple(r["reward"] for r in logged if r["task_id"] == key and r["step"] == last)
    for key in set(ids) - {r["task_id"] for r in logged}:  # never drawn: the probe's group stands
        assert pool.rewards[key] == (1.0, 1.0)


def test_the_bench_counts_more_informative_groups_from_the_pool_the_same_in_every_run():
    from bench.pool import measure

    def counts(figures):
        return {arm: (figures[arm]["groups"], figures[arm]["informative"], figures[arm]["counts"])
                for arm in ("uniform", "pool")}

    first = measure(steps=8, tasks=6, groups=3, group_size=4, scenarios=[SCENARIO, "jira_issue_triage"])
    for arm in ("uniform", "pool"):
        a = first[arm]
        assert a["groups"] == 24 and a["rollouts"] == 96 and 0 <= a["informative"] <= 24 and a["seconds"] > 0
        assert sum(a["counts"].values()) == a["tasks"] == 12
    assert first["pool"]["informative"] > first["uniform"]["informative"]
    assert first["ratio"] == pytest.approx(first["pool"]["per_minute"] / first["uniform"]["per_minute"])
    again = measure(steps=8, tasks=6, groups=3, group_size=4, scenarios=[SCENARIO, "jira_issue_triage"])
    assert counts(again) == counts(first)
