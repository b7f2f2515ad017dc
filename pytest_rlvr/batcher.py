"""Dynamic batching: the rollouts that wait for the policy at the same moment share one `generate` call."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from .policy import AssistantTurn, Policy, TurnRequest


@dataclass
class _Waiting:
    request: TurnRequest
    answer: asyncio.Future[AssistantTurn]


class Batcher:
    """Gathers waiting requests, hands them to the policy in one call, and gives each rollout its answer.

    While `max_concurrent` calls are running, new requests accumulate and form the next batch, the way
    an in-process model batches dynamically. Must be used from a single event loop.

    Args:
        policy: The policy to call.
        max_batch: The most requests in one call (None: no bound).
        max_concurrent: The most `generate` calls running at once.
    """

    def __init__(self, policy: Policy, max_batch: int | None = None, max_concurrent: int = 1) -> None:
        if max_batch is not None and max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be at least 1, not {max_concurrent}")
        self.policy = policy
        self.max_batch = max_batch
        self.max_concurrent = max_concurrent
        self.calls = 0
        self.batch_sizes: list[int] = []
        self._waiting: deque[_Waiting] = deque()
        self._running = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    def for_policy(cls, policy: Policy) -> Batcher:
        """A batcher set up from the policy's optional `max_batch_size` and `max_concurrent_batches`."""
        max_batch = getattr(policy, "max_batch_size", None)
        return cls(policy, max_batch, getattr(policy, "max_concurrent_batches", 1))

    async def ask(self, request: TurnRequest) -> AssistantTurn:
        """The policy's answer to one request, generated in a batch with the others waiting now."""
        answer: asyncio.Future[AssistantTurn] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(request, answer))
        self._schedule()
        return await answer

    def _schedule(self) -> None:
        # Dispatch on the next loop iteration, so that every rollout made ready in this one joins the batch.
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._dispatch)

    def _dispatch(self) -> None:
        self._scheduled = False
        while self._waiting and self._running < self.max_concurrent:
            batch: list[_Waiting] = []
            while self._waiting and (self.max_batch is None or len(batch) < self.max_batch):
                waiting = self._waiting.popleft()
                if not waiting.answer.done():  # a cancelled rollout leaves a done future behind
                    batch.append(waiting)
            if not batch:
                break
            self._running += 1
            task = asyncio.get_running_loop().create_task(self._generate(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _generate(self, batch: list[_Waiting]) -> None:
        self.calls += 1
        self.batch_sizes.append(len(batch))
        try:
            answers = await self.policy.generate([w.request for w in batch])
            if len(answers) != len(batch):
                raise RuntimeError(
                    f"policy {getattr(self.policy, 'name', self.policy)!r} answered {len(answers)} "
                    f"turns to {len(batch)} requests"
                )
        except asyncio.CancelledError:
            for w in batch:
                w.answer.cancel()
            raise
        except Exception as exc:  # every rollout of the batch decides: retry, or fail its case
            for w in batch:
                if not w.answer.done():
                    w.answer.set_exception(exc)
        else:
            for w, turn in zip(batch, answers, strict=True):
                if not w.answer.done():
                    w.answer.set_result(turn)
        finally:
            self._running -= 1
            self._schedule()
