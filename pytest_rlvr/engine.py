"""The rollout engine: K samples per case, bounded concurrency, batched policy calls, retries.

Asynchronous and free of pytest: the plugin runs it on a background thread (see `background`), a
benchmark or a trainer can await it directly.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from .batcher import Batcher
from .policy import AssistantTurn, InfrastructureError, Policy, Sampling, TurnRequest
from .rollout import rollout
from .scenario import Scenario
from .settings import Settings
from .task import Task
from .trace import Trace

RETRYABLE: tuple[type[BaseException], ...] = (InfrastructureError, TimeoutError, ConnectionError)
"""What a policy raises when the serving side failed; anything else is a bug and fails the case at once."""

MAX_BACKOFF_S = 30.0
"""The longest wait between two tries of a call."""


def sample_seed(run_seed: int, task_id: str, sample: int) -> int:
    """The seed of one sample, derived from (run seed, task id, sample index); fits in 31 bits."""
    digest = hashlib.sha256(f"{run_seed}\x1f{task_id}\x1f{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class Engine:
    """Runs the rollouts of cases concurrently against one policy.

    Args:
        policy: The policy every rollout asks.
        settings: Samples, concurrency, sampling, turn limit, seed and retries.
        on_trace: Called with every finished trace (from the engine's loop), e.g. to append it to a file.
    """

    def __init__(
        self, policy: Policy, settings: Settings, on_trace: Callable[[Trace], None] | None = None
    ) -> None:
        self.policy = policy
        self.settings = settings
        self.on_trace = on_trace
        self.batcher = Batcher.for_policy(policy)
        self.rollouts_started = 0
        self.rollouts_finished = 0
        self.rollouts_submitted = 0
        self.turns_finished = 0
        self._slots: asyncio.Semaphore | None = None
        self._info: Mapping[str, Any] | None = None

    @property
    def policy_info(self) -> Mapping[str, Any]:
        """The policy's identity and settings (read once)."""
        if self._info is None:
            self._info = dict(self.policy.info)
        return self._info

    async def run_case(self, scenario: Scenario, task: Task) -> list[Trace]:
        """Roll out every sample of one case; the traces come back in sample order.

        Raises:
            InfrastructureError: The policy kept failing after the retries.
        """
        samples = range(self.settings.samples)
        self.rollouts_submitted += len(samples)
        jobs = [asyncio.ensure_future(self._sample(scenario, task, i)) for i in samples]
        try:
            return list(await asyncio.gather(*jobs))
        except BaseException:
            for job in jobs:
                job.cancel()
            raise

    async def _sample(self, scenario: Scenario, task: Task, sample: int) -> Trace:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings.concurrency)
        s = self.settings
        sampling = Sampling(s.temperature, s.max_tokens, sample_seed(s.seed, task.id, sample))
        async with self._slots:
            self.rollouts_started += 1
            trace = await self._rollout(scenario, task, sample, sampling)
        self.rollouts_finished += 1
        if self.on_trace is not None:
            self.on_trace(trace)
        return trace

    async def _rollout(self, scenario: Scenario, task: Task, sample: int, sampling: Sampling) -> Trace:
        """One sample's trace: the policy's rollout loop (an agent engine runs the agent instead)."""
        return await rollout(scenario, task, self.ask, sample=sample, sampling=sampling,
                             max_turns=self.settings.max_turns, policy_info=self.policy_info)

    async def ask(self, request: TurnRequest) -> AssistantTurn:
        """The policy's next turn, retried with exponential backoff when the serving side fails."""
        attempts = self.settings.retries + 1
        for attempt in range(attempts):
            try:
                turn = await self.batcher.ask(request)
            except RETRYABLE as exc:
                if attempt + 1 == attempts:
                    raise InfrastructureError(
                        f"policy {getattr(self.policy, 'name', '?')!r} failed {attempts} times on "
                        f"{request.rollout_id}: {type(exc).__name__}: {exc}"
                    ) from exc
                await asyncio.sleep(min(self.settings.backoff_s * 2**attempt, MAX_BACKOFF_S))
            else:
                self.turns_finished += 1
                return turn
        raise AssertionError("unreachable")
