"""A scenario as a TRL environment, for TRL's built-in tool loop: one instance per rollout, its tools the
scenario's, `reset(**row)` a task.

`python -m train grpo` runs its rollouts through evaluation's own loop instead (`rollouts.py`); this is the
bare TRL baseline that `bench/grpo.py` measures the entry point against, on the same tools and worlds.
"""

from __future__ import annotations

from typing import Any

from pytest_rlvr import Scenario, Task, ToolResult

from .tools import method


class ScenarioEnvironment:
    """Base class; `environment_class(scenario)` adds the scenario's tools as methods (TRL treats every
    public method as a tool, so everything else here is private)."""

    scenario: Scenario

    def __init__(self) -> None:
        self.task: Task | None = None
        self.world: Any = None
        self.calls: list[tuple[str, dict[str, Any], ToolResult]] = []

    def reset(self, **row: Any) -> None:
        """Start the task of a dataset row (its `seed` and `split`); rebuilds all state."""
        self.task = self.scenario.task(int(row["seed"]), row.get("split", "train"))
        self.world = self.scenario.environment(self.task)
        self.calls = []

    def _call(self, name: str, arguments: dict[str, Any]) -> str:
        result = self.world.call(name, arguments)
        self.calls.append((name, arguments, result))
        return result.content  # the API's own body, as the model sees it in evaluation


def environment_class(scenario: Scenario) -> type[ScenarioEnvironment]:
    names = [t["function"]["name"] for t in scenario.tools]
    members: dict[str, Any] = {n: method(n) for n in names}
    members["scenario"] = scenario
    title = "".join(part.title() for part in scenario.name.split("_"))
    return type(f"{title}Environment", (ScenarioEnvironment,), members)
