"""Tasks and environments: what a scenario hands the rollout engine for one rollout."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
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

    @cached_property
    def digest(self) -> str:
        """sha256 over everything the task is (id, scenario, split, seed, tier, prompt, data as canonical JSON).

        Saved in every trace, so that rescoring can tell whether `Scenario.task(seed, split)` still rebuilds the
        task the trace was made from. The same in every process: mappings and sets are sorted.
        """
        fields = [self.id, self.scenario, self.split, self.seed, self.tier, self.prompt, canonical(self.data)]
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()


def canonical(value: Any) -> Any:
    """`value` as plain JSON data that is the same in every process: dataclasses as their fields, tuples as
    lists, sets sorted (mappings are sorted when dumped); anything else as its repr."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {_key(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((canonical(v) for v in value), key=_dumps)
    if value is None or isinstance(value, str | int | float):
        return value
    return repr(value)


def _key(value: Any) -> str:
    """A mapping key as a string (JSON objects have string keys)."""
    return value if isinstance(value, str) else _dumps(canonical(value))


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


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
