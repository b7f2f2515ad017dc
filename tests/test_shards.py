"""`--rlvr-shard=I/N` and `python -m pytest_rlvr merge`: a run split across machines, joined into one."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from test_plugin import TOY
from test_rescore import TASKS, save_run, traces_of

from pytest_rlvr.__main__ import main
from pytest_rlvr.shard import deal, share

pytest_plugins = ["pytester"]

KEYS = [(scenario, f"{scenario}/eval/{i}") for scenario, count in (("a", 7), ("b", 5), ("c", 1)) for i in range(count)]

TWO_SCENARIOS = """
import pytest
from pytest_rlvr import assert_checks
from toy import ToyScenario

TOY = ToyScenario(count=4)
OTHER = ToyScenario(count=1, name="toy2")

@pytest.mark.rlvr(TOY)
def test_toy(rlvr_case):
    assert_checks(rlvr_case)

@pytest.mark.rlvr(OTHER)
def test_other(rlvr_case):
    assert_checks(rlvr_case)

def test_plain():
    pass
"""


# -- the deal --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 20])
def test_shards_partition_the_cases_evenly_in_every_scenario(count):
    shares = [share(KEYS, index, count) for index in range(1, count + 1)]
    assert sorted(key for s in shares for key in s) == sorted(KEYS)  # every case once
    sizes = [len(s) for s in shares]
    assert max(sizes) - min(sizes) <= 1
    for scenario in ("a", "b", "c"):
        per = [sum(1 for key in s if key[0] == scenario) for s in shares]
        assert max(per) - min(per) <= 1


def test_the_deal_depends_on_the_selection_only_not_its_order():
    shuffled = KEYS[:]
    random.Random(7).shuffle(shuffled)
    assert deal(shuffled, 3) == deal(KEYS, 3)
    assert deal([*KEYS, *KEYS], 3) == deal(KEYS, 3)  # two tests of one case stay together
    assert deal(KEYS, 3) != deal(KEYS, 4)


def test_the_deal_is_the_same_in_another_process():
    code = ("import json, sys; from pytest_rlvr.shard import deal; "
            f"print(json.dumps(sorted((list(k), v) for k, v in deal({KEYS!r}, 3).items())))")
    seen = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    assert seen[0] == seen[1]
    assert json.loads(seen[0]) == sorted([list(k), v] for k, v in deal(KEYS, 3).items())


@pytest.mark.parametrize("bad", [(0, 2), (3, 2)])
def test_a_shard_outside_its_count_is_an_error(bad):
    with pytest.raises(ValueError, match="the index must lie in"):
        share(KEYS, *bad)


# -- in a pytest run -------------------------------------------------------------------------------------------
@pytest.fixture
def toy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider")
    pytester.makepyfile(toy=TOY, test_cases=TWO_SCENARIOS)
    return pytester


def timeless(traces: Path) -> list[dict]:
    """The traces of a file without their timings, in case and sample order."""
    found = []
    for line in traces.read_text().splitlines():
        trace = json.loads(line)
        trace.pop("wall_s")
        for turn in trace["turns"]:
            turn.pop("latency_s")
        found.append(trace)
    return sorted(found, key=lambda t: (t["scenario"], t["task_id"], t["sample"]))


def saved_cases(path: Path) -> set[tuple[str, str]]:
    return {(c["scenario"], c["task_id"]) for c in json.loads(path.read_text())["cases"]}


def test_shards_run_their_share_of_the_cases_and_keep_other_tests(toy):
    everything = toy.runpytest_subprocess("-p", "no:xdist", "--rlvr-model=oracle", "--rlvr-save=all.json")
    everything.assert_outcomes(passed=6)
    held = []
    for index in (1, 2):
        result = toy.runpytest_subprocess("-p", "no:xdist", "--rlvr-model=oracle", f"--rlvr-shard={index}/2",
                                          f"--rlvr-save=s{index}.json")
        cases = saved_cases(toy.path / f"s{index}.json")
        result.assert_outcomes(passed=len(cases) + 1, deselected=5 - len(cases))  # test_plain is in every shard
        assert json.loads((toy.path / f"s{index}.json").read_text())["run"]["settings"]["shard"] == f"{index}/2"
        held.append(cases)
    assert held[0] | held[1] == saved_cases(toy.path / "all.json") and not held[0] & held[1]
    assert sorted(map(len, held)) == [2, 3]


def test_xdist_workers_select_the_same_share(toy):
    alone = toy.runpytest_subprocess("-p", "no:xdist", "--rlvr-model=oracle", "--rlvr-shard=2/2",
                                     "--rlvr-save=alone.json")
    alone.assert_outcomes(passed=3, deselected=3)
    result = toy.runpytest_subprocess("-n", "2", "--rlvr-model=oracle", "--rlvr-shard=2/2", "--rlvr-save=x.json")
    result.assert_outcomes(passed=3)
    assert saved_cases(toy.path / "x.json") == saved_cases(toy.path / "alone.json")


def test_gates_see_only_the_shards_scenarios(toy):
    toy.runpytest_subprocess("-p", "no:xdist", "--rlvr-model=oracle", "--rlvr-save=base.json").assert_outcomes(
        passed=6)
    # Shard 2 of 2 holds two toy cases and none of toy2: no gate for toy2, which would fail on nothing.
    result = toy.runpytest_subprocess("-p", "no:xdist", "--rlvr-model=oracle", "--rlvr-shard=2/2",
                                      "--rlvr-baseline=base.json", "-rs")
    result.assert_outcomes(passed=3, skipped=1, deselected=3)
    result.stdout.fnmatch_lines(["SKIPPED*toy: too few shared cases to tell*"])
    result.stdout.no_fnmatch_line("*baseline[[]toy2[]]*")


# -- merge -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def naive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("naive")
    return {"all": save_run(where / "all.json", "naive"),
            **{f"{i}": save_run(where / f"shard{i}.json", "naive", f"--rlvr-shard={i}/2") for i in (1, 2)}}


def test_merged_shards_are_the_unsharded_run(naive, tmp_path, capsys):
    out = tmp_path / "merged.json"
    assert main(["merge", str(naive["2"]), str(naive["1"]), "-o", str(out)]) == 0
    assert f"merged 2 shards ({5 * TASKS} cases) into {out}" in capsys.readouterr().out
    merged, whole = json.loads(out.read_text()), json.loads(naive["all"].read_text())
    assert merged["scenarios"] == whole["scenarios"]
    assert merged["cases"] == whole["cases"]
    assert merged["complete"] is True and merged["run"]["settings"]["shard"] is None
    assert [(m["path"], m["shard"]) for m in merged["run"]["merged_from"]] == [(str(naive["1"]), "1/2"),
                                                                              (str(naive["2"]), "2/2")]
    assert {k: v for k, v in merged["run"]["settings"].items() if k != "save"} == \
        {k: v for k, v in whole["run"]["settings"].items() if k != "save"}
    # The traces are joined: every trace of the whole run, once.
    assert timeless(traces_of(out)) == timeless(traces_of(naive["all"]))
    assert merged["run"]["traces"] == str(traces_of(out).resolve())
    # The gate's comparison sees the same run; rescoring reads the joined traces.
    assert main(["compare", str(naive["all"]), str(out), "--min-shared", "1"]) == 0
    assert "no regression" in capsys.readouterr().out
    assert main(["rescore", str(traces_of(out))]) == 0
    assert "no case's reward changed" in capsys.readouterr().out


def test_an_incomplete_shard_makes_the_merge_incomplete_and_lost_traces_are_named(naive, tmp_path, capsys):
    document = json.loads(naive["2"].read_text())
    document["run"]["traces"] = None
    stopped = tmp_path / "shard2.json"
    stopped.write_text(json.dumps({**document, "complete": False}))
    out = tmp_path / "merged.json"
    assert main(["merge", str(naive["1"]), str(stopped), "-o", str(out)]) == 0
    shown = capsys.readouterr().out
    assert json.loads(out.read_text())["complete"] is False
    assert f"warning: shard 2/2 ({stopped}) stopped early: the merged results are incomplete" in shown
    assert f"warning: no traces found for {stopped} (looked for {tmp_path / 'shard2.traces.jsonl'})" in shown
    assert traces_of(out).read_text() == traces_of(naive["1"]).read_text()


def _settings(**values):
    return lambda document, first: document["run"]["settings"].update(values)


REFUSALS = {
    "settings": (_settings(temperature=0.7), "is not a shard of the run of {first}: the settings differ: "
                 "temperature 0.7 vs 0.0"),
    "model": (lambda d, first: d["run"].update(model="other"), "the model differs: 'other' vs 'naive'"),
    "backend": (lambda d, first: d["run"]["policy"].update(backend="hf"), "the policy backend differs: 'hf' vs"),
    "checks": (lambda d, first: d["run"]["checks_versions"].update(jira_labels=["000000000000"]),
               "the checks versions differ: jira_labels 000000000000 vs "),
    "count": (_settings(shard="2/3"), "it is shard 2/3, of 3 shards, not 2"),
    "index": (_settings(shard="1/2"), "{first} and {second} are both shard 1/2"),
    "case": (lambda d, first: d["cases"].append(first["cases"][0]), "{first} and {second} both hold case "),
    "not a shard": (_settings(shard=None), "{second} is not a shard: its run had no --rlvr-shard"),
    "bad shard": (_settings(shard="two of 2"), "{second}: its shard 'two of 2' is not I/N with 1 <= I <= N"),
}


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
def test_shards_of_different_runs_are_refused_in_one_line(naive, tmp_path, refusal):
    change, expected = REFUSALS[refusal]
    first, second = naive["1"], tmp_path / naive["2"].name
    document = json.loads(naive["2"].read_text())
    change(document, json.loads(first.read_text()))
    second.write_text(json.dumps(document))
    result = subprocess.run([sys.executable, "-m", "pytest_rlvr", "merge", str(first), str(second), "-o",
                             str(tmp_path / "merged.json")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert expected.format(first=first, second=second) in result.stderr, result.stderr
    assert not (tmp_path / "merged.json").exists()


def test_a_missing_shard_is_named(naive, tmp_path, capsys):
    assert main(["merge", str(naive["2"]), "-o", str(tmp_path / "merged.json")]) == 2
    assert capsys.readouterr().err == (f"python -m pytest_rlvr merge: error: shard 1/2 missing: a merge needs every "
                                       f"shard of the run (given: 2/2 ({naive['2']}))\n")


def test_the_inputs_and_the_output_are_distinct_files(naive, tmp_path, capsys):
    assert main(["merge", str(naive["1"]), str(naive["2"]), "-o", str(naive["1"])]) == 2
    assert "give a path that is not one of the shards' files" in capsys.readouterr().err
    assert main(["merge", str(naive["1"]), str(naive["1"]), str(naive["2"]), "-o", str(tmp_path / "m.json")]) == 2
    assert capsys.readouterr().err == f"python -m pytest_rlvr merge: error: {naive['1']} is given twice\n"


def test_the_deal_goes_on_from_one_scenario_to_the_next():
    assert Counter(deal(KEYS, 4).values()) == Counter({1: 4, 2: 3, 3: 3, 4: 3})
