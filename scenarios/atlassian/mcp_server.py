"""The simulated site as an MCP server: the tools models see, with the same names and JSON schemas.

Built on the official `mcp` package (its low-level `Server`). Each tool call goes through `World.call`, so an
MCP client gets what a model gets: the text `{"status": ..., "body": ...}`, marked as an error when the call
was rejected or the API answered 4xx/5xx; invalid arguments are answered by the simulated API (recorded, as
a model's are), not refused by the protocol layer.

- `python -m scenarios.atlassian mcp --seed N`: stdio.
- `python -m scenarios.atlassian mcp --seed N --http PORT`: streamable HTTP on loopback, at `/mcp`.
- `McpHttp(world, lock)`: the same endpoint in a background thread (the plugin serves each agent's site so).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from . import catalog

if TYPE_CHECKING:
    from mcp.server.lowlevel import Server
    from mcp.types import Tool as McpTool

    from .world import World

SERVER_NAME = "atlassian-sim"
PATH = "/mcp"
START_TIMEOUT_S = 10.0


def tools(names: tuple[str, ...] | list[str]) -> list[McpTool]:
    """The MCP tools for catalog tool names: name, description and input schema exactly as models see them."""
    from mcp import types

    return [types.Tool(name=d["function"]["name"], description=d["function"]["description"],
                       inputSchema=d["function"]["parameters"]) for d in catalog.definitions(names)]


def build(world: World, lock: threading.Lock | None = None) -> Server:
    """An MCP server whose tools are `world.tools`, each call answered by `world.call` under `lock`."""
    import anyio
    from mcp import types
    from mcp.server.lowlevel import Server

    server: Server = Server(SERVER_NAME, instructions="A simulated Atlassian Cloud site (Jira and Confluence). "
                            "Every tool returns the HTTP status and the JSON body.")
    guard = lock if lock is not None else threading.Lock()
    listed = tools(world.tools)

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        return listed

    def call(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        with guard:
            result = world.call(name, arguments)
        return types.CallToolResult(content=[types.TextContent(type="text", text=result.content)],
                                    isError=not result.ok)

    @server.call_tool(validate_input=False)  # the simulated API judges the arguments, as it does a model's
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        return await anyio.to_thread.run_sync(call, name, arguments or {})

    return server


async def serve_stdio(world: World) -> None:
    """Serve `world` over stdio until the client closes the stream."""
    from mcp.server.stdio import stdio_server

    server = build(world)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def http_app(world: World, lock: threading.Lock | None = None) -> Any:
    """A Starlette app serving `world` over streamable HTTP at `/mcp` (stateless, JSON answers)."""
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from starlette.applications import Starlette
    from starlette.routing import Route

    manager = StreamableHTTPSessionManager(build(world, lock), stateless=True, json_response=True)

    class Endpoint:  # a class instance, so that Starlette hands it the raw ASGI call
        async def __call__(self, scope: Any, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
            await manager.handle_request(scope, receive, send)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with manager.run():
            yield

    return Starlette(routes=[Route(PATH, endpoint=Endpoint(), methods=["GET", "POST", "DELETE"])], lifespan=lifespan)


def _uvicorn(app: Any) -> Any:
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1,
                            ws="none")
    return uvicorn.Server(config)


def serve_http(world: World, host: str = "127.0.0.1", port: int = 0,
               ready: Callable[[str], None] | None = None) -> None:
    """Serve `world` over streamable HTTP in the foreground until interrupted; `ready(url)` once listening."""
    import asyncio

    sock = _bind(host, port)
    server = _uvicorn(http_app(world))

    async def main() -> None:
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if ready is not None and server.started:
            ready(_url(sock))
        await task

    asyncio.run(main())


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}{PATH}"


class McpHttp:
    """`world` served over streamable HTTP on loopback from a background thread: `url`, then `close()`.

    Raises:
        RuntimeError: The server did not start within `START_TIMEOUT_S`.
    """

    def __init__(self, world: World, lock: threading.Lock | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        import asyncio

        self._sock = _bind(host, port)
        self.url = _url(self._sock)
        self._server = _uvicorn(http_app(world, lock))
        self._failed: BaseException | None = None

        def run() -> None:
            try:
                asyncio.run(self._server.serve(sockets=[self._sock]))
            except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
                self._failed = exc

        self._thread = threading.Thread(target=run, name="atlassian-sim-mcp", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if self._failed is not None or not self._thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the MCP server did not start: {self._failed or 'no answer in time'}")
            time.sleep(0.005)

    def close(self) -> None:
        """Stop serving (open requests get a second to finish) and release the port."""
        self._server.should_exit = True
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._sock.close()
