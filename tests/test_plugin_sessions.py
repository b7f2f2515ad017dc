"""The plugin in whole processes: pytest-xdist, a killed run, the progress display on a terminal."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_plugin import CASES, TOY

from pytest_rlvr import Trace

pytest_plugins = ["pytester"]


@pytest.fixture
def toy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider")
    pytester.makepyfile(toy=TOY)
    return pytester


def test_xdist_workers_roll_out_their_own_cases_and_the_controller_reports_all(toy):
    toy.makepyfile(test_cases=CASES.format(count=8))
    result = toy.runpytest_subprocess("-n", "2", "--rlvr-model=oracle", "--rlvr-samples=2",
                                      "--rlvr-save=out/run.json")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["*= rlvr summary =*", "*toy *8 *16 *1.000 [[]1.000, 1.000[]] *8/8 *1.000 *1.000"])
    results = json.loads((toy.path / "out" / "run.json").read_text())
    assert [c["task_id"] for c in results["cases"]] == [f"toy-eval-{i:04d}" for i in range(8)]
    assert results["scenarios"]["toy"]["samples"] == 16
    assert results["run"]["policy"]["name"] == "oracle"
    traces = [Trace.from_json(line) for line in (toy.path / "out" / "run.traces.jsonl").read_text().splitlines()]
    assert {(t.task_id, t.sample) for t in traces} == {(f"toy-eval-{i:04d}", s) for i in range(8) for s in range(2)}
    # Had every worker rolled out every case, there would be 32 traces (xdist may re-run a stolen test).
    assert len(traces) < 32


def test_a_killed_run_leaves_a_valid_traces_file(toy):
    toy.makepyfile(test_cases=CASES.format(count=6).replace(
        "    assert_checks(rlvr_case)\n",
        "    if rlvr_case.task.id == 'toy-eval-0003':\n"
        "        import os, signal\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    assert_checks(rlvr_case)\n"))
    result = toy.runpytest_subprocess("-p", "no:xdist", "--rlvr-model=oracle", "--rlvr-save=out/run.json")
    assert result.ret == -9
    lines = (toy.path / "out" / "run.traces.jsonl.partial").read_text().splitlines()
    traces = [Trace.from_json(line) for line in lines]  # every line is a whole trace
    assert {f"toy-eval-000{i}" for i in range(4)} <= {t.task_id for t in traces}
    assert not (toy.path / "out" / "run.json").exists()


SLOW = """
import asyncio
from pytest_rlvr import AssistantTurn


class Slow:
    name = "slow"
    info = {"name": "slow"}

    async def generate(self, requests):
        await asyncio.sleep(0.6)
        return [AssistantTurn("done") for _ in requests]

    async def close(self):
        pass


def pytest_rlvr_make_policy(config, model, settings):
    return Slow() if model == "slow" else None
"""


# Ctrl-C as a terminal delivers it: a runner started as a background job (`cmd &`, nohup) hands its children
# SIGINT ignored, and Python then installs no KeyboardInterrupt handler.
TERMINAL_SIGINT = functools.partial(signal.signal, signal.SIGINT, signal.SIG_DFL)


def run_in_terminal(args: list[str], cwd: Path) -> str:
    """Run pytest with its output on a pseudo-terminal; returns what it wrote, without escape sequences."""
    import pty

    controller, terminal = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40",
           "PYTEST_ADDOPTS": "-p no:hypothesispytest -p no:cacheprovider -p no:xdist"}
    for name in ("NO_COLOR", "FORCE_COLOR", "CI", "TTY_COMPATIBLE"):
        env.pop(name, None)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, stdin=terminal, stdout=terminal,
                       stderr=terminal, env=env, timeout=60, check=False)
    finally:
        os.close(terminal)
        reader.join(10)
        os.close(controller)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))


def test_progress_shows_on_a_terminal_and_not_under_quiet(toy):
    toy.makeconftest(SLOW)
    toy.makepyfile(test_cases=CASES.format(count=2).replace("    assert_checks(rlvr_case)\n", "    pass\n")
                   .replace("rlvr(SCENARIO)", "rlvr(SCENARIO, gate=False)"))
    shown = run_in_terminal(["--rlvr-model=slow", "--rlvr-concurrency=1"], toy.path)
    assert "rlvr rollouts" in shown and "2 passed" in shown
    quiet = run_in_terminal(["-q", "--rlvr-model=slow", "--rlvr-concurrency=1"], toy.path)
    assert "rlvr rollouts" not in quiet and "2 passed" in quiet


def test_scenario_packages_from_entry_points_are_found_and_rewritten(toy):
    # A scenario package installed with a `pytest_rlvr.scenarios` entry point (a dist-info on sys.path).
    toy.mkpydir("labels_pkg")
    (toy.path / "labels_pkg" / "__init__.py").write_text(
        "from pytest_rlvr import check\nfrom toy import ToyScenario\n\n\n"
        "@check('outcome')\ndef polite(trace, task):\n    assert trace.final_text == 'Thank you.'\n\n\n"
        "SCENARIO = ToyScenario(count=1, name='labels')\nSCENARIO.checks = (polite,)\nSCENARIOS = [SCENARIO]\n")
    info = toy.path / "labels_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: labels-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pytest_rlvr.scenarios]\nlabels = labels_pkg:SCENARIOS\n")
    toy.makepyfile(test_named="import pytest\n\n\n@pytest.mark.rlvr('labels')\ndef test_it(rlvr_case):\n"
                              "    pass\n")
    result = toy.runpytest_subprocess("-p", "no:xdist", "--rlvr-model=noop")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*polite [[]outcome, weight 1[]] failed in 1/1: assert 'I will not make any "
                                 "changes.' == 'Thank you.'"])
