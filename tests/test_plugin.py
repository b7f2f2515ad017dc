"""The plugin end to end: real pytest sessions run with pytester on the toy scenario."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import rlvr_toy

from pytest_rlvr import Trace
from pytest_rlvr.engine import sample_seed

pytest_plugins = ["pytester"]

TOY = Path(rlvr_toy.__file__).read_text()

CASES = """
import pytest
from pytest_rlvr import assert_checks
from toy import ToyScenario

SCENARIO = ToyScenario(count={count})

@pytest.mark.rlvr(SCENARIO)
def test_toy(rlvr_case):
    assert_checks(rlvr_case)
"""

POLICIES = """
import asyncio
from pytest_rlvr import AssistantTurn, InfrastructureError


class Down:
    name = "down"
    info = {"name": "down", "backend": "test"}
    calls = 0

    async def generate(self, requests):
        Down.calls += 1
        raise InfrastructureError("503 Service Unavailable")

    async def close(self):
        pass


class Flaky(Down):
    name = "flaky"
    info = {"name": "flaky", "backend": "test"}

    async def generate(self, requests):
        Down.calls += 1
        if Down.calls == 1:
            raise ConnectionRefusedError("connection refused")
        return [AssistantTurn("done") for _ in requests]


def pytest_rlvr_make_policy(config, model, settings):
    return {"down": Down, "flaky": Flaky}.get(model, lambda: None)()


def pytest_rlvr_model_names(config):
    return ["down", "flaky"]
"""


@pytest.fixture(autouse=True)
def lean_sessions(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # Inner sessions skip hypothesis's plugin: it imports (and rewrites) all of hypothesis at every
    # terminal summary, which is most of an inner session's time here. (After pytester, which clears it.)
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider")


@pytest.fixture
def toy(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(toy=TOY)
    return pytester


def cases(pytester: pytest.Pytester, count: int = 3, name: str = "test_cases", body: str | None = None) -> None:
    source = CASES.format(count=count)
    if body is not None:
        source = source.replace("    assert_checks(rlvr_case)\n", body)
    pytester.makepyfile(**{name: source})


# -- collection --------------------------------------------------------------------------------------------
def test_cases_are_parametrized_by_task_id(toy):
    cases(toy)
    result = toy.runpytest("--collect-only", "-q", "--rlvr-model=oracle")
    result.stdout.fnmatch_lines([f"test_cases.py::test_toy[[]toy-eval-000{i}[]]" for i in range(3)])
    result.stdout.no_fnmatch_line("*rlvr summary*")


def test_split_and_task_count_select_the_tasks(toy):
    cases(toy)
    result = toy.runpytest("--collect-only", "-q", "--rlvr-split=train", "--rlvr-tasks=2")
    result.stdout.fnmatch_lines(["*test_toy[[]toy-train-1000[]]", "*test_toy[[]toy-train-1001[]]", "2 tests*"])


def test_fixture_without_marker_is_a_collection_error(toy):
    toy.makepyfile(test_bad="def test_bad(rlvr_case):\n    pass\n")
    result = toy.runpytest("--rlvr-model=oracle")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the rlvr_case fixture needs @pytest.mark.rlvr(scenario)*"])


def test_marker_can_name_a_scenario_registered_by_hook(toy):
    toy.makeconftest("from toy import ToyScenario\n\ndef pytest_rlvr_scenarios(config):\n"
                     "    return [ToyScenario(count=2, name='labels')]\n")
    toy.makepyfile(test_named="import pytest\n\n@pytest.mark.rlvr('labels')\ndef test_it(rlvr_case):\n"
                              "    assert rlvr_case.scenario.name == 'labels'\n",
                   test_missing="import pytest\n\n@pytest.mark.rlvr('nope')\ndef test_missing(rlvr_case):\n"
                                "    pass\n")
    result = toy.runpytest("--rlvr-model=oracle", "-v", "--continue-on-collection-errors")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test_it[[]labels-eval-0000[]] PASSED*",
                                 "*no scenario named 'nope'; registered: *labels"])


# -- verdicts ----------------------------------------------------------------------------------------------
def test_oracle_passes_and_the_summary_shows_the_scenario(toy):
    cases(toy)
    result = toy.runpytest("--rlvr-model=oracle", "--rlvr-samples=2")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*= rlvr summary =*", "model oracle · 2 samples per case*",
                                 "*scenario*cases*samples*mean reward [[]95% CI[]]*passed*pass@1*pass^2",
                                 "*toy*3*6*1.000 [[]1.000, 1.000[]]*3/3*1.000*1.000"])
    result.stdout.no_fnmatch_line("*errors*")
    result.stdout.no_fnmatch_line("*rlvr rollouts*")  # no progress display when output is not a terminal


def test_noop_fails_naming_each_failing_check(toy):
    cases(toy)
    result = toy.runpytest("--rlvr-model=noop")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines([
        "E*toy[[]toy-eval-0000[]]: mean reward 0.000 < threshold 1 over 1 sample(s)*",
        "E*label_call_correct [[]arguments, weight 1[]] failed in 1/1: set_label was never called",
        "E*state_matches [[]outcome, weight 2[]] failed in 1/1: state diff differs from the expected diff:",
        "*toy: most frequent failing checks: label_call_correct (3/3)*",
    ])


def test_check_messages_carry_pytest_introspection(toy):
    toy.makepyfile(test_rewritten="""
import pytest
from pytest_rlvr import check
from toy import ToyScenario

@check("outcome")
def polite(trace, task):
    assert trace.final_text == "Thank you."

SCENARIO = ToyScenario(count=1)
SCENARIO.checks = (polite,)

@pytest.mark.rlvr(SCENARIO)
def test_it(rlvr_case):
    pass
""")
    result = toy.runpytest("--rlvr-model=noop")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["toy[[]toy-eval-0000[]]: mean reward 0.000 < threshold 1 over 1 sample(s)*",
                                 "*polite [[]outcome, weight 1[]] failed in 1/1: assert 'I will not make any "
                                 "changes.' == 'Thank you.'", "*- Thank you."])


def test_threshold_option_and_gate(toy):
    cases(toy, body="    assert rlvr_case.threshold in (0.0, 0.1) and len(rlvr_case.traces) == 1\n")
    assert toy.runpytest("--rlvr-model=noop", "--rlvr-threshold=0").ret == 0
    # The gate applies when the body does not call assert_checks; gate=False leaves the verdict to the body.
    result = toy.runpytest("--rlvr-model=noop", "--rlvr-threshold=0.1")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(["*mean reward 0.000 < threshold 0.1*"])
    toy.makepyfile(test_cases=CASES.format(count=3).replace("rlvr(SCENARIO)", "rlvr(SCENARIO, gate=False)")
                   .replace("    assert_checks(rlvr_case)\n", "    assert rlvr_case.mean < 0.1\n"))
    toy.runpytest("--rlvr-model=noop").assert_outcomes(passed=3)


def test_case_exposes_task_traces_and_rewards(toy):
    cases(toy, count=2, body="""    assert rlvr_case.task.id in ("toy-eval-0000", "toy-eval-0001")
    assert len(rlvr_case.traces) == len(rlvr_case.rewards) == 3
    assert [t.sample for t in rlvr_case.traces] == [0, 1, 2]
    assert len({t.seed for t in rlvr_case.traces}) == 3
    assert all(r.score == 1.0 for r in rlvr_case.rewards) and rlvr_case.passed
    assert rlvr_case.traces[0].policy["name"] == "oracle"
""")
    toy.runpytest("--rlvr-model=oracle", "--rlvr-samples=3").assert_outcomes(passed=2)


def test_a_check_bug_errors_the_test(toy):
    toy.makepyfile(test_bug="""
import pytest
from pytest_rlvr import check
from toy import ToyScenario

@check("process")
def broken(trace, task):
    return task.data["no such key"]

SCENARIO = ToyScenario(count=2)
SCENARIO.checks = (*SCENARIO.checks, broken)

@pytest.mark.rlvr(SCENARIO)
def test_it(rlvr_case):
    pass
""")
    result = toy.runpytest("--rlvr-model=oracle")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*CheckBug: check 'broken' raised KeyError: 'no such key'*"])


def test_infrastructure_failure_errors_the_case_after_retries(toy):
    toy.makeconftest(POLICIES)
    cases(toy, count=2)
    result = toy.runpytest("--rlvr-model=down", "--rlvr-retries=0")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*InfrastructureError: policy 'down' failed 1 times on toy-eval-000?#0: "
                                 "InfrastructureError: 503 Service Unavailable"])
    result.stdout.fnmatch_lines(["*scenario*cases*samples*errors", "*toy*0*0*-*0/0*-*2"])  # none scored


def test_transient_failure_is_retried(toy):
    toy.makeconftest(POLICIES)
    cases(toy, count=2, body="    assert rlvr_case.traces[0].final_text == 'done'\n")
    toy.runpytest("--rlvr-model=flaky", "--rlvr-retries=1", "--rlvr-threshold=0").assert_outcomes(passed=2)


def test_rollout_finished_hook_sees_every_scored_rollout(toy):
    cases(toy, count=2)
    reprec = toy.inline_run("--rlvr-model=oracle", "--rlvr-samples=2")
    reprec.assertoutcome(passed=2)
    calls = reprec.getcalls("pytest_rlvr_rollout_finished")
    assert sorted((c.task.id, c.trace.sample, c.reward.score) for c in calls) == [
        ("toy-eval-0000", 0, 1.0), ("toy-eval-0000", 1, 1.0), ("toy-eval-0001", 0, 1.0), ("toy-eval-0001", 1, 1.0)]


# -- options -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (["--rlvr-samples=0"], "--rlvr-samples=0: must be a positive integer, not '0'"),
    (["--rlvr-concurrency=many"], "--rlvr-concurrency=many: must be a positive integer, not 'many'"),
    (["--rlvr-temperature=-1"], "--rlvr-temperature=-1: must be a number >= 0, not '-1'"),
    (["--rlvr-threshold=1.5"], "--rlvr-threshold=1.5: must be a number in [0, 1], not '1.5'"),
    (["--rlvr-split=dev"], "--rlvr-split=dev: must be one of train, eval, not 'dev'"),
    (["--rlvr-seed=-3"], "--rlvr-seed=-3: must be an integer >= 0, not '-3'"),
    (["--rlvr-base-url=localhost:8000"], "--rlvr-base-url=localhost:8000: must be an http(s) URL, not "
                                         "'localhost:8000'"),
    (["--rlvr-max-turns=0"], "--rlvr-max-turns=0: must be a positive integer, not '0'"),
])
def test_invalid_options_fail_at_start_up_naming_the_option(pytester, args, message):
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == f"ERROR: {message}"


def test_ini_settings_are_validated_too(pytester):
    pytester.makeini("[pytest]\nrlvr_max_tokens = 0\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0] == "ERROR: ini rlvr_max_tokens=0: must be a positive integer, not '0'"


def test_unknown_model_is_a_usage_error_listing_known_names(toy):
    toy.makeconftest(POLICIES)
    cases(toy)
    result = toy.runpytest("--rlvr-model=gpt-17")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0].startswith("ERROR: --rlvr-model=gpt-17: unknown model; known: down, flaky, naive, ")
    assert "oracle, " in result.stderr.lines[0] and "spam" in result.stderr.lines[0]


def test_ini_settings_apply_and_the_command_line_wins(toy):
    toy.makeini("[pytest]\nrlvr_model = oracle\nrlvr_samples = 2\nrlvr_save = out/ini.json\n"
                "rlvr_base_urls =\n    http://a:1/v1\n    http://b:2/v1/\n")
    cases(toy, count=1)
    toy.runpytest("--rlvr-samples=3").assert_outcomes(passed=1)
    settings = json.loads((toy.path / "out" / "ini.json").read_text())["run"]["settings"]
    assert (settings["model"], settings["samples"]) == ("oracle", 3)
    assert settings["base_urls"] == ["http://a:1/v1", "http://b:2/v1"]


# -- records -----------------------------------------------------------------------------------------------
def test_junit_xml_carries_reward_and_check_properties(toy):
    cases(toy, count=2)
    toy.runpytest("--rlvr-model=naive", "--rlvr-samples=2", "--junitxml=junit.xml").assert_outcomes(failed=2)
    testcases = ET.parse(toy.path / "junit.xml").getroot().iter("testcase")
    properties = {tc.get("name"): {p.get("name"): p.get("value") for p in tc.iter("property")} for tc in testcases}
    assert set(properties) == {"test_toy[toy-eval-0000]", "test_toy[toy-eval-0001]"}
    tier = properties["test_toy[toy-eval-0000]"].pop("tier")
    assert tier and not tier.replace(".", "").isdigit()  # the task's tier, by name
    first = {name: float(value) for name, value in properties["test_toy[toy-eval-0000]"].items()}
    assert first["reward"] == pytest.approx(3 / 7, abs=1e-5)
    assert first["check:state_matches"] == 0.0 and first["check:no_invalid_call"] == 1.0
    assert first["check:reads_before_writes"] == 0.0


def test_save_writes_results_and_traces(toy):
    cases(toy)
    result = toy.runpytest("--rlvr-model=naive", "--rlvr-samples=2", "--rlvr-seed=5", "--rlvr-save=out/run.json")
    result.stdout.fnmatch_lines([f"results saved to {toy.path / 'out' / 'run.json'}; traces in "
                                 f"{toy.path / 'out' / 'run.traces.jsonl'}"])
    results = json.loads((toy.path / "out" / "run.json").read_text())
    assert results["format"] == "pytest-rlvr/results"
    run = results["run"]
    assert (run["model"], run["policy"]["name"], run["settings"]["seed"]) == ("naive", "naive", 5)
    assert "pytest" in run["versions"] and "python" in run["versions"]
    assert list(run["checks_versions"]) == ["toy"]
    toy_stats = results["scenarios"]["toy"]
    assert (toy_stats["cases"], toy_stats["k"], toy_stats["samples"], toy_stats["passed"]) == (3, 2, 6, 0)
    assert toy_stats["pass@1"] == toy_stats["pass@k"] == toy_stats["pass^k"] == 0.0
    assert toy_stats["ci95"][0] <= toy_stats["mean"] <= toy_stats["ci95"][1]
    case = results["cases"][0]
    assert (case["task_id"], case["scenario"], case["split"], case["seed"], case["tier"]) == (
        "toy-eval-0000", "toy", "eval", 0, "hard")
    assert case["sample_seeds"] == [sample_seed(5, "toy-eval-0000", i) for i in range(2)]
    assert len(case["rewards"]) == 2 and case["checks"]["state_matches"]["held"] == [False, False]
    assert "state_matches" in case["failures"][0]
    traces = [Trace.from_json(line) for line in (toy.path / "out" / "run.traces.jsonl").read_text().splitlines()]
    assert sorted((t.task_id, t.sample) for t in traces) == [(f"toy-eval-000{i}", s) for i in range(3)
                                                             for s in range(2)]


def test_deselected_cases_are_not_rolled_out(toy):
    cases(toy, count=5)
    toy.runpytest("--rlvr-model=oracle", "-k", "0001 or 0003", "--rlvr-save=run.json").assert_outcomes(passed=2)
    traces = (toy.path / "run.traces.jsonl").read_text().splitlines()
    assert sorted(Trace.from_json(line).task_id for line in traces) == ["toy-eval-0001", "toy-eval-0003"]
    assert [c["task_id"] for c in json.loads((toy.path / "run.json").read_text())["cases"]] == [
        "toy-eval-0001", "toy-eval-0003"]


def test_a_session_without_rlvr_cases_pays_nothing(toy):
    toy.makeconftest("def pytest_rlvr_make_policy(config, model, settings):\n"
                     "    raise AssertionError('no policy may be made')\n")
    toy.makepyfile(test_plain="""
import sys, threading

def test_plain():
    assert not [t for t in threading.enumerate() if t.name == "pytest-rlvr-engine"]
    ours = {"pytest_rlvr.engine", "pytest_rlvr.background", "pytest_rlvr.progress", "pytest_rlvr.summary"}
    assert not ours & set(sys.modules)
""")
    result = toy.runpytest_subprocess("-p", "no:xdist")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*rlvr summary*")


def test_two_scenarios_with_one_name_are_a_usage_error(toy):
    cases(toy, count=1, name="test_a")
    cases(toy, count=2, name="test_b")
    result = toy.runpytest("--rlvr-model=oracle")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.lines[0].startswith("ERROR: @pytest.mark.rlvr: two scenarios are named 'toy'")
