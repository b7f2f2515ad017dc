"""`--rlvr-report`: the pytest run writes its HTML report, saving the results beside it when not told where."""

from __future__ import annotations

import json

import pytest
from test_plugin import CASES, TOY

pytest_plugins = ["pytester"]


@pytest.fixture
def toy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider")
    pytester.makepyfile(toy=TOY)
    pytester.makepyfile(test_cases=CASES.format(count=3))
    return pytester


def test_the_report_is_written_with_the_results_beside_it(toy):
    result = toy.runpytest_subprocess("-p", "no:xdist", "--rlvr-model=oracle", "--rlvr-report=out/run.html")
    result.assert_outcomes(passed=3)
    report = toy.path / "out" / "run.html"
    result.stdout.fnmatch_lines([f"results saved to {toy.path / 'out' / 'run.json'}; traces in *",
                                 f"report written to {report}"])
    saved = json.loads((toy.path / "out" / "run.json").read_text())
    assert saved["run"]["settings"]["report"] == str(report)
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page
    assert all(case["task_id"] in page for case in saved["cases"])


def test_the_report_and_the_saved_results_go_where_they_are_told(toy):
    result = toy.runpytest_subprocess("-p", "no:xdist", "--rlvr-model=oracle", "--rlvr-save=a/results.json",
                                      "--rlvr-report=b/page.html")
    result.assert_outcomes(passed=3)
    assert (toy.path / "a" / "results.json").is_file() and (toy.path / "b" / "page.html").is_file()
    assert not (toy.path / "b" / "page.json").exists()


@pytest.mark.parametrize("report", ["run.json", "run.traces.jsonl"])
def test_a_report_path_that_the_results_would_overwrite_is_refused_in_one_line(toy, report):
    result = toy.runpytest_subprocess("-p", "no:xdist", "--rlvr-model=oracle", "--rlvr-save=run.json",
                                      f"--rlvr-report={report}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1 and errors[0].startswith(f"ERROR: --rlvr-report={report}: the results or traces"), errors
