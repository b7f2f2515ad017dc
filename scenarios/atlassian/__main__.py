"""`python -m scenarios.atlassian serve --seed N --port P [--host 127.0.0.1]`: serve a seeded site over HTTP."""

from __future__ import annotations

import argparse
import sys

from .server import SimulatorApp, make


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
    args = parser.parse_args(argv)
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
