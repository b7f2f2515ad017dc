"""The scenarios' reference scripts as agents: the script decides the calls, the agent delivers them."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from pytest_rlvr import ToolResult
from pytest_rlvr.agent import AgentCase

Send = Callable[[str, dict[str, Any]], ToolResult]
"""Delivers one tool call (name, arguments) and returns what the site answered."""


def script(case: AgentCase) -> Generator[Any, list[ToolResult], None]:
    """The oracle script of the case's scenario, started on its task (the answer key a real agent lacks)."""
    from scenarios import SCENARIOS

    return SCENARIOS[case.scenario].scripts["oracle"](case.task)


def run(case: AgentCase, send: Send) -> str:
    """Play the script: each turn's calls are sent one after another; the final text is returned."""
    steps = script(case)
    results: list[ToolResult] | None = None
    while True:
        try:
            turn = steps.send(results) if results is not None else next(steps)
        except StopIteration:
            return ""
        if isinstance(turn, str):
            return turn
        results = [send(name, dict(arguments)) for name, arguments in turn]


async def run_async(case: AgentCase, send: Callable[[str, dict[str, Any]], Awaitable[ToolResult]]) -> str:
    """`run` for an asynchronous `send`."""
    steps = script(case)
    results: list[ToolResult] | None = None
    while True:
        try:
            turn = steps.send(results) if results is not None else next(steps)
        except StopIteration:
            return ""
        if isinstance(turn, str):
            return turn
        results = [await send(name, dict(arguments)) for name, arguments in turn]


def result(name: str, text: str) -> ToolResult:
    """A tool result from the text a tool answers, `{"status": ..., "body": ...}`."""
    try:
        answer = json.loads(text)
    except ValueError:
        answer = {"status": 0, "body": text}
    status = answer.get("status", 0) if isinstance(answer, dict) else 0
    body = answer.get("body") if isinstance(answer, dict) else answer
    return ToolResult(call_id="", name=name, status=status, body=body, content=text)
