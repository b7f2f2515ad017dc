"""One multi-turn rollout: the policy answers, its tool calls go to a fresh environment, until it stops.

The same loop serves every policy (scripted, in-process model, server). No pytest, torch or trl imports.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .policy import AssistantTurn, Sampling, TurnRequest
from .scenario import Scenario
from .task import Task
from .trace import ToolCall, ToolResult, Trace, Turn

Ask = Callable[[TurnRequest], Awaitable[AssistantTurn]]
"""How a rollout obtains its next assistant turn (the engine batches and retries behind it)."""

STOP_ANSWERED = "answered"
STOP_MAX_TURNS = "max_turns"


def assistant_message(turn: AssistantTurn) -> dict[str, Any]:
    """The OpenAI-style assistant message for a turn; tool arguments stay the raw text the model wrote."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.text}
    if turn.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.raw_arguments}}
            for c in turn.tool_calls
        ]
    return message


def tool_message(result: ToolResult) -> dict[str, Any]:
    """The tool message that shows a result to the policy."""
    return {"role": "tool", "tool_call_id": result.call_id, "name": result.name, "content": result.content}


def _call_arguments(call: ToolCall) -> str | Mapping[str, Any]:
    """What the environment receives: the parsed arguments, or the raw text when they did not parse."""
    if call.parse_error is not None or call.arguments is None:
        return call.raw_arguments
    return call.arguments


def _with_ids(calls: list[ToolCall], turn_index: int) -> list[ToolCall]:
    """Give every call an id (some policies leave them empty); ids must be unique within a rollout."""
    for i, call in enumerate(calls):
        if not call.id:
            call.id = f"call_{turn_index}_{i}"
    return calls


async def rollout(
    scenario: Scenario,
    task: Task,
    ask: Ask,
    *,
    sample: int = 0,
    sampling: Sampling | None = None,
    max_turns: int | None = None,
    policy_info: Mapping[str, Any] | None = None,
) -> Trace:
    """Roll out one sample of `task` and return its trace.

    Args:
        scenario: Supplies the first messages, the tools, a fresh environment and the default turn limit.
        task: The task to solve.
        ask: Returns the policy's next turn for a request.
        sample: The sample index within the case.
        sampling: Sampling settings, with this sample's seed.
        max_turns: The most assistant turns; the scenario's `max_turns` when None.
        policy_info: The policy's identity and settings, recorded in the trace.

    Returns:
        The trace, with the environment's final state and state diff. A tool call whose arguments did not
        parse is still sent to the environment, with its raw text, so that the API's error is recorded.
    """
    sampling = sampling or Sampling()
    limit = max_turns if max_turns is not None else scenario.max_turns
    started = time.perf_counter()
    env = scenario.environment(task)
    messages = [dict(m) for m in scenario.messages(task)]
    trace = Trace(
        task_id=task.id,
        scenario=scenario.name,
        sample=sample,
        seed=sampling.seed,
        policy={**(policy_info or {}), "sampling": {"temperature": sampling.temperature,
                                                    "max_tokens": sampling.max_tokens}},
        messages=messages,
        task_split=task.split,
        task_seed=task.seed,
        task_digest=task.digest,
    )
    results: list[ToolResult] = []
    trace.stop_reason = STOP_MAX_TURNS
    for index in range(limit):
        request = TurnRequest(
            rollout_id=f"{task.id}#{sample}",
            task=task,
            messages=list(messages),
            tools=scenario.tools,
            sampling=sampling,
            results=results,
        )
        asked = time.perf_counter()
        answer = await ask(request)
        turn = Turn(
            text=answer.text,
            tool_calls=_with_ids(list(answer.tool_calls), index),
            tokens_in=answer.tokens_in,
            tokens_out=answer.tokens_out,
            latency_s=time.perf_counter() - asked,
        )
        trace.turns.append(turn)
        messages.append(assistant_message(AssistantTurn(turn.text, turn.tool_calls)))
        if not turn.tool_calls:
            trace.stop_reason = STOP_ANSWERED
            break
        results = []
        for call in turn.tool_calls:
            result = env.call(call.name, _call_arguments(call))
            result.call_id = call.id
            results.append(result)
            messages.append(tool_message(result))
        turn.results = results
    trace.final_state = env.snapshot()
    trace.state_diff = env.state_diff()
    trace.wall_s = time.perf_counter() - started
    return trace
