"""Saved runs lose nothing: a locked save path, atomic files, incomplete results on interruption, resume,
plain text in saved files, and the summary last."""

from __future__ import annotations

import fcntl
import json
import re
import subprocess
from pathlib import Path

import pytest
from test_plugin import CASES, POLICIES, TOY

from pytest_rlvr import Trace

pytest_plugins = ["pytester"]


@pytest.fixture
def toy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider")
    pytester.makepyfile(toy=TOY)
    return pytester


def cases(pytester: pytest.Pytester, count: int, body: str = "") -> None:
    """`count` toy cases; `body` runs in each test before its checks are asserted."""
    pytester.makepyfile(test_cases=CASES.format(count=count).replace(
        "    assert_checks(rlvr_case)\n", f"{body}    assert_checks(rlvr_case)\n"))


def stop_at(task_id: str, how: str) -> str:
    """A test body that stops the run at one case: 'interrupt' (Ctrl-C) or 'kill' (SIGKILL)."""
    action = "raise KeyboardInterrupt" if how == "interrupt" else "import os, signal; os.kill(os.getpid(), 9)"
    return f"    if rlvr_case.task.id == {task_id!r}:\n        {action}\n"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:xdist", *args)


def one_error_line(result: pytest.RunResult) -> str:
    """The run's `ERROR:` line; there is exactly one and no traceback."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr.str()
    return errors[0]


def traces_of(path: Path) -> list[Trace]:
    return [Trace.from_json(line) for line in path.read_text().splitlines()]


# -- item 2: a rerun does not touch the previous run's files until it ends -------------------------------------
def test_a_rerun_killed_during_collection_keeps_the_previous_run(toy):
    cases(toy, 3)
    run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json").assert_outcomes(passed=3)
    results, traces = (toy.path / "out" / "run.json").read_text(), (toy.path / "out" / "run.traces.jsonl").read_text()
    assert len(traces.splitlines()) == 3
    toy.makepyfile(test_dies="import os\n\nos.kill(os.getpid(), 9)\n")  # killed while collecting
    assert run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json").ret == -9
    assert (toy.path / "out" / "run.json").read_text() == results
    assert (toy.path / "out" / "run.traces.jsonl").read_text() == traces


# -- item 3: one writer per save path ------------------------------------------------------------------------
def test_a_second_run_on_the_same_save_path_is_refused_in_one_line(toy):
    cases(toy, 2)
    (toy.path / "out").mkdir()
    with open(toy.path / "out" / "run.json.lock", "w") as held:  # another run holds the path
        fcntl.flock(held, fcntl.LOCK_EX)
        line = one_error_line(run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json"))
    assert "--rlvr-save=" in line and "another pytest run is writing there" in line
    assert not (toy.path / "out" / "run.json").exists()
    assert not (toy.path / "out" / "run.traces.jsonl.partial").exists()
    # Once it is released, the path is free again, and a finished run leaves no lock or temporary file behind.
    run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json").assert_outcomes(passed=2)
    assert sorted(p.name for p in (toy.path / "out").iterdir()) == ["run.json", "run.traces.jsonl"]


# -- item 4: interrupted runs are saved as incomplete, and resume ----------------------------------------------
def test_an_interrupted_run_saves_its_finished_cases_marked_incomplete(toy):
    cases(toy, 6, stop_at("toy-eval-0003", "interrupt"))
    result = run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["results saved to *run.json; traces in *run.traces.jsonl (incomplete:*"])
    document = json.loads((toy.path / "out" / "run.json").read_text())
    assert document["complete"] is False
    assert [c["task_id"] for c in document["cases"]] == [f"toy-eval-000{i}" for i in range(3)]
    traces = traces_of(toy.path / "out" / "run.traces.jsonl")
    assert {f"toy-eval-000{i}" for i in range(4)} <= {t.task_id for t in traces}

    toy.path.joinpath("test_cases.py").write_text(CASES.format(count=6))
    resumed = run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json", "--rlvr-resume")
    resumed.assert_outcomes(passed=6)
    reused = re.search(r"rlvr: resumed: reused (\d) of 6 rollouts from (\S+)", resumed.stdout.str())
    assert reused is not None and int(reused[1]) >= 4 and reused[2] == str(toy.path / "out" / "run.json")
    document = json.loads((toy.path / "out" / "run.json").read_text())
    assert document["complete"] is True and len(document["cases"]) == 6
    assert document["run"]["resumed"]["reused"] == int(reused[1])
    traces = traces_of(toy.path / "out" / "run.traces.jsonl")
    assert sorted((t.task_id, t.sample) for t in traces) == [(f"toy-eval-000{i}", 0) for i in range(6)]


def test_a_resumed_run_stopped_early_keeps_the_cases_it_had_not_reached(toy):
    cases(toy, 4)
    run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json")
    cases(toy, 6, stop_at("toy-eval-0001", "interrupt"))
    result = run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json", "--rlvr-resume", "--rlvr-tasks=6")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    document = json.loads((toy.path / "out" / "run.json").read_text())
    assert document["complete"] is False
    assert sorted(c["task_id"] for c in document["cases"]) == [f"toy-eval-000{i}" for i in range(4)]


def test_resume_rolls_out_only_what_is_missing_and_rescores_the_rest(toy):
    cases(toy, 4)
    args = ("--rlvr-model=oracle", "--rlvr-samples=2", "--rlvr-temperature=0.7", "--rlvr-save=out/run.json")
    run(toy, *args, "-k", "0001 or 0002").assert_outcomes(passed=2)
    first = (toy.path / "out" / "run.traces.jsonl").read_text().splitlines()
    result = run(toy, *args, "--rlvr-resume")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([f"rlvr: resumed: reused 4 of 8 rollouts from {toy.path / 'out' / 'run.json'}"])
    lines = (toy.path / "out" / "run.traces.jsonl").read_text().splitlines()
    assert set(first) <= set(lines)  # the reused traces are the saved ones, byte for byte
    traces = [Trace.from_json(line) for line in lines]
    assert sorted((t.task_id, t.sample) for t in traces) == [(f"toy-eval-000{i}", s) for i in range(4) for s in (0, 1)]
    document = json.loads((toy.path / "out" / "run.json").read_text())
    assert document["complete"] is True
    assert [c["mean"] for c in document["cases"]] == [1.0] * 4  # reused cases are scored like the others


def test_resume_with_nothing_saved_rolls_out_everything(toy):
    cases(toy, 2)
    result = run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json", "--rlvr-resume")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["rlvr: resumed: reused 0 of 2 rollouts (nothing saved at *run.json)"])


def test_a_killed_run_leaves_partial_results_that_resume_reads(toy):
    cases(toy, 6, stop_at("toy-eval-0003", "kill"))
    assert run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json").ret == -9
    out = toy.path / "out"
    assert not (out / "run.json").exists() and not (out / "run.traces.jsonl").exists()
    document = json.loads((out / "run.json.partial").read_text())
    assert document["complete"] is False and document["cases"][0]["task_id"] == "toy-eval-0000"
    toy.path.joinpath("test_cases.py").write_text(CASES.format(count=6))
    result = run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json", "--rlvr-resume")
    result.assert_outcomes(passed=6)
    reused = re.search(r"rlvr: resumed: reused (\d) of 6 rollouts from (\S+)", result.stdout.str())
    assert reused is not None and int(reused[1]) >= 4 and reused[2] == str(out / "run.json.partial")
    assert sorted(p.name for p in out.iterdir()) == ["run.json", "run.traces.jsonl"]
    assert json.loads((out / "run.json").read_text())["complete"] is True


def test_a_run_killed_before_its_first_case_reports_is_resumed_from_its_traces(toy):
    # Rollouts finish in any order but cases report in item order: here none reported before the kill.
    cases(toy, 6, stop_at("toy-eval-0000", "kill"))
    assert run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json").ret == -9
    out = toy.path / "out"
    document = json.loads((out / "run.json.partial").read_text())
    assert document["complete"] is False and document["cases"] == []
    finished = traces_of(out / "run.traces.jsonl.partial")
    assert finished
    toy.path.joinpath("test_cases.py").write_text(CASES.format(count=6))
    result = run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json", "--rlvr-resume")
    result.assert_outcomes(passed=6)
    partial = out / "run.json.partial"
    result.stdout.fnmatch_lines([f"rlvr: resumed: reused {len(finished)} of 6 rollouts from {partial}"])
    assert {t.to_json() for t in finished} <= {t.to_json() for t in traces_of(out / "run.traces.jsonl")}


def test_resume_never_truncates_traces_it_cannot_read(toy):
    cases(toy, 3, stop_at("toy-eval-0000", "kill"))
    assert run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json").ret == -9
    out = toy.path / "out"
    (out / "run.json.partial").unlink()  # as a run of an earlier version left it: traces without results
    kept = (out / "run.traces.jsonl.partial").read_text()
    assert kept
    line = one_error_line(run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json", "--rlvr-resume"))
    assert "run.traces.jsonl.partial holds rollouts" in line and "pytest_rlvr rescore" in line
    assert (out / "run.traces.jsonl.partial").read_text() == kept


def test_a_run_that_scores_nothing_leaves_no_partial_files(toy):
    cases(toy, 2)
    result = run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json", "-k", "no_such_case")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert not (toy.path / "out").exists() or not [p for p in (toy.path / "out").iterdir() if p.suffix == ".partial"]


def test_resume_refuses_other_settings_naming_each(toy):
    cases(toy, 2)
    run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json").assert_outcomes(passed=2)
    saved = (toy.path / "out" / "run.json").read_text()
    line = one_error_line(run(toy, "--rlvr-model=naive", "--rlvr-samples=2", "--rlvr-temperature=0.5",
                              "--rlvr-save=out/run.json", "--rlvr-resume"))
    assert f"the run saved at {toy.path / 'out' / 'run.json'} differs" in line
    for difference in ("--rlvr-model: 'oracle' saved, 'naive' now", "--rlvr-samples: 1 saved, 2 now",
                       "--rlvr-temperature: 0.0 saved, 0.5 now"):
        assert difference in line
    assert (toy.path / "out" / "run.json").read_text() == saved


def test_resume_refuses_other_checks(toy):
    cases(toy, 2)
    run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json").assert_outcomes(passed=2)
    toy.path.joinpath("test_cases.py").write_text(CASES.format(count=2).replace(
        "SCENARIO = ToyScenario(count=2)\n",
        "SCENARIO = ToyScenario(count=2)\nSCENARIO.checks = ToyScenario.checks[1:]\n"))
    line = one_error_line(run(toy, "--rlvr-model=oracle", "--rlvr-save=out/run.json", "--rlvr-resume"))
    assert re.search(r"differs: toy: checks_version \w+ saved, \w+ now", line), line


def test_resume_needs_a_save_path_and_one_process(toy):
    cases(toy, 2)
    line = one_error_line(run(toy, "--rlvr-model=oracle", "--rlvr-resume"))
    assert line.startswith("ERROR: --rlvr-resume: give --rlvr-save=PATH")
    result = toy.runpytest_subprocess("-n", "2", "--rlvr-model=oracle", "--rlvr-save=run.json", "--rlvr-resume")
    assert "--rlvr-resume: resuming needs a single process; run without -n" in one_error_line(result)


def test_xdist_runs_save_incrementally_and_completely(toy):
    cases(toy, 4, stop_at("toy-eval-0002", "interrupt"))
    result = toy.runpytest_subprocess("-n", "2", "--rlvr-model=oracle", "--rlvr-save=out/run.json")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    document = json.loads((toy.path / "out" / "run.json").read_text())
    assert document["complete"] is False
    assert "toy-eval-0002" not in {c["task_id"] for c in document["cases"]}
    assert not (toy.path / "out" / "run.traces.jsonl.partial").exists()


# -- item 9: the save path is checked before anything runs -----------------------------------------------------
def test_a_directory_or_unwritable_save_path_is_one_line(toy):
    cases(toy, 2)
    (toy.path / "out").mkdir()
    line = one_error_line(run(toy, "--rlvr-model=oracle", "--rlvr-save=out"))
    assert "--rlvr-save" in line and "is a directory" in line
    (toy.path / "afile").write_text("")
    line = one_error_line(run(toy, "--rlvr-model=oracle", "--rlvr-save=afile/run.json"))
    assert "--rlvr-save" in line and "writable" in line


# -- item 14: saved files hold plain text --------------------------------------------------------------------
def test_saved_results_and_junit_have_no_escape_codes(toy):
    cases(toy, 2)
    # --color=yes: pytest's assertion introspection colours the diffs in the checks' messages.
    result = run(toy, "--color=yes", "--rlvr-model=naive", "--rlvr-save=out/run.json", "--junitxml=out/run.xml")
    result.assert_outcomes(failed=2)
    saved = (toy.path / "out" / "run.json").read_text()
    assert "Left contains 1 more item" in saved
    assert "\\u001b" not in saved and "\x1b" not in saved
    junit = (toy.path / "out" / "run.xml").read_text()
    assert "Left contains 1 more item" in junit and "#x1B" not in junit and "\x1b" not in junit


# -- item 18 and errored cases: the summary comes last ------------------------------------------------------
def test_the_summary_comes_after_pytests_short_summary(toy):
    cases(toy, 3)
    result = run(toy, "--rlvr-model=naive")
    result.assert_outcomes(failed=3)
    lines = result.stdout.lines
    short = next(i for i, line in enumerate(lines) if "short test summary info" in line)
    table = next(i for i, line in enumerate(lines) if "rlvr summary" in line)
    assert short < table
    assert all("FAILED" not in line for line in lines[table:])


def test_errored_cases_are_counted_in_one_summary_line(toy):
    toy.makeconftest(POLICIES)
    cases(toy, 2)
    result = run(toy, "--rlvr-model=down", "--rlvr-retries=0")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*= rlvr summary =*", "rlvr: 2 of 2 case(s) errored and were not scored*"])


# -- the main job keeps its results --------------------------------------------------------------------------
def test_make_eval_saves_under_runs_with_a_safe_name():
    root = Path(__file__).resolve().parent.parent
    dry = subprocess.run(["make", "-n", "eval", "MODEL=Qwen/Qwen3-4B:v1"], cwd=root,
                         capture_output=True, text=True, timeout=30, check=True).stdout
    assert "--rlvr-save=runs/eval-Qwen-Qwen3-4B-v1.json" in dry
