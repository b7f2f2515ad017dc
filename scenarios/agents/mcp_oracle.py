"""The reference solutions as an MCP client of the site's MCP endpoint (the official `mcp` client).

    pytest scenarios --rlvr-agent=scenarios.agents.mcp_oracle:agent

It scores 1.0 on every eval task: each call keeps its tool name and arguments in the trace.
"""

from __future__ import annotations

from typing import Any

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from pytest_rlvr import ToolResult
from pytest_rlvr.agent import AgentCase

from .oracle import result, run_async


async def agent(case: AgentCase) -> str:
    async with streamable_http_client(case.mcp_url) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()

        async def send(name: str, arguments: dict[str, Any]) -> ToolResult:
            answer = await session.call_tool(name, arguments)
            return result(name, "".join(getattr(c, "text", "") for c in answer.content))

        return await run_async(case, send)
