"""A World served to an agent for one rollout, and its request log read back as tool calls.

`ServedWorld(world)` serves the world's REST APIs on a free loopback port (the simulator's own WSGI server,
control routes off) and, on the first ask, an MCP endpoint for the same world. `calls()` turns every request
that reached the world into the (ToolCall, ToolResult) pair the models' traces hold:

- a call through the MCP endpoint keeps its tool name and arguments as sent, rejected ones included, and
  gets exactly the result `World.call` gives a model;
- a REST request is named by its operation (operationId: the tool names models see are operationIds), with
  the path parameters, the query and the top-level body properties as arguments, named as the tools name
  them (`space-id` is `space_id`); a body that is not an object is the argument `body`. The request and the
  answer are the ones the site's v3 core saw and gave: a Jira v2 request shows its documents as ADF, and
  absolute URLs name the simulated host rather than the loopback one. A request that matches no operation is
  named `METHOD /path` and marked `unknown_tool`, like a tool that does not exist.

What never reached the world is not in the log: answers the server gives itself (`serverInfo`, `field`, a
request without credentials or with a body that is not UTF-8) and anything the agent's own client refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pytest_rlvr.trace import ToolCall, ToolResult

from . import catalog
from .openapi import spec
from .server import SimulatorApp, make
from .world import render

if TYPE_CHECKING:
    from .mcp_server import McpHttp
    from .world import World

API_TOKEN = "simulated-api-token"
"""The token every agent gets: the site accepts any Basic or Bearer credentials."""
POLL_S = 0.05


class ServedWorld:
    """One world on loopback: `base_url`, `urls`, `username` and `password`, `mcp_url()`, then `calls()`."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.app = SimulatorApp(world=world, control=False)
        self._server = make(self.app)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self.urls = {"jira": self.base_url, "jira_v3": f"{self.base_url}/rest/api/3",
                     "jira_v2": f"{self.base_url}/rest/api/2", "confluence": f"{self.base_url}/wiki",
                     "confluence_v2": f"{self.base_url}/wiki/api/v2"}
        myself = world.site.users.get(world.site.myself)
        self.username = myself.email if myself is not None else "agent@example.com"  # acts as the site's own user
        self.password = API_TOKEN
        self._mcp: McpHttp | None = None
        self._guard = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": POLL_S},
                                        name="atlassian-sim-agent", daemon=True)
        self._thread.start()

    def mcp_url(self) -> str:
        """The streamable-HTTP MCP endpoint of this world, started on the first ask.

        Raises:
            RuntimeError: The site is closed, or the MCP server did not start.
        """
        with self._guard:
            if self._closed:
                raise RuntimeError("the site is closed")
            if self._mcp is None:
                from .mcp_server import McpHttp

                self._mcp = McpHttp(self.world, self.app.lock)
            return self._mcp.url

    def close(self) -> None:
        """Stop serving: later requests are refused, so the world no longer changes."""
        with self._guard:
            if self._closed:
                return
            self._closed = True
            mcp, self._mcp = self._mcp, None
        self._server.shutdown()
        self._server.server_close()
        if mcp is not None:
            mcp.close()
        self._thread.join(timeout=5)

    def calls(self) -> list[tuple[ToolCall, ToolResult]]:
        """Every request that reached the world, in the order it was answered, as a tool call and its result."""
        with self.app.lock:
            return [as_call(entry, f"request_{i}") for i, entry in enumerate(self.world.log)]


def as_call(entry: Mapping[str, Any], call_id: str) -> tuple[ToolCall, ToolResult]:
    """One entry of `World.log` as the tool call it stands for and its result."""
    status, body, operation = entry.get("status", 0), entry.get("response"), entry.get("operation")
    op = spec().operations.get(operation) if operation else None
    write = bool(op is not None and op.write)
    content = render(status, body)
    if "tool" in entry:  # through the tool layer (MCP): the call as sent, and what World.call answered
        name, raw = str(entry["tool"]), str(entry.get("arguments", ""))
        arguments, parse_error = parse_arguments(raw)
        error = entry.get("error")
        return (ToolCall(call_id, name, raw, arguments, parse_error),
                ToolResult(call_id, name, status, body, content, error, write, operation,
                           None if error else {"raw": raw[:2000]}))
    method, path = entry.get("method"), entry.get("path")
    request = {"method": method, "path": path, "query": entry.get("query") or {}, "body": entry.get("body")}
    if op is None:
        name = f"{method} {path}"
        arguments = request_arguments(None, entry)
        call = ToolCall(call_id, name, _dumps(arguments), arguments)
        return call, ToolResult(call_id, name, status, body, content, "unknown_tool", False, None, request)
    if "raw_body" in entry:  # a body that is not JSON: the call did not parse, as a model's malformed call
        raw = str(entry["raw_body"])
        call = ToolCall(call_id, op.id, raw, None, "the request body is not valid JSON")
        return call, ToolResult(call_id, op.id, status, body, content, None, write, op.id, {**request, "body": raw})
    arguments = request_arguments(op.id, entry)
    return (ToolCall(call_id, op.id, _dumps(arguments), arguments),
            ToolResult(call_id, op.id, status, body, content, None, write, op.id, request))


def request_arguments(operation: str | None, entry: Mapping[str, Any]) -> dict[str, Any]:
    """A REST request's path parameters, query and body as tool arguments, named as the tools name them."""
    arguments: dict[str, Any] = {}
    for part in ("params", "query"):
        for key, value in (entry.get(part) or {}).items():
            arguments[str(key).replace("-", "_")] = value
    body = entry.get("body")
    if body is None:
        return arguments
    if isinstance(body, dict) and not _whole_body(operation):
        arguments.update(body)
    else:
        arguments["body"] = body
    return arguments


def _whole_body(operation: str | None) -> bool:
    """Whether the tool of an operation takes its body whole, as the argument `body` (an array body)."""
    if operation not in catalog.OFFERED:
        return False
    return any(a.location == "wholebody" for a in catalog.tool(operation).arguments)


def parse_arguments(raw: str) -> tuple[dict[str, Any] | None, str | None]:
    """Tool arguments from their text: (the object, None), or (None, why they did not parse)."""
    try:
        value = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError) as exc:
        return None, f"invalid JSON: {exc}"
    if not isinstance(value, dict):
        return None, f"the arguments are a JSON {type(value).__name__}, not an object"
    return value, None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
