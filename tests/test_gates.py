"""Gates against a baseline and absolute floors: real pytest sessions on the toy scenario, with scripted
policies of known quality (oracle: every task; sloppy2: wrong on every 2nd task; sloppy10: every 10th)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from test_plugin import TOY

from pytest_rlvr.compare import IMPROVED, NO_REGRESSION, NOT_SIGNIFICANT, REGRESSION, TOO_FEW, verdict
from pytest_rlvr.stats import Interval, bootstrap_interval

pytest_plugins = ["pytester"]

CASES = """
import pytest
from toy import ToyScenario

SCENARIO = ToyScenario(count={count})

@pytest.mark.rlvr(SCENARIO, gate=False)
def test_toy(rlvr_case):
    pass
"""


@pytest.fixture
def toy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # In-process sessions share sys.modules with this one, where the `pytest` script has already imported the
    # installed scenarios: the inner session's warning that it cannot rewrite them is not the plugin's.
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider "
                       "-W ignore::pytest.PytestAssertRewriteWarning")
    pytester.makepyfile(toy=TOY, test_cases=CASES.format(count=10))
    return pytester


def save(toy: pytest.Pytester, model: str, path: str, *args: str) -> str:
    result = toy.runpytest(f"--rlvr-model={model}", f"--rlvr-save={path}", *args)
    assert result.ret == 0, result.stdout.str()
    return path


def junit_gate(path) -> ET.Element:
    cases = [c for c in ET.parse(path).getroot().iter("testcase") if c.get("classname") == "rlvr-gate"]
    assert len(cases) == 1
    return cases[0]


# -- statistics and verdicts --------------------------------------------------------------------------
def test_bootstrap_interval_is_seeded_and_contains_the_mean():
    values = [1.0, 0.0, 1.0, 1.0, 0.5, 1.0, 0.0, 1.0]
    first = bootstrap_interval(values, seed="toy")
    assert first == bootstrap_interval(values, seed="toy") == bootstrap_interval(values[::-1], seed="toy")
    assert first.low < first.mean < first.high and first.mean == pytest.approx(0.6875)
    assert bootstrap_interval([0.7] * 5) == Interval(pytest.approx(0.7), pytest.approx(0.7), pytest.approx(0.7))
    assert bootstrap_interval([0.3]) == Interval(0.3, None, None)


@pytest.mark.parametrize(("low", "high", "shared", "expected"), [
    (-0.30, -0.05, 10, REGRESSION),
    (-0.30, 0.00, 10, NOT_SIGNIFICANT),
    (-0.01, 0.01, 10, NO_REGRESSION),
    (0.01, 0.20, 10, IMPROVED),
    (-0.90, -0.50, 4, TOO_FEW),
])
def test_verdicts(low, high, shared, expected):
    assert verdict(Interval((low + high) / 2, low, high), shared, max_drop=0.02) == expected


# -- gates in sessions --------------------------------------------------------------------------------
def test_a_checkpoint_against_itself_with_another_seed_passes(toy):
    save(toy, "oracle", "base.json")
    result = toy.runpytest("--rlvr-model=oracle", "--rlvr-seed=1", "--rlvr-baseline=base.json", "-v")
    result.assert_outcomes(passed=11)
    result.stdout.fnmatch_lines(["rlvr-gate::baseline[[]toy[]] PASSED*", "*= rlvr gates =*",
                                 "*toy *10 *1.000 *1.000 *+0.000 [[]+0.000, +0.000[]] *0.02 *no regression"])
    assert "warning:" not in result.stdout.str()


def test_a_real_drop_fails_the_gate_in_the_exit_code_and_junit(toy):
    save(toy, "oracle", "base.json")
    result = toy.runpytest("--rlvr-model=sloppy2", "--rlvr-baseline=base.json", "--junitxml=out.xml")
    result.assert_outcomes(passed=10, failed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*toy: regression: mean reward 0.* vs baseline 1.000 on 10 shared cases; "
                                 "paired difference -0.*, 95% CI [[]-0.*, -0.*[]] entirely below -max_drop = "
                                 "-0.020*", "FAILED rlvr-gate::baseline[[]toy[]]*"])
    gate = junit_gate(toy.path / "out.xml")
    assert gate.get("name") == "baseline[toy]"
    failure = gate.find("failure")
    assert failure is not None and "toy: regression: " in failure.get("message", "")
    properties = {p.get("name"): p.get("value") for p in gate.iter("property")}
    assert properties["verdict"] == "regression" and properties["shared_cases"] == "10"
    assert float(properties["ci95_high"]) < -0.02


def test_a_drop_within_the_noise_is_not_significant(toy):
    save(toy, "oracle", "base.json")
    result = toy.runpytest("--rlvr-model=sloppy10", "--rlvr-baseline=base.json", "--junitxml=out.xml")
    result.assert_outcomes(passed=11)
    result.stdout.fnmatch_lines(["*toy *10 *1.000 *0.* *-0.0* [[]-0.*, +0.000[]] *0.02 *not significant"])
    assert junit_gate(toy.path / "out.xml").find("failure") is None


def test_too_few_shared_cases_is_a_skip_that_says_so(toy):
    save(toy, "oracle", "base.json", "--rlvr-tasks=3")
    result = toy.runpytest("--rlvr-model=sloppy2", "--rlvr-baseline=base.json", "-rs")
    result.assert_outcomes(passed=10, skipped=1)
    result.stdout.fnmatch_lines([f"SKIPPED*toy: {TOO_FEW}: 3 shared case(s), at least 5 needed*"])


def test_mismatched_runs_are_compared_on_what_they_share_with_warnings(toy):
    save(toy, "oracle", "base.json", "--rlvr-tasks=8", "--rlvr-temperature=0.5")
    result = toy.runpytest("--rlvr-model=oracle", "--rlvr-baseline=base.json")
    result.assert_outcomes(passed=11, warnings=2)
    result.stdout.fnmatch_lines([
        "*toy *8 *1.000 *1.000 *+0.000*no regression",
        "warning: the serving setups differ (baseline vs current): temperature 0.5 vs 0.0",
        "warning: toy: the task sets differ: 0 case(s) only in the baseline, 2 only in the current run; "
        "compared on the 8 shared",
    ])
    other = json.loads((toy.path / "base.json").read_text())
    other["run"]["checks_versions"]["toy"] = ["0123456789ab"]
    other["run"]["settings"]["split"] = "train"
    (toy.path / "other.json").write_text(json.dumps(other))
    # Another split and checks version fail the gate unless allowed (tests/test_gates_vacuous.py).
    result = toy.runpytest("--rlvr-model=oracle", "--rlvr-baseline=other.json", "--rlvr-tasks=8",
                           "--rlvr-temperature=0.5", "--rlvr-allow-incomparable")
    result.assert_outcomes(passed=9, warnings=2)
    result.stdout.fnmatch_lines(["warning: the runs evaluate different splits: train (baseline) vs eval (current)",
                                 "warning: toy: the checks versions differ: 0123456789ab (baseline) vs *"])


def test_min_reward_floors_are_test_items(toy):
    result = toy.runpytest("--rlvr-model=sloppy2", "--rlvr-min-reward=toy=0.9", "--rlvr-min-reward", "other=0.1",
                           "--junitxml=out.xml")
    result.assert_outcomes(passed=10, failed=2)
    result.stdout.fnmatch_lines([
        "*toy: mean reward 0.* [[]0.*, 0.*[]] over 10 cases is below the floor 0.9 (--rlvr-min-reward toy=0.9)",
        "*other: no case of this scenario was scored in this run (--rlvr-min-reward other=0.1)",
    ])
    names = {c.get("name") for c in ET.parse(toy.path / "out.xml").getroot().iter("testcase")
             if c.get("classname") == "rlvr-gate"}
    assert names == {"min-reward[toy]", "min-reward[other]"}
    toy.runpytest("--rlvr-model=sloppy2", "--rlvr-min-reward=toy=0.5").assert_outcomes(passed=11)


def test_a_floor_on_one_tier_judges_that_tier_only(toy):
    # sloppy2 is wrong on the odd seeds, the toy's easy tier; its hard tier is all right.
    result = toy.runpytest("--rlvr-model=sloppy2", "--rlvr-min-reward=toy:hard=0.9", "--rlvr-min-reward=toy:easy=0.9",
                           "--rlvr-min-reward=toy:infeasible=0.5", "--rlvr-min-reward=toy=0.5", "--junitxml=out.xml")
    result.assert_outcomes(passed=12, failed=2)
    result.stdout.fnmatch_lines_random([
        "*toy:easy: mean reward 0.* over 5 cases is below the floor 0.9 (--rlvr-min-reward toy:easy=0.9)",
        "*toy:infeasible: no case of tier 'infeasible' of this scenario was scored in this run*",
        "toy: mean reward per tier (passed/cases): easy 0.* (0/5), hard 1.000 (5/5)",
    ])
    gates = {c.get("name"): c for c in ET.parse(toy.path / "out.xml").getroot().iter("testcase")
             if c.get("classname") == "rlvr-gate"}
    assert set(gates) == {"min-reward[toy:hard]", "min-reward[toy:easy]", "min-reward[toy:infeasible]",
                          "min-reward[toy]"}
    easy = {p.get("name"): p.get("value") for p in gates["min-reward[toy:easy]"].iter("property")}
    assert easy["tier"] == "easy" and easy["cases"] == "5" and float(easy["mean"]) < 0.9
    assert gates["min-reward[toy:easy]"].find("failure") is not None
    assert gates["min-reward[toy:hard]"].find("failure") is None


@pytest.mark.parametrize(("args", "error"), [
    (["--rlvr-max-drop=-1"], "ERROR: --rlvr-max-drop=-1: must be a number >= 0, not '-1'"),
    (["--rlvr-min-reward=toy"], "ERROR: --rlvr-min-reward=toy: must be SCENARIO=VALUE or SCENARIO:TIER=VALUE, "
                                "not 'toy'"),
    (["--rlvr-min-reward=toy:=1"], "ERROR: --rlvr-min-reward=toy:=1: must be SCENARIO=VALUE or SCENARIO:TIER=VALUE, "
                                   "not 'toy:=1'"),
    (["--rlvr-min-reward=toy=2"], "ERROR: --rlvr-min-reward=toy=2: VALUE must be a number in [0, 1], not '2'"),
    (["--rlvr-min-reward=toy=1", "--rlvr-min-reward=toy=0.5"],
     "ERROR: --rlvr-min-reward: a scenario is given more than one floor: toy, toy"),
    (["--rlvr-baseline=missing.json"], "ERROR: --rlvr-baseline=missing.json: cannot read missing.json: *"),
    (["--rlvr-baseline=toy.py"], "ERROR: --rlvr-baseline=toy.py: toy.py is not JSON: *"),
    (["--rlvr-baseline=data.json"], "ERROR: --rlvr-baseline=data.json: data.json is not a pytest-rlvr results "
                                    "file (written by --rlvr-save)"),
    (["--rlvr-min-reward=toy=1", "-n", "2"], "ERROR: --rlvr-min-reward: gates need a single process; run "
                                             "without -n (pytest-xdist)"),
])
def test_gate_options_are_validated_at_start_up(toy, args, error):
    (toy.path / "data.json").write_text("[]")
    result = toy.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([error])


def test_the_compare_command_prints_the_table_without_running_anything(toy):
    save(toy, "oracle", "a.json")
    save(toy, "sloppy2", "b.json")
    command = [sys.executable, "-m", "pytest_rlvr", "compare", "a.json", "b.json"]
    shown = subprocess.run(command, cwd=toy.path, capture_output=True, text=True, timeout=60, check=False)
    assert shown.returncode == 1, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("baseline a.json (model oracle, seed 0") and "current b.json (model sloppy2" in lines[0]
    assert any(line.split()[:2] == ["toy", "10"] and line.endswith("regression") for line in lines)
    assert lines[-1] == "regressions: toy"
    same = subprocess.run([*command[:-1], "a.json", "--max-drop", "0.5"], cwd=toy.path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert same.returncode == 0 and "no regression" in same.stdout
    bad = subprocess.run([*command[:-1], "missing.json"], cwd=toy.path, capture_output=True, text=True,
                         timeout=60, check=False)
    assert bad.returncode == 2 and "cannot read missing.json" in bad.stderr


def test_compare_by_tier_pairs_each_tier_on_its_own_cases(toy):
    save(toy, "oracle", "a.json")
    save(toy, "sloppy2", "b.json")
    cases = {c["task_id"]: c for c in json.loads((toy.path / "b.json").read_text())["cases"]}
    base = {c["task_id"]: c["mean"] for c in json.loads((toy.path / "a.json").read_text())["cases"]}
    tiers: dict[str, list[float]] = {}
    for task_id, case in cases.items():
        tiers.setdefault(case["tier"], []).append(case["mean"] - base[task_id])
    shown = subprocess.run([sys.executable, "-m", "pytest_rlvr", "compare", "--by-tier", "a.json", "b.json"],
                           cwd=toy.path, capture_output=True, text=True, timeout=60, check=False)
    assert shown.returncode == 1, shown.stderr
    rows = {line.split()[0]: line.split() for line in shown.stdout.splitlines() if line.strip().startswith("toy/")}
    assert len(tiers) == 2 and set(rows) == {f"toy/{tier}" for tier in tiers}
    for tier, differences in tiers.items():
        row = rows[f"toy/{tier}"]
        assert int(row[1]) == len(differences)
        assert float(row[4]) == pytest.approx(sum(differences) / len(differences), abs=5e-4)
