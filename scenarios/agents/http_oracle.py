"""The reference solutions over real HTTP: each oracle tool call sent as its REST request with `requests`.

    pytest scenarios --rlvr-agent=scenarios.agents.http_oracle:agent

It scores 1.0 on every eval task, as the in-process oracle does: the trace the plugin rebuilds from the site's
request log holds everything the checks read.
"""

from __future__ import annotations

from typing import Any

import requests

from pytest_rlvr import ToolResult
from pytest_rlvr.agent import AgentCase

from ..atlassian import catalog
from .oracle import run


def agent(case: AgentCase) -> str:
    with requests.Session() as http:
        http.auth = case.auth
        http.headers["Accept"] = "application/json"

        def send(name: str, arguments: dict[str, Any]) -> ToolResult:
            tool = catalog.tool(name)
            path, query, body = tool.request(arguments)
            answer = http.request(tool.operation.method, case.base_url + path, params=query,
                                  json=body, timeout=case.timeout)
            return ToolResult(call_id="", name=name, status=answer.status_code,
                              body=answer.json() if answer.content else None, content=answer.text,
                              operation=tool.operation.id, write=tool.operation.write)

        return run(case, send)
