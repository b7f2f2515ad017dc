"""Harness overhead: a whole pytest session of N rlvr cases (oracle policy) against N trivial tests.

Both arms are whole `python -m pytest` processes with the same plugins installed, so the difference is
what pytest-rlvr adds per case: parametrization, rollout (3 policy turns, 2 tool calls), scoring,
properties, summary. Runs alternate between the arms; the median of each is reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CASES = 1000
REPEATS = 3
ROOT = Path(__file__).resolve().parent.parent

RLVR_TESTS = """
import pytest
from bench.toy import ToyScenario

SCENARIO = ToyScenario(count={count})


@pytest.mark.rlvr(SCENARIO)
def test_case(rlvr_case):
    pass
"""

PLAIN_TESTS = """
import pytest


@pytest.mark.parametrize("i", range({count}))
def test_case(i):
    assert i >= 0
"""

COMMON = ["-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:xdist"]


def session_seconds(directory: Path, test_file: str, extra: list[str], expected: int) -> float:
    """Wall time of one pytest process; raises if not every test passed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("PYTEST_ADDOPTS", None)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", *COMMON, test_file, *extra], cwd=directory, env=env,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0 or f"{expected} passed" not in done.stdout:
        raise RuntimeError(f"benchmark session failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


def measure(cases: int = CASES, repeats: int = REPEATS) -> dict[str, float]:
    """Median wall times of both arms and the derived figures."""
    with tempfile.TemporaryDirectory(prefix="rlvr-bench-") as tmp:
        directory = Path(tmp)
        (directory / "test_rlvr_cases.py").write_text(RLVR_TESTS.format(count=cases))
        (directory / "test_plain_cases.py").write_text(PLAIN_TESTS.format(count=cases))
        (directory / "pytest.ini").write_text("[pytest]\n")
        rlvr, plain = [], []
        for _ in range(repeats):
            plain.append(session_seconds(directory, "test_plain_cases.py", [], cases))
            rlvr.append(session_seconds(directory, "test_rlvr_cases.py", ["--rlvr-model=oracle"], cases))
    rlvr_s, plain_s = statistics.median(rlvr), statistics.median(plain)
    return {"cases": cases, "rlvr_s": rlvr_s, "plain_s": plain_s, "ratio": rlvr_s / plain_s,
            "overhead_ms_per_case": (rlvr_s - plain_s) / cases * 1000}


def main() -> None:
    figures = measure()
    print(f"   {figures['cases']} cases, median of {REPEATS} sessions each")
    print(f"   pytest-rlvr, oracle policy : {figures['rlvr_s']:.2f} s")
    print(f"   plain parametrized tests   : {figures['plain_s']:.2f} s")
    print(f"   ratio                      : {figures['ratio']:.2f}x")
    print(f"   overhead per case          : {figures['overhead_ms_per_case']:.2f} ms")


if __name__ == "__main__":
    main()
