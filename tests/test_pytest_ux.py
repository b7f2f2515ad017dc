"""pytest as users know it: --lf/--ff/--sw on rlvr cases, a bare `pytest`, Ctrl-C, the progress display, and a
failing case's explanation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_plugin import CASES, TOY
from test_plugin_sessions import SLOW, TERMINAL_SIGINT, run_in_terminal

from pytest_rlvr import Trace

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def toy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A sandbox with the toy scenario and this project's pytest configuration."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest")
    pytester.makepyfile(toy=TOY)
    pytester.makepyprojecttoml((ROOT / "pyproject.toml").read_text())
    return pytester


def rolled_out(pytester: pytest.Pytester, save: str) -> list[str]:
    """The task ids of every rollout a run with `--rlvr-save=save` made, sorted."""
    lines = (pytester.path / save).with_suffix(".traces.jsonl").read_text().splitlines()
    return sorted(Trace.from_json(line).task_id for line in lines)


# -- the cache provider: --lf, --ff, --sw --------------------------------------------------------------------
def test_last_failed_reruns_only_the_failed_cases_and_only_their_rollouts(toy):
    toy.makepyfile(test_cases=CASES.format(count=4))
    toy.runpytest("test_cases.py", "--rlvr-model=sloppy2", "--rlvr-save=first.json").assert_outcomes(passed=2,
                                                                                                     failed=2)
    assert rolled_out(toy, "first.json") == [f"toy-eval-000{i}" for i in range(4)]
    result = toy.runpytest("test_cases.py", "--lf", "-v", "--rlvr-model=sloppy2", "--rlvr-save=again.json")
    result.assert_outcomes(failed=2, deselected=2)
    result.stdout.fnmatch_lines(["run-last-failure: rerun previous 2 failures*"])
    assert rolled_out(toy, "again.json") == ["toy-eval-0001", "toy-eval-0003"]


def test_failed_first_and_stepwise_follow_the_last_run(toy):
    toy.makepyfile(test_cases=CASES.format(count=4))
    toy.runpytest("test_cases.py", "--rlvr-model=sloppy2").assert_outcomes(passed=2, failed=2)
    result = toy.runpytest("test_cases.py", "--ff", "-v", "--rlvr-model=sloppy2")
    result.stdout.fnmatch_lines(["*toy-eval-0001*FAILED*", "*toy-eval-0003*FAILED*", "*toy-eval-0000*PASSED*"])
    # --sw stops at the first failure, then resumes from it; the oracle passes everything after it.
    toy.runpytest("test_cases.py", "--sw", "--rlvr-model=sloppy2").assert_outcomes(passed=1, failed=1)
    result = toy.runpytest("test_cases.py", "--sw", "--rlvr-model=oracle", "--rlvr-save=rest.json")
    result.assert_outcomes(passed=3, deselected=1)
    assert rolled_out(toy, "rest.json") == ["toy-eval-0001", "toy-eval-0002", "toy-eval-0003"]


# -- a bare `pytest` ---------------------------------------------------------------------------------------
def test_bare_pytest_at_the_root_collects_the_projects_tests_and_not_the_scenarios():
    def collect(*args: str) -> list[str]:
        run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                              "-p", "no:xdist", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        return [line for line in run.stdout.splitlines() if "::" in line]

    bare = collect()
    assert bare and all(line.startswith("tests/") for line in bare)
    assert all(line.startswith("scenarios/") for line in collect("scenarios"))  # `pytest scenarios` evaluates


# -- Ctrl-C ------------------------------------------------------------------------------------------------
SLOW_MODEL = """
import pathlib
import time

from policies.hf import TransformersPolicy, stop_ids
from policies.registry import resolve


class Slow(TransformersPolicy):
    \"\"\"The model given, at about 20 decoding steps a second, and never ending a turn by itself.\"\"\"

    def load(self):
        tokenizer, model = super().load()
        if not getattr(model, "slowed", False):
            model.slowed = True
            model.generation_config.suppress_tokens = stop_ids(tokenizer)
            model.register_forward_pre_hook(self.step)
        return tokenizer, model

    @staticmethod
    def step(module, args):
        pathlib.Path("generating").touch()
        time.sleep(0.05)


def pytest_rlvr_make_policy(config, model, settings):
    return Slow(resolve(model))
"""


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    from tiny_model import build

    return build(tmp_path_factory.mktemp("tiny"))


def test_ctrl_c_stops_an_in_process_generation_and_exits(pytester, tiny):
    pytester.makepyfile(toy=TOY, test_cases=CASES.format(count=2))
    pytester.makeconftest(SLOW_MODEL)
    env = {**os.environ, "PYTEST_ADDOPTS": "-p no:hypothesispytest -p no:cacheprovider -p no:xdist"}
    log = (pytester.path / "out.log").open("w")
    # A turn of up to 4,000 tokens at 20 a second: without a stop, the run would end minutes later.
    process = subprocess.Popen([sys.executable, "-m", "pytest", f"--rlvr-model={tiny}", "--rlvr-backend=hf",
                                "--rlvr-max-tokens=4000"], cwd=pytester.path, env=env, stdout=log,
                               stderr=subprocess.STDOUT, preexec_fn=TERMINAL_SIGINT)
    try:
        deadline = time.monotonic() + 180
        while not (pytester.path / "generating").exists():
            assert process.poll() is None and time.monotonic() < deadline, (pytester.path / "out.log").read_text()
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("pytest was still running 60 s after Ctrl-C")
    finally:
        process.kill()
        process.wait()
        log.close()
    output = (pytester.path / "out.log").read_text()
    assert code == pytest.ExitCode.INTERRUPTED and "KeyboardInterrupt" in output, output[-3000:]


# -- what a user sees --------------------------------------------------------------------------------------
def test_progress_counts_turns_as_well_as_rollouts(toy):
    toy.makeconftest(SLOW)
    toy.makepyfile(test_cases=CASES.format(count=2).replace("    assert_checks(rlvr_case)\n", "    pass\n")
                   .replace("rlvr(SCENARIO)", "rlvr(SCENARIO, gate=False)"))
    shown = run_in_terminal(["test_cases.py", "--rlvr-model=slow", "--rlvr-concurrency=1"], toy.path)
    assert "rlvr rollouts" in shown and " turns · " in shown and "2 passed" in shown, shown


def test_a_failing_case_shows_the_models_last_reply_and_no_trace_repr(toy):
    toy.makepyfile(test_cases="""
import pytest
from pytest_rlvr import assert_checks, check
from toy import ToyScenario

@check("process")
def calls_a_tool(trace, task):
    assert trace.calls

SCENARIO = ToyScenario(count=1)
SCENARIO.checks = (calls_a_tool,)

@pytest.mark.rlvr(SCENARIO)
def test_it(rlvr_case):
    assert_checks(rlvr_case)
""")
    result = toy.runpytest("test_cases.py", "--rlvr-model=noop", "--rlvr-samples=2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*calls_a_tool [[]process, weight 1[]] failed in 2/2: assert []",
                                 "*+  where [[][]] = Trace(toy-eval-0000#0, 1 turns).calls",
                                 "*model's last reply (sample 0, turn 1, answered): I will not make any changes."])
    result.stdout.no_fnmatch_line("*Trace(task_id=*")
