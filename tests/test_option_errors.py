"""Options as a user meets them: `--help` renders, and a bad option is one line at start-up, not a traceback at
the end of a run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_plugin import TOY, cases

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def lean_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider")


@pytest.fixture
def toy(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(toy=TOY)
    return pytester


def usage_error(result: pytest.RunResult) -> str:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    lines = [line for line in result.stderr.lines if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_help_renders_every_rlvr_option_and_ini_setting(pytester):
    result = pytester.runpytest("--help")
    assert result.ret == pytest.ExitCode.OK, result.stderr.str()
    result.stdout.fnmatch_lines(["pytest-rlvr: evaluate tool-using policies with checks as rewards:",
                                 "*--rlvr-model=NAME*", "*--rlvr-max-drop=R*", "*a regression is a 95% interval*",
                                 "*--rlvr-allow-incomparable*", "*rlvr_max_drop (string):*"])


@pytest.mark.parametrize(("path", "message"), [
    ("out", "ERROR: --rlvr-save=out: out is a directory; give a file path, e.g. out/results.json"),
    ("toy.py/run.json", "ERROR: --rlvr-save=toy.py/run.json: toy.py is not a directory; give a path in a "
                        "writable directory"),
    ("toy.py/deeper/run.json", "ERROR: --rlvr-save=toy.py/deeper/run.json: toy.py is not a directory; give a "
                               "path in a writable directory"),
])
def test_a_save_path_that_cannot_be_written_is_refused_before_the_run(toy, path, message):
    (toy.path / "out").mkdir()
    cases(toy)
    assert usage_error(toy.runpytest("--rlvr-model=oracle", f"--rlvr-save={path}")) == message


def test_a_save_path_in_a_read_only_directory_is_refused(toy, monkeypatch):
    locked = toy.path / "locked"
    locked.mkdir(mode=0o500)
    access = os.access  # root may write anywhere: the directory reads as read-only for every user
    monkeypatch.setattr(os, "access", lambda path, mode: access(path, mode) and path != Path("locked"))
    cases(toy)
    line = usage_error(toy.runpytest("--rlvr-model=oracle", "--rlvr-save=locked/run.json"))
    assert line == "ERROR: --rlvr-save=locked/run.json: cannot write in locked; give a path in a writable directory"


def test_a_save_path_in_folders_still_to_make_is_fine(toy):
    cases(toy, count=1)
    toy.runpytest("--rlvr-model=oracle", "--rlvr-save=runs/new/run.json").assert_outcomes(passed=1)
    assert (toy.path / "runs" / "new" / "run.json").is_file()


def test_the_train_split_needs_a_task_count(toy):
    cases(toy)
    assert usage_error(toy.runpytest("--rlvr-model=oracle", "--rlvr-split=train")) == (
        "ERROR: --rlvr-split=train: the train split is unlimited; give --rlvr-tasks N to evaluate its first N tasks")
    toy.runpytest("--rlvr-model=oracle", "--rlvr-split=train", "--rlvr-tasks=2").assert_outcomes(passed=2)


def test_samples_at_temperature_zero_warn_once(toy):
    cases(toy, count=2)
    result = toy.runpytest("--rlvr-model=oracle", "--rlvr-samples=3")
    result.assert_outcomes(passed=2, warnings=1)
    assert result.stdout.str().count("the samples of a deterministic policy are identical") == 1
    result.stdout.fnmatch_lines(["*RlvrOptionWarning: --rlvr-samples=3 at --rlvr-temperature=0: the samples of a "
                                 "deterministic policy are identical; give a temperature above 0 *"])
    for args in (["--rlvr-samples=3", "--rlvr-temperature=0.7"], ["--rlvr-samples=1"]):
        toy.runpytest("--rlvr-model=oracle", *args).assert_outcomes(passed=2, warnings=0)
