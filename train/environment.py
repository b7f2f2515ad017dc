"""A scenario as a TRL environment: one instance per rollout, its tools the scenario's, `reset(**row)` a task.

Every call goes to the same simulated world evaluation uses and is recorded, so that the reward is the
scenario's checks on a Trace rebuilt from the completion's messages and the world's answers.
"""

from __future__ import annotations

import json
from typing import Any

from pytest_rlvr import Reward, Scenario, Task, ToolCall, ToolResult, Trace, Turn, score

from .tools import method


class ScenarioEnvironment:
    """Base class; `environment_class(scenario)` adds the scenario's tools as methods (TRL treats every
    public method as a tool, so everything else here is private)."""

    scenario: Scenario

    def __init__(self) -> None:
        self.task: Task | None = None
        self.world: Any = None
        self.calls: list[tuple[str, dict[str, Any], ToolResult]] = []
        self._reward: tuple[int, Reward] | None = None

    def reset(self, **row: Any) -> None:
        """Start the task of a dataset row (its `seed` and `split`); rebuilds all state."""
        self.task = self.scenario.task(int(row["seed"]), row.get("split", "train"))
        self.world = self.scenario.environment(self.task)
        self.calls = []
        self._reward = None

    def _call(self, name: str, arguments: dict[str, Any]) -> str:
        result = self.world.call(name, arguments)
        self.calls.append((name, arguments, result))
        return result.content  # the API's own body, as the model sees it in evaluation

    def _trace(self, completion: list[dict[str, Any]]) -> Trace:
        """The rollout as a Trace: turns from the completion's assistant messages, results from the world."""
        assert self.task is not None, "reset() was not called"
        pending = list(self.calls)
        turns: list[Turn] = []
        tools = {t["function"]["name"] for t in self.scenario.tools}
        for message in completion if isinstance(completion, list) else []:
            if message.get("role") != "assistant":
                continue
            turn = Turn(text=str(message.get("content") or ""))
            for n, call in enumerate(message.get("tool_calls") or []):
                function = call.get("function", call)
                name, arguments = str(function.get("name", "")), function.get("arguments")
                raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
                parsed = arguments if isinstance(arguments, dict) else None
                turn.tool_calls.append(ToolCall(f"call_{len(turns)}_{n}", name, raw, parsed))
                if pending and pending[0][0] == name:
                    turn.results.append(pending.pop(0)[2])
                else:  # never reached the world: TRL refused it (unknown tool), as the simulator would
                    turn.results.append(self.world.call(name if name not in tools else "", arguments or {}))
            turns.append(turn)
        if pending and turns:  # results TRL rolled back (over the completion budget) still changed the world
            for name, arguments, result in pending:
                turns[-1].tool_calls.append(ToolCall(f"call_x_{len(turns[-1].tool_calls)}", name,
                                                     json.dumps(arguments), arguments))
                turns[-1].results.append(result)
        return Trace(self.task.id, self.scenario.name, 0, self.task.seed, {"backend": "trl"},
                     self.scenario.messages(self.task), turns, "answered", self.world.snapshot(),
                     self.world.state_diff())

    def _score(self, completion: list[dict[str, Any]]) -> Reward:
        """The scenario's checks on this rollout (computed once per completion)."""
        key = id(completion)
        if self._reward is None or self._reward[0] != key:
            assert self.task is not None
            self._reward = (key, score(self.scenario.checks, self._trace(completion), self.task))
        return self._reward[1]


def environment_class(scenario: Scenario) -> type[ScenarioEnvironment]:
    names = [t["function"]["name"] for t in scenario.tools]
    members: dict[str, Any] = {n: method(n) for n in names}
    members["scenario"] = scenario
    title = "".join(part.title() for part in scenario.name.split("_"))
    return type(f"{title}Environment", (ScenarioEnvironment,), members)
