"""`python -m pytest_rlvr rescore`: saved traces scored again with today's checks, tasks rebuilt and verified."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_rlvr import Task
from pytest_rlvr.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
TASKS = 3

DIGESTS = """
import json
from pytest_rlvr import Task
from pytest_rlvr.registry import load_entry_point_scenarios
found = {}
for scenario in load_entry_point_scenarios():
    for task in [*scenario.tasks("eval"), *scenario.tasks("train", 10)]:
        found[task.id] = scenario.task(task.seed, task.split).digest
data = {"names": frozenset({"alpha", "beta", "gamma", "delta"}), "by": {"b": (1, 2), "a": None}}
found["toy"] = Task("toy", "toy", "eval", 1, "easy", "p", data).digest
print(json.dumps(found))
"""


def save_run(where: Path, model: str, *args: str) -> Path:
    """Run the shipped scenarios with a scripted policy and save the results at `where`; return that path."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTEST_ADDOPTS": "-p no:hypothesispytest -p no:cacheprovider"}
    result = subprocess.run([sys.executable, "-m", "pytest", "scenarios", f"--rlvr-model={model}",
                             f"--rlvr-tasks={TASKS}", f"--rlvr-save={where}", "-q", "-p", "no:xdist", *args],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return where


def traces_of(results: Path) -> Path:
    return results.with_name(results.stem + ".traces.jsonl")


def copy_run(results: Path, where: Path) -> Path:
    """A copy of a saved run (results and traces) in `where`, to edit."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copy(results, where / results.name)
    shutil.copy(traces_of(results), traces_of(where / results.name))
    return where / results.name


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_lines(path: Path, traces: list[dict]) -> None:
    path.write_text("".join(json.dumps(t) + "\n" for t in traces))


def own_lines(case: dict) -> dict:
    """A case record with each failure message cut to its first line, the check's own (pytest's introspection
    of `==` is not reproduced outside a test session)."""
    if "failures" not in case:  # an errored case
        return case
    return {**case, "failures": [{name: message.splitlines()[0] if message else message
                                  for name, message in failures.items()} for failures in case["failures"]]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("runs")
    return {model: save_run(where / f"{model}.json", model) for model in ("oracle", "naive")}


# -- tasks rebuild identically -------------------------------------------------------------------------------
def test_every_scenario_rebuilds_its_tasks_with_the_same_digest_in_any_process():
    from pytest_rlvr.registry import load_entry_point_scenarios

    here, scenarios = {}, load_entry_point_scenarios()
    for scenario in scenarios:
        for task in [*scenario.tasks("eval"), *scenario.tasks("train", 10)]:
            here[task.id] = task.digest
    assert len(scenarios) >= 5 and len(here) == sum(len(s.tasks("eval")) + 10 for s in scenarios)
    elsewhere = [json.loads(subprocess.run([sys.executable, "-c", DIGESTS], capture_output=True, text=True,
                                           check=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout)
                 for seed in ("1", "2")]
    assert elsewhere[0] == elsewhere[1]  # sets and mappings are sorted: no hash order leaks into a digest
    assert {k: v for k, v in elsewhere[0].items() if k != "toy"} == here


def test_a_digest_changes_with_anything_the_task_is():
    task = Task("t", "s", "eval", 1, "easy", "p", {"labels": ("a", "b")})
    others = [Task("u", "s", "eval", 1, "easy", "p", {"labels": ("a", "b")}),
              Task("t", "s", "train", 1, "easy", "p", {"labels": ("a", "b")}),
              Task("t", "s", "eval", 2, "easy", "p", {"labels": ("a", "b")}),
              Task("t", "s", "eval", 1, "hard", "p", {"labels": ("a", "b")}),
              Task("t", "s", "eval", 1, "easy", "q", {"labels": ("a", "b")}),
              Task("t", "s", "eval", 1, "easy", "p", {"labels": ("b", "a")})]
    assert len({task.digest, *(other.digest for other in others)}) == 7
    assert Task("t", "s", "eval", 1, "easy", "p", {"labels": ("a", "b")}).digest == task.digest


# -- rescoring reproduces a run ------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["oracle", "naive"])
def test_rescoring_a_saved_run_reproduces_its_scores(runs, model, tmp_path, capsys):
    saved = json.loads(runs[model].read_text())
    out = tmp_path / "rescored.json"
    assert main(["rescore", str(traces_of(runs[model])), "-o", str(out)]) == 0
    shown = capsys.readouterr().out
    rescored = json.loads(out.read_text())
    assert rescored["scenarios"] == saved["scenarios"]
    assert len(rescored["cases"]) == 5 * TASKS
    assert [own_lines(c) for c in rescored["cases"]] == [own_lines(c) for c in saved["cases"]]
    assert "no case's reward changed" in shown and "not rescored" not in shown
    for versions in saved["run"]["checks_versions"].values():  # empty for a scenario whose every case errored
        assert not versions or f"{versions[0]} -> {versions[0]}" in shown
    run = rescored["run"]
    assert run["settings"] == saved["run"]["settings"] and run["policy"] == saved["run"]["policy"]
    assert run["traces"] == str(traces_of(runs[model]).resolve())
    assert run["rescored"]["traces"] == run["traces"] and run["rescored"]["results"] == str(runs[model].resolve())
    assert run["checks_versions"] == saved["run"]["checks_versions"]
    assert run["rescored"]["checks_versions"] == {n: v for n, v in saved["run"]["checks_versions"].items() if v}
    assert rescored["complete"] is True
    # The per-scenario table is the run's own, row for row.
    for name, figures in saved["scenarios"].items():
        mean = "-" if figures["mean"] is None else f"{figures['mean']:.3f}"
        assert any(line.split()[:4] == [name, str(figures["cases"]), str(figures["samples"]), mean]
                   for line in shown.splitlines()), shown
    # compare reads the rescored results: nothing moved.
    assert main(["compare", str(runs[model]), str(out), "--min-shared", "1"]) == 0
    assert "no regression" in capsys.readouterr().out


def test_a_trace_that_does_something_else_scores_differently_and_is_listed(runs, tmp_path, capsys):
    results = copy_run(runs["oracle"], tmp_path)
    traces = lines_of(traces_of(results))
    naive = {t["task_id"]: t for t in lines_of(traces_of(runs["naive"]))}
    target = next(t["task_id"] for t in traces if t["scenario"] == "jira_labels")
    write_lines(traces_of(results), [naive[t["task_id"]] if t["task_id"] == target else t for t in traces])
    out = tmp_path / "rescored.json"
    assert main(["rescore", str(traces_of(results)), "-o", str(out), "--changes", "1"]) == 0
    shown = capsys.readouterr().out
    case = next(c for c in json.loads(out.read_text())["cases"] if c["task_id"] == target)
    assert case["mean"] < 1.0
    assert "1 case(s) changed:" in shown
    assert f"jira_labels[{target}]: 1.000 -> {case['mean']:.3f}; now failing: " in shown
    assert "labels_as_requested" in shown.split(target)[1]
    row = next(line for line in shown.splitlines() if line.split()[:2] == ["jira_labels", str(TASKS)]
               and "->" in line)
    assert f"{(case['mean'] - 1.0) / TASKS:+.3f}" in row


def test_a_task_that_rebuilds_differently_is_refused(runs, tmp_path, capsys):
    results = copy_run(runs["oracle"], tmp_path)
    traces = lines_of(traces_of(results))
    tampered = traces[0]["task_id"]
    traces[0]["task_digest"] = "0" * 64
    write_lines(traces_of(results), traces)
    out = tmp_path / "rescored.json"
    assert main(["rescore", str(traces_of(results)), "-o", str(out)]) == 0
    shown = capsys.readouterr().out
    assert (f"not rescored: {traces[0]['scenario']}[{tampered}]: its task rebuilds differently (digest "
            "000000000000 saved, ") in shown
    assert "the saved traces do not suffice; roll it out again" in shown
    document = json.loads(out.read_text())
    assert tampered not in {c["task_id"] for c in document["cases"]}
    assert len(document["cases"]) == 5 * TASKS - 1 and document["complete"] is False
    assert document["run"]["rescored"]["not_rescored"] == [line.removeprefix("rlvr: not rescored: ")
                                                           for line in shown.splitlines() if "not rescored:" in line]


def test_older_traces_take_their_task_from_the_saved_results(runs, tmp_path, capsys):
    results = copy_run(runs["naive"], tmp_path / "with")
    traces = [{k: v for k, v in t.items() if not k.startswith("task_") or k == "task_id"}
              for t in lines_of(traces_of(results))]
    write_lines(traces_of(results), traces)
    out = tmp_path / "rescored.json"
    assert main(["rescore", str(traces_of(results)), "-o", str(out)]) == 0
    assert f"{5 * TASKS} case(s) rescored without a task digest" in capsys.readouterr().out
    assert json.loads(out.read_text())["scenarios"] == json.loads(results.read_text())["scenarios"]
    # Without the saved results, nothing says which task each trace is.
    alone = tmp_path / "alone" / "run.traces.jsonl"
    alone.parent.mkdir()
    shutil.copy(traces_of(results), alone)
    assert main(["rescore", str(alone)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could be rescored" in err and "do not say which task" in err


def test_without_saved_results_it_rescores_and_says_there_is_nothing_to_compare(runs, tmp_path, capsys):
    alone = tmp_path / "elsewhere.traces.jsonl"
    shutil.copy(traces_of(runs["oracle"]), alone)
    out = tmp_path / "rescored.json"
    assert main(["rescore", str(alone), "-o", str(out)]) == 0
    assert f"no results saved with {alone} to compare with" in capsys.readouterr().out
    document = json.loads(out.read_text())
    scored = {name: figures for name, figures in json.loads(runs["oracle"].read_text())["scenarios"].items()
              if figures["cases"]}  # an errored case leaves no trace
    assert document["scenarios"] == scored
    assert document["run"]["model"] == "oracle" and document["run"]["settings"]["split"] == "eval"
    assert main(["compare", str(runs["oracle"]), str(out), "--min-shared", "1"]) == 0


def test_malformed_lines_are_skipped_and_counted(runs, tmp_path, capsys):
    results = copy_run(runs["oracle"], tmp_path)
    with traces_of(results).open("ab") as file:
        file.write(b'{"task_id": "x"\n{}\n[1, 2]\n\xff\xfe\n{"turns": 3, "schema_version": 1}\n\n')
    out = tmp_path / "rescored.json"
    assert main(["rescore", str(traces_of(results)), "-o", str(out)]) == 0
    assert "rlvr: 5 malformed line(s) skipped" in capsys.readouterr().out
    assert json.loads(out.read_text())["scenarios"] == json.loads(results.read_text())["scenarios"]


def test_errored_cases_of_the_saved_run_are_carried(runs, tmp_path, capsys):
    results = copy_run(runs["oracle"], tmp_path)
    saved = json.loads(results.read_text())
    errored = {**saved["cases"][0], "task_id": "jira_labels/eval/1000999", "error": "InfrastructureError: down"}
    for key in ("rewards", "mean", "checks"):
        errored.pop(key, None)
    saved["cases"].append(errored)
    results.write_text(json.dumps(saved))
    out = tmp_path / "rescored.json"
    assert main(["rescore", str(traces_of(results)), "-o", str(out)]) == 0
    carried = sum("error" in case for case in saved["cases"])
    assert f"{carried} errored case(s) of the saved results carried as they were" in capsys.readouterr().out
    assert errored in json.loads(out.read_text())["cases"]


@pytest.mark.parametrize("problem", ["missing", "empty", "unknown scenario", "bad results", "output over input"])
def test_usage_errors_are_one_line_and_exit_2(runs, tmp_path, problem):
    results = copy_run(runs["oracle"], tmp_path)
    traces, args = traces_of(results), []
    if problem == "missing":
        traces = tmp_path / "nothere.traces.jsonl"
        expected = f"cannot read {traces}: No such file or directory"
    elif problem == "empty":
        traces.write_text("\n")
        expected = "holds no trace to rescore (0 malformed line(s) skipped)"
    elif problem == "unknown scenario":
        write_lines(traces, [{**t, "scenario": "jira_nothing"} for t in lines_of(traces)])
        expected = "no scenario named 'jira_nothing' is registered (entry points pytest_rlvr.scenarios: "
    elif problem == "output over input":
        args, expected = ["-o", str(results)], f"-o {results}: give a path other than the traces' or the saved"
    else:
        (tmp_path / "bad.json").write_text('{"format": "pytest-rlvr/results", "cases": 3}')
        args, expected = ["--results", str(tmp_path / "bad.json")], "'cases' is not a list"
    result = subprocess.run([sys.executable, "-m", "pytest_rlvr", "rescore", str(traces), *args], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("python -m pytest_rlvr rescore: error: ") and expected in result.stderr
    assert json.loads(results.read_text())["format"] == "pytest-rlvr/results"
