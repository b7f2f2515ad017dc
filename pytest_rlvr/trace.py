"""The record of one rollout: every message, turn, tool call and result, and the world's final state.

Plain dataclasses with a JSON round-trip; no pytest, torch or trl imports.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1


@dataclass
class ToolCall:
    """A tool call as the policy emitted it.

    `raw_arguments` is the text the model produced; `arguments` is its parse (None when it did not parse,
    with the reason in `parse_error`).
    """

    id: str
    name: str
    raw_arguments: str
    arguments: dict[str, Any] | None = None
    parse_error: str | None = None


@dataclass
class ToolResult:
    """What the environment answered to one tool call.

    `status` is the HTTP status of the simulated API; `content` is the text shown to the model; `error`
    names a harness-level rejection ("unknown_tool", "invalid_json", "invalid_arguments") or is None;
    `write` tells whether the call was a state-changing operation; `operation` is the API operationId.
    """

    call_id: str
    name: str
    status: int
    body: Any
    content: str
    error: str | None = None
    write: bool = False
    operation: str | None = None
    request: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300


@dataclass
class Turn:
    """One assistant turn and the results of its tool calls."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0


@dataclass
class Trace:
    """A whole rollout of one task by one policy.

    `seed` is the sample's seed; `task_split`, `task_seed` and `task_digest` (`Task.digest`) say which task it
    was, so that the task can be rebuilt and the trace scored again (None in traces saved before they existed).
    """

    task_id: str
    scenario: str
    sample: int
    seed: int
    policy: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    stop_reason: str = ""
    final_state: dict[str, Any] = field(default_factory=dict)
    state_diff: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0
    task_split: str | None = None
    task_seed: int | None = None
    task_digest: str | None = None
    schema_version: int = SCHEMA_VERSION

    def __repr__(self) -> str:  # short: pytest's assertion introspection shows it inside check messages
        return f"Trace({self.task_id}#{self.sample}, {len(self.turns)} turns)"

    # -- views used by checks ------------------------------------------------------------------------------
    @property
    def calls(self) -> list[tuple[ToolCall, ToolResult]]:
        """Every tool call with its result, in order."""
        return [pair for turn in self.turns for pair in zip(turn.tool_calls, turn.results, strict=True)]

    @property
    def results(self) -> list[ToolResult]:
        return [result for turn in self.turns for result in turn.results]

    @property
    def writes(self) -> list[tuple[ToolCall, ToolResult]]:
        """Calls that reached a state-changing operation (accepted or rejected by the API)."""
        return [(c, r) for c, r in self.calls if r.write]

    @property
    def final_text(self) -> str:
        return self.turns[-1].text if self.turns else ""

    @property
    def tokens(self) -> tuple[int, int]:
        return sum(t.tokens_in for t in self.turns), sum(t.tokens_out for t in self.turns)

    # -- JSON ------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """A trace from its JSON data.

        Raises:
            ValueError: Another schema version.
            TypeError, KeyError: Data that is not a trace.
        """
        if not isinstance(data, dict):
            raise TypeError(f"a trace is a JSON object, not {type(data).__name__}")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"trace schema version {version!r} is not {SCHEMA_VERSION}")
        turns = [
            Turn(
                **{
                    **t,
                    "tool_calls": [ToolCall(**c) for c in t["tool_calls"]],
                    "results": [ToolResult(**r) for r in t["results"]],
                }
            )
            for t in data["turns"]
        ]
        return cls(**{**data, "turns": turns})

    @classmethod
    def from_json(cls, text: str) -> Trace:
        return cls.from_dict(json.loads(text))
