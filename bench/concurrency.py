"""Concurrency: a policy that takes a fixed latency per turn, 32 rollouts in flight against one at a time.

The policy sleeps LATENCY_S per `generate` call (a server answering a batch in one round trip) and then
plays the oracle script. Same cases, same engine; only `concurrency` differs. Target: at least 25x.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from bench.toy import ToyScenario
from pytest_rlvr import AssistantTurn, TurnRequest
from pytest_rlvr.engine import Engine
from pytest_rlvr.scripted import ScriptPolicy
from pytest_rlvr.settings import Settings

CASES = 128
LATENCY_S = 0.02
IN_FLIGHT = 32
TARGET = 25.0


class SlowOracle:
    """The oracle script behind a fixed latency per turn."""

    name = "slow-oracle"

    def __init__(self, scenario: ToyScenario, latency_s: float) -> None:
        self.script = ScriptPolicy("oracle", {scenario.name: scenario})
        self.latency_s = latency_s

    @property
    def info(self) -> dict[str, Any]:
        return {"name": self.name, "latency_s": self.latency_s}

    async def generate(self, requests: Sequence[TurnRequest]) -> list[AssistantTurn]:
        await asyncio.sleep(self.latency_s)
        return await self.script.generate(requests)

    async def close(self) -> None:
        await self.script.close()


def run(concurrency: int, cases: int = CASES, latency_s: float = LATENCY_S) -> tuple[float, float]:
    """Wall time of all rollouts, and the mean batch size the policy saw."""
    scenario = ToyScenario(count=cases)
    engine = Engine(SlowOracle(scenario, latency_s), Settings(concurrency=concurrency))

    async def all_cases() -> None:
        traces = await asyncio.gather(*(engine.run_case(scenario, task) for task in scenario.tasks("eval")))
        assert all(t[0].state_diff == task.data["expected_diff"] for t, task in
                   zip(traces, scenario.tasks("eval"), strict=True))

    started = time.perf_counter()
    asyncio.run(all_cases())
    elapsed = time.perf_counter() - started
    sizes = engine.batcher.batch_sizes
    return elapsed, sum(sizes) / len(sizes)


def main() -> None:
    serial, serial_batch = run(1)
    parallel, parallel_batch = run(IN_FLIGHT)
    speedup = serial / parallel
    print(f"   {CASES} cases x 3 turns, {LATENCY_S * 1000:.0f} ms per policy turn")
    print(f"   1 in flight  : {serial:.2f} s (mean batch {serial_batch:.1f})")
    print(f"   {IN_FLIGHT} in flight : {parallel:.2f} s (mean batch {parallel_batch:.1f})")
    print(f"   speed-up     : {speedup:.1f}x (target >= {TARGET:.0f}x: {'met' if speedup >= TARGET else 'MISSED'})")


if __name__ == "__main__":
    main()
