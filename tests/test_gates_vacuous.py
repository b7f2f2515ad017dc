"""Gates and `python -m pytest_rlvr compare` never pass on nothing: no shared case, another split or another
checks version fails with the reason in one line, unless `--rlvr-allow-incomparable` (`--allow-incomparable`)
makes it a warning; a malformed results file is one line and exit status 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from fnmatch import fnmatch

import pytest
from test_gates import CASES, save
from test_plugin import TOY

pytest_plugins = ["pytester"]

HINT = "--rlvr-allow-incomparable makes this a warning"


@pytest.fixture
def toy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider "
                       "-W ignore::pytest.PytestAssertRewriteWarning")
    pytester.makepyfile(toy=TOY, test_cases=CASES.format(count=10))
    return pytester


def compare(toy: pytest.Pytester, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_rlvr", "compare", *args], cwd=toy.path,
                          capture_output=True, text=True, timeout=60, check=False)


def edited(toy: pytest.Pytester, source: str, target: str, edit) -> str:
    document = json.loads((toy.path / source).read_text())
    edit(document)
    (toy.path / target).write_text(json.dumps(document))
    return target


# -- gates ---------------------------------------------------------------------------------------------
def test_a_baseline_of_another_split_fails_the_gate_with_the_reason(toy):
    save(toy, "oracle", "train.json", "--rlvr-split=train", "--rlvr-tasks=10")
    result = toy.runpytest("--rlvr-model=oracle", "--rlvr-baseline=train.json", "-rs")
    result.assert_outcomes(passed=10, failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "toy: not comparable with the baseline: the runs evaluate different "
        "splits: train (baseline) vs eval (current); no shared case: the baseline's 10 and this run's 10 scored "
        f"case(s) differ in task id or seed (baseline *train.json: model oracle, *); {HINT}"])

    allowed = toy.runpytest("--rlvr-model=oracle", "--rlvr-baseline=train.json", "--rlvr-allow-incomparable", "-rs")
    allowed.assert_outcomes(passed=10, skipped=1, warnings=2)
    assert allowed.ret == pytest.ExitCode.OK
    allowed.stdout.fnmatch_lines(["*RlvrGateWarning: baseline *train.json: the runs evaluate different splits: "
                                  "train (baseline) vs eval (current)",
                                  "SKIPPED*toy: too few shared cases to tell: 0 shared case(s)*"])


def test_another_checks_version_fails_even_on_shared_cases(toy):
    save(toy, "oracle", "base.json")
    edited(toy, "base.json", "old.json", lambda d: d["run"]["checks_versions"].update(toy=["0123456789ab"]))
    result = toy.runpytest("--rlvr-model=oracle", "--rlvr-baseline=old.json", "--junitxml=out.xml")
    result.assert_outcomes(passed=10, failed=1)
    result.stdout.fnmatch_lines(["*toy: not comparable with the baseline: the checks versions differ: 0123456789ab "
                                 "(baseline) vs * (current); the rewards are not comparable (baseline *old.json*); "
                                 f"{HINT}", "*toy *10 *1.000 *1.000 *+0.000*not comparable"])
    allowed = toy.runpytest("--rlvr-model=oracle", "--rlvr-baseline=old.json", "--rlvr-allow-incomparable")
    allowed.assert_outcomes(passed=11, warnings=1)
    allowed.stdout.fnmatch_lines(["*RlvrGateWarning: baseline *old.json: toy: the checks versions differ*",
                                  "*toy *10 *1.000 *1.000 *+0.000*no regression"])


def test_a_baseline_without_the_scenario_fails_the_gate(toy):
    save(toy, "oracle", "base.json")
    edited(toy, "base.json", "other.json", lambda d: [c.update(scenario="other") for c in d["cases"]])
    result = toy.runpytest("--rlvr-model=oracle", "--rlvr-baseline=other.json")
    result.assert_outcomes(passed=10, failed=1)
    result.stdout.fnmatch_lines([f"*toy: not comparable with the baseline: the baseline scored no case of this "
                                 f"scenario (baseline *other.json*); {HINT}"])


def test_too_few_but_some_shared_cases_is_still_a_skip(toy):
    save(toy, "oracle", "base.json", "--rlvr-tasks=1")
    toy.runpytest("--rlvr-model=oracle", "--rlvr-baseline=base.json").assert_outcomes(passed=10, skipped=1)


# -- the compare command -------------------------------------------------------------------------------
def test_compare_fails_on_runs_that_share_nothing(toy):
    save(toy, "oracle", "eval.json")
    save(toy, "oracle", "train.json", "--rlvr-split=train", "--rlvr-tasks=10")
    shown = compare(toy, "eval.json", "train.json")
    assert shown.returncode == 3, shown.stdout + shown.stderr
    lines = shown.stdout.splitlines()
    assert "toy: not comparable with the baseline: the runs evaluate different splits: eval (baseline) vs train " \
           "(current); no shared case: the baseline's 10 and this run's 10 scored case(s) differ in task id or " \
           "seed" in lines
    assert lines[-1] == "not comparable: toy; --allow-incomparable makes this a warning"
    assert "no regression" not in shown.stdout

    allowed = compare(toy, "eval.json", "train.json", "--allow-incomparable")
    assert allowed.returncode == 0, allowed.stdout
    assert "warning: the runs evaluate different splits: eval (baseline) vs train (current)" in allowed.stdout
    assert "too few shared cases to tell" in allowed.stdout

    edited(toy, "eval.json", "empty.json", lambda d: d.update(cases=[]))
    nothing = compare(toy, "eval.json", "empty.json")
    assert nothing.returncode == 3
    assert nothing.stdout.splitlines()[-1] == "not comparable: empty.json holds no case; --allow-incomparable " \
                                              "makes this a warning"


def test_a_regression_still_exits_1(toy):
    save(toy, "oracle", "a.json")
    save(toy, "sloppy2", "b.json")
    assert compare(toy, "a.json", "b.json").returncode == 1


# -- malformed results files ---------------------------------------------------------------------------
def _drop_scenario(document):
    del document["cases"][0]["scenario"]


@pytest.mark.parametrize(("edit", "problem"), [
    (_drop_scenario, "is a malformed results file: case 1 (toy-eval-0000) has no 'scenario' string"),
    (lambda d: d["cases"][2].update(mean="high"),
     "is a malformed results file: case 3 (toy-eval-0002) has neither an 'error' nor a numeric 'mean'"),
    (lambda d: d["cases"][1].update(seed=[1]), "is a malformed results file: case 2 (toy-eval-0001): 'seed' is "
                                               "not an integer"),
    (lambda d: d["cases"].append(7), "is a malformed results file: case 11 is not an object"),
    (lambda d: d.update(cases={}), "is a malformed results file: 'cases' is not a list"),
    (lambda d: d["run"].update(settings=[]), "is a malformed results file: 'run.settings' is not an object"),
    (lambda d: d["run"].update(checks_versions={"toy": "abc"}),
     "is a malformed results file: 'run.checks_versions.toy' is not a list of strings"),
    (lambda d: d.pop("format"), "is not a pytest-rlvr results file (written by --rlvr-save)"),
])
def test_a_malformed_results_file_is_one_line_and_a_usage_error(toy, edit, problem):
    save(toy, "oracle", "base.json")
    edited(toy, "base.json", "bad.json", edit)
    for args in (["bad.json", "base.json"], ["base.json", "bad.json"]):
        shown = compare(toy, *args)
        assert shown.returncode == 2
        assert shown.stderr.splitlines() == [f"python -m pytest_rlvr compare: error: bad.json {problem}"]
        assert shown.stdout == ""
    result = toy.runpytest("--rlvr-model=oracle", "--rlvr-baseline=bad.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == f"ERROR: --rlvr-baseline=bad.json: bad.json {problem}"


@pytest.mark.parametrize(("content", "problem"), [
    ("", "bad.json is empty, not a pytest-rlvr results file (written by --rlvr-save)"),
    ('{"format": "pytest-rlvr/results", "cases": [', "bad.json is not JSON: Expecting value: *"),
    (b"\xff\xfe\x00", "bad.json is not JSON: *"),
])
def test_an_empty_truncated_or_binary_file_is_one_line(toy, content, problem):
    path = toy.path / "bad.json"
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    save(toy, "oracle", "base.json")
    shown = compare(toy, "base.json", "bad.json")
    assert shown.returncode == 2 and len(shown.stderr.splitlines()) == 1
    assert fnmatch(shown.stderr.strip(), f"python -m pytest_rlvr compare: error: {problem}"), shown.stderr
    result = toy.runpytest("--rlvr-baseline=bad.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert fnmatch(result.stderr.lines[0], f"ERROR: --rlvr-baseline=bad.json: {problem}")
