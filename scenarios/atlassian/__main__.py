"""`python -m scenarios.atlassian serve --seed N --port P [--host 127.0.0.1]`: serve a seeded site over HTTP.

`python -m scenarios.atlassian mcp --seed N [--http PORT] [--tools a,b]`: the same site as an MCP server (stdio,
or streamable HTTP on loopback at /mcp), offering the tools models see.
"""

from __future__ import annotations

import argparse
import sys

from . import catalog
from .server import SimulatorApp, make


def port_number(text: str) -> int:
    """A TCP port, 0 (a free one) to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, not {text!r}")
    return int(text)


def tool_names(text: str) -> tuple[str, ...]:
    """Comma-separated tool names of the catalog."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in catalog.ALL_TOOLS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown tool(s) {', '.join(unknown) or '(none given)'}; the tools are: "
                                         f"{', '.join(catalog.ALL_TOOLS)}")
    return names


def serve_mcp(seed: int, tools: tuple[str, ...], port: int | None, host: str) -> int:
    """Serve a seeded world over MCP until the client goes (stdio) or Ctrl-C (HTTP)."""
    import asyncio

    from .mcp_server import serve_http, serve_stdio
    from .world import World

    world = World(seed, tools)
    try:
        if port is None:
            asyncio.run(serve_stdio(world))
        else:
            serve_http(world, host, port, ready=lambda url: print(f"Serving seed {seed} over MCP on {url}",
                                                                  flush=True))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"python -m scenarios.atlassian mcp: cannot serve on {host}:{port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scenarios.atlassian",
                                     description="The simulated Atlassian Cloud site.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a seeded site over HTTP (Jira v2/v3, Confluence v2 + v1 labels)")
    serve.add_argument("--seed", type=int, default=0, help="the site's seed (default 0)")
    serve.add_argument("--port", type=int, default=8080, help="port (0: a free one; default 8080)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--no-auth", action="store_true", help="answer requests without credentials too")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    mcp = commands.add_parser("mcp", help="serve a seeded site as an MCP server (stdio, or streamable HTTP)")
    mcp.add_argument("--seed", type=int, default=0, help="the site's seed (default 0)")
    mcp.add_argument("--http", type=port_number, metavar="PORT",
                     help="serve streamable HTTP on this port (0: a free one) at /mcp instead of stdio")
    mcp.add_argument("--host", default="127.0.0.1", help="address to bind with --http (default 127.0.0.1)")
    mcp.add_argument("--tools", type=tool_names, default=catalog.ALL_TOOLS,
                     help="comma-separated tool names to offer (default: all of them)")
    args = parser.parse_args(argv)
    if args.command == "mcp":
        return serve_mcp(args.seed, args.tools, args.http, args.host)
    server = make(SimulatorApp(args.seed, require_auth=not args.no_auth), args.host, args.port, quiet=not args.verbose)
    print(f"Serving seed {args.seed} on http://{args.host}:{server.server_port} "
          f"(POST /__sim/reset to restore the seeded state)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
