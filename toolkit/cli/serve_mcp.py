"""`toolgym serve-mcp SOURCE`: serve any tool source (Python tools, another MCP server) as an MCP server."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from typing import Any

import anyio

from toolkit.errors import UserError
from toolkit.mcp_serve import SERVE_LIMITS, serve_http, serve_stdio
from toolkit.sources import parse_source
from toolkit.toolsets import CallLimits

EXAMPLE = """examples:
  toolgym serve-mcp py:tools.calculator                      # stdio, for an MCP client that starts it
  toolgym serve-mcp py:tools.calculator --transport http --port 8000
  toolgym serve-mcp "stdio:python -m mcp_server_time" --transport http --port 0   # bridge stdio -> HTTP

With --transport http the URL is printed on stderr once the port is bound (--port 0 picks a free one):
  serving py:tools.calculator at http://127.0.0.1:8000/mcp"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "serve-mcp",
        help="serve a tool source as an MCP server (stdio or streamable HTTP)",
        description=(
            "Serve the tools of SOURCE as an MCP server, publishing each tool's input and output schemas "
            "verbatim. Nothing but MCP messages is written to stdout in stdio mode."
        ),
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source", metavar="SOURCE", help="py:MODULE[:ATTR], stdio:COMMAND ARGS..., or an http(s) URL"
    )
    p.add_argument(
        "--transport", choices=("stdio", "http"), default="stdio", help="how clients connect (default: stdio)"
    )
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="HTTP port; 0 picks a free one (default: 8000)")
    p.add_argument("--path", default="/mcp", help="HTTP endpoint path (default: /mcp)")
    p.add_argument("--name", default="toolgym", help="server name announced to clients (default: toolgym)")
    p.add_argument(
        "--timeout",
        type=float,
        default=SERVE_LIMITS.timeout,
        help="seconds one tool call may run (default: %(default)s)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, got {args.port}")
    if args.timeout <= 0:
        raise UserError(f"--timeout must be positive, got {args.timeout}")
    toolset = parse_source(args.source).make()
    limits = CallLimits(timeout=args.timeout, max_result_chars=SERVE_LIMITS.max_result_chars)
    if args.transport == "stdio":
        anyio.run(partial(serve_stdio, toolset, name=args.name, limits=limits))
        return 0

    def ready(url: str) -> None:
        print(f"serving {args.source} at {url}", file=sys.stderr, flush=True)

    serve = partial(serve_http, toolset, args.host, args.port, args.path, name=args.name, limits=limits)
    anyio.run(partial(serve, on_ready=ready))
    return 0
