"""Tasks, environments and scenarios: what the rollout engine needs from a scenario package."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .checks import Check
from .trace import ToolResult

SPLITS = ("train", "eval")


@dataclass(frozen=True)
class Task:
    """One seeded task. `id` is stable across runs and is the pytest id and the key of saved results."""

    id: str
    scenario: str
    split: str
    seed: int
    tier: str
    prompt: str
    data: Mapping[str, Any] = field(default_factory=dict)


class Environment(Protocol):
    """A fresh world for one rollout."""

    def call(self, name: str, arguments: str | Mapping[str, Any]) -> ToolResult:
        """Execute one tool call (call_id is filled in by the caller); never raises on model input."""

    def snapshot(self) -> dict[str, Any]:
        """The world's state as plain JSON data."""

    def state_diff(self) -> dict[str, Any]:
        """What changed since the environment was created."""


Call = tuple[str, dict[str, Any]]
"""A scripted tool call: (tool name, arguments)."""

Script = Callable[[Task], Generator["list[Call] | str", "list[ToolResult]", None]]
"""A scripted policy for one task: yields a turn (tool calls, or a final answer), receives its results."""


class Scenario(ABC):
    """A family of tasks with the tools offered, the system prompt, the checks and scripted policies."""

    name: str
    system_prompt: str
    tools: Sequence[Mapping[str, Any]]  # OpenAI-style tool definitions, exactly what the model sees
    checks: Sequence[Check]
    max_turns: int = 12
    threshold: float = 1.0
    scripts: Mapping[str, Script] = {}

    @abstractmethod
    def tasks(self, split: str, count: int | None = None, start: int = 0) -> list[Task]:
        """Tasks of a split: eval has a fixed set (all of it when count is None); train is unlimited."""

    @abstractmethod
    def environment(self, task: Task) -> Environment:
        """A fresh, deterministic world for one rollout of `task`."""

    def messages(self, task: Task) -> list[dict[str, Any]]:
        """The conversation the policy starts from."""
        return [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": task.prompt}]
