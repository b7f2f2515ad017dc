"""A model driving the site through its MCP endpoint: the template of a model-backed agent, to copy.

    RLVR_AGENT_MODEL=smollm2-135m pytest scenarios --rlvr-agent=scenarios.agents.model_mcp:agent --rlvr-tasks=2
    RLVR_AGENT_MODEL=gpt-4o-mini RLVR_AGENT_BASE_URL=https://api.openai.com/v1 OPENAI_API_KEY=... \\
        pytest scenarios --rlvr-agent=scenarios.agents.model_mcp:agent

Configured by the environment: `RLVR_AGENT_MODEL` (an alias, checkpoint directory or model id; default the
embedded smollm2-135m) and `RLVR_AGENT_BASE_URL` (an OpenAI-compatible server, asked with the `openai` client;
without it the model runs in-process with transformers, as `--rlvr-model` runs it). Sampling (temperature, max
tokens, seed) and the turn limit come from the run (`case.sampling`, `case.max_turns`).

The loop: list the MCP tools (the tools models see), ask the model, send each call it makes to the endpoint,
show it the answers, until it answers without a call or runs out of turns. A call whose arguments do not parse
is answered here and never reaches the site, so the trace cannot show it (the plugin's own model loop can).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from pytest_rlvr import AssistantTurn, ToolCall, TurnRequest
from pytest_rlvr.agent import AgentCase
from pytest_rlvr.rollout import assistant_message

_models: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


async def agent(case: AgentCase) -> str:
    model = _model(os.environ.get("RLVR_AGENT_MODEL", "smollm2-135m"), os.environ.get("RLVR_AGENT_BASE_URL", ""))
    async with streamable_http_client(case.mcp_url) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        tools = [{"type": "function", "function": {"name": t.name, "description": t.description or "",
                                                   "parameters": t.inputSchema}}
                 for t in (await session.list_tools()).tools]
        messages = [dict(m) for m in case.messages]
        text = ""
        for _ in range(case.max_turns):
            turn = await model(case, messages, tools)
            text = turn.text
            messages.append(assistant_message(turn))
            if not turn.tool_calls:
                break
            for call in turn.tool_calls:
                if call.arguments is None:  # never sent: the site cannot see it
                    answer = json.dumps({"error": f"the arguments are not a JSON object: {call.parse_error}"})
                else:
                    result = await session.call_tool(call.name, call.arguments)
                    answer = "".join(getattr(c, "text", "") for c in result.content)
                messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": answer})
        return text


def _model(name: str, base_url: str) -> Any:
    """`ask(case, messages, tools) -> AssistantTurn` for a model, made once per process."""
    with _lock:
        if (name, base_url) not in _models:
            _models[name, base_url] = _server(name, base_url) if base_url else _in_process(name)
        return _models[name, base_url]


def _in_process(name: str) -> Any:
    from policies.hf import TransformersPolicy
    from policies.registry import resolve

    policy = TransformersPolicy(resolve(name))

    async def ask(case: AgentCase, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> AssistantTurn:
        request = TurnRequest(f"{case.task.id}#{case.sample}", case.task, messages, tools, case.sampling)
        (turn,) = await policy.generate([request])
        return turn

    return ask


def _server(name: str, base_url: str) -> Any:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY", "none"))

    async def ask(case: AgentCase, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> AssistantTurn:
        s = case.sampling
        answer = await client.chat.completions.create(model=name, messages=messages, tools=tools,
                                                      temperature=s.temperature, max_tokens=s.max_tokens, seed=s.seed)
        message = answer.choices[0].message
        calls = [_call(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
        return AssistantTurn(message.content or "", calls)

    return ask


def _call(call_id: str, name: str, raw: str | None) -> ToolCall:
    try:
        arguments = json.loads(raw or "{}")
    except ValueError as exc:
        return ToolCall(call_id, name, raw or "", None, str(exc))
    if not isinstance(arguments, dict):
        return ToolCall(call_id, name, raw or "", None, "not a JSON object")
    return ToolCall(call_id, name, raw or "", arguments)
