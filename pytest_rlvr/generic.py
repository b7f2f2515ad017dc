"""Checks every scenario can reuse, as factories that return Check objects.

The process checks are earned: a trace without any tool call fails them (and no_duplicate_write needs a
write that succeeded), so that a policy that does nothing scores 0 rather than collecting penalties it
avoided by not acting.

Each failed check says what went wrong with the values compared. The plugin registers this module for
pytest's assertion rewriting, so under pytest the messages also carry pytest's introspection.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from .checks import Check, Group, check
from .task import Task
from .trace import ToolCall, ToolResult, Trace

INVALID_STATUSES = frozenset({400, 405, 413, 422})


def _operation(call: ToolCall, result: ToolResult) -> str:
    return result.operation or call.name


def _describe(index: int, call: ToolCall, result: ToolResult, limit: int = 160) -> str:
    content = result.content if len(result.content) <= limit else result.content[:limit] + "..."
    error = f" {result.error}" if result.error else ""
    return f"call #{index} {call.name}({call.raw_arguments[:limit]}) -> {result.status}{error}: {content}"


def no_invented_tool(weight: float = 1.0, group: Group = "process", name: str = "no_invented_tool") -> Check:
    """The policy called only tools that exist (no result with error "unknown_tool")."""

    def no_invented_tool(trace: Trace, task: Task) -> None:
        assert trace.calls, "no tool call was made"
        invented = [c.name for c, r in trace.calls if r.error == "unknown_tool"]
        assert not invented, f"called tools that do not exist: {invented}"

    return check(group, weight, name)(no_invented_tool)


def no_invalid_call(weight: float = 1.0, group: Group = "process", name: str = "no_invalid_call") -> Check:
    """No call was rejected as invalid (a harness error, or API status 400, 413 or 422)."""

    def no_invalid_call(trace: Trace, task: Task) -> None:
        assert trace.calls, "no tool call was made"
        invalid = [
            _describe(i, c, r) for i, (c, r) in enumerate(trace.calls)
            if r.error is not None or r.status in INVALID_STATUSES
        ]
        assert not invalid, f"{len(invalid)} invalid call(s):\n" + "\n".join(invalid)

    return check(group, weight, name)(no_invalid_call)


def _request_key(call: ToolCall, result: ToolResult) -> str:
    request: Any = result.request if result.request is not None else (
        call.arguments if call.arguments is not None else call.raw_arguments
    )
    return json.dumps(request, sort_keys=True, default=str)


def no_duplicate_write(
    weight: float = 1.0, group: Group = "process", name: str = "no_duplicate_write"
) -> Check:
    """No write operation was sent twice with an identical request."""

    def no_duplicate_write(trace: Trace, task: Task) -> None:
        assert any(r.write and r.ok for r in trace.results), "no successful write"
        seen: dict[tuple[str, str], int] = {}
        duplicates = []
        for i, (c, r) in enumerate(trace.calls):
            if not r.write:
                continue
            key = (_operation(c, r), _request_key(c, r))
            if key in seen:
                duplicates.append(f"call #{i} repeats call #{seen[key]}: {key[0]} {key[1]}")
            else:
                seen[key] = i
        assert not duplicates, "duplicate writes:\n" + "\n".join(duplicates)

    return check(group, weight, name)(no_duplicate_write)


def reads_before_writes(
    dependencies: Mapping[str, Collection[str]],
    weight: float = 1.0,
    group: Group = "process",
    name: str = "reads_before_writes",
) -> Check:
    """Every successful call of a write operation follows a successful call of one of its reads.

    Args:
        dependencies: Write operation -> the read operations, any of which makes it informed, e.g.
            `{"editIssue": {"getIssue", "searchIssues"}}`. Operations are API operationIds (the result's
            `operation`, or the tool name when the environment records none).
    """
    needs = {write: frozenset(reads) for write, reads in dependencies.items()}

    def reads_before_writes(trace: Trace, task: Task) -> None:
        assert any(r.ok and _operation(c, r) in needs for c, r in trace.calls), \
            f"none of {sorted(needs)} succeeded"
        done: set[str] = set()
        uninformed = []
        for i, (c, r) in enumerate(trace.calls):
            operation = _operation(c, r)
            if r.ok and operation in needs and not needs[operation] & done:
                uninformed.append(f"call #{i} {operation} before any of {sorted(needs[operation])}")
            if r.ok:
                done.add(operation)
        assert not uninformed, "writes without their prerequisite reads:\n" + "\n".join(uninformed)

    return check(group, weight, name)(reads_before_writes)


def _diff_lines(actual: Any, expected: Any, path: str = "") -> list[str]:
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        lines = []
        for key in sorted(set(actual) | set(expected), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                lines.append(f"missing {where}: expected {expected[key]!r}")
            elif key not in expected:
                lines.append(f"unexpected {where}: {actual[key]!r}")
            else:
                lines.extend(_diff_lines(actual[key], expected[key], where))
        return lines
    if actual != expected:
        return [f"{path or 'state'}: got {actual!r}, expected {expected!r}"]
    return []


def state_matches(
    expected: Callable[[Task], Mapping[str, Any]],
    weight: float = 1.0,
    group: Group = "outcome",
    name: str = "state_matches",
) -> Check:
    """The final state diff of the world equals the expected diff.

    Args:
        expected: The expected diff of a task, e.g. `lambda task: task.data["expected_diff"]`.
    """

    def state_matches(trace: Trace, task: Task) -> None:
        want = expected(task)
        got = trace.state_diff
        assert got == want, "state diff differs from the expected diff:\n" + "\n".join(_diff_lines(got, want))

    return check(group, weight, name)(state_matches)
