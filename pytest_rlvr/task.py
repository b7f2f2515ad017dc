"""Tasks and environments: what a scenario hands the rollout engine for one rollout."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .trace import ToolResult

T = TypeVar("T")

SPLITS = ("train", "eval")


@dataclass(frozen=True)
class Task:
    """One seeded task. `id` is stable across runs and is the pytest id and the key of saved results.

    `data` is what the scenario's checks need: a frozen dataclass the scenario declares (read it typed with
    `data_as`), or a mapping for small scenarios.
    """

    id: str
    scenario: str
    split: str
    seed: int
    tier: str
    prompt: str
    data: Any = field(default_factory=dict)

    def data_as(self, kind: type[T]) -> T:
        """The task's data as the scenario's declared type.

        Raises:
            TypeError: The data is of another type (a task of another scenario).
        """
        if not isinstance(self.data, kind):
            raise TypeError(f"task {self.id} carries {type(self.data).__name__}, not {kind.__name__}")
        return self.data


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
