"""An event loop on a background thread that runs the engine while the tests run on the main thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .engine import Engine
from .scenario import Scenario
from .task import Task
from .trace import Trace

T = TypeVar("T")


class BackgroundEngine:
    """Owns a thread, its event loop and an Engine; cases are submitted from any thread.

    Each case is submitted once (keyed by scenario name and task id); its future completes when all of
    its samples are done, so a test waits for its own case only.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.loop = asyncio.new_event_loop()
        self.cases: dict[tuple[str, str], concurrent.futures.Future[list[Trace]]] = {}
        self._thread = threading.Thread(target=self._run, name="pytest-rlvr-engine", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, scenario: Scenario, task: Task) -> concurrent.futures.Future[list[Trace]]:
        """Start the rollouts of a case (once); returns the future of its traces."""
        key = (scenario.name, task.id)
        future = self.cases.get(key)
        if future is None:
            future = self._call(self.engine.run_case(scenario, task))
            self.cases[key] = future
        return future

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self, timeout: float = 30.0) -> None:
        """Cancel what is still running, close the policy, stop the loop and join the thread.

        The policy is closed as soon as the rollouts are cancelled, without waiting for a generation under
        way (an in-process model stops generating when closed); a rollout that ignores cancellation is left
        to the daemon thread after `timeout` seconds.
        """
        if not self._thread.is_alive():
            return
        for future in self.cases.values():
            future.cancel()
        try:
            self._call(self._shutdown(timeout)).result(timeout)
        except TimeoutError:
            pass
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self.loop.close()

    async def _shutdown(self, timeout: float) -> None:
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:
            task.cancel()
        await self.engine.policy.close()
        if pending:
            await asyncio.wait(pending, timeout=timeout)
