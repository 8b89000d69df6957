"""Run the tracker MCP server: ``python -m tools.tracker`` (stdio) or ``... --transport http --port 8765``."""

from __future__ import annotations

import argparse
import sys

from tools.tracker.server import build_server

EXAMPLE = """examples:
  python -m tools.tracker                                   # stdio, for "stdio:python -m tools.tracker"
  python -m tools.tracker --transport http --port 8765      # streamable HTTP at http://127.0.0.1:8765/mcp
  toolgym tools "stdio:python -m tools.tracker\""""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tools.tracker",
        description="Serve the ToolGym issue tracker (seeded, deterministic state per process) over MCP.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="stdio (default) or streamable HTTP")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    p.add_argument("--path", default="/mcp", help="HTTP endpoint path (default /mcp)")
    args = p.parse_args(argv)
    server = build_server()
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=args.host, port=args.port, streamable_http_path=args.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
