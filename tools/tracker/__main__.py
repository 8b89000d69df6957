"""Run the tracker MCP server: ``python -m tools.tracker`` (stdio) or ``... --transport http --port 8765``."""

from __future__ import annotations

import argparse
import socket
import sys

from tools.tracker.server import build_server

EXAMPLE = """examples:
  python -m tools.tracker                                   # stdio, for "stdio:python -m tools.tracker"
  python -m tools.tracker --transport http --port 8765      # streamable HTTP at http://127.0.0.1:8765/mcp
  python -m tools.tracker --transport http --port 0         # any free port; the URL is printed on stderr
  python -m tools.tracker --seed 7                          # the state of TrackerEnvironment reset with seed 7
  toolgym tools "stdio:python -m tools.tracker"

With --transport http, once the port is bound this line is printed on stderr:
  tracker MCP server at http://127.0.0.1:8765/mcp"""


def _serve_http(host: str, port: int, path: str, seed: int) -> None:
    import anyio
    import uvicorn

    if not path.startswith("/"):
        raise SystemExit(f"--path must start with '/', got {path!r}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port (0 = any free)")
    sock.listen(128)
    sock.setblocking(False)
    # Binding before printing makes the URL usable at once: early clients wait in the backlog.
    url_host = f"[{host}]" if ":" in host else host
    print(f"tracker MCP server at http://{url_host}:{sock.getsockname()[1]}{path}", file=sys.stderr, flush=True)
    app = build_server(seed=seed).streamable_http_app(streamable_http_path=path, host=host)
    config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    try:
        anyio.run(uvicorn.Server(config).serve, [sock])
    finally:
        sock.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m tools.tracker",
        description="Serve the ToolGym issue tracker over MCP. Each process owns one freshly seeded, deterministic "
        "state shared by all its clients.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="stdio (default) or streamable HTTP")
    p.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765; 0 = any free port)")
    p.add_argument("--path", default="/mcp", help="HTTP endpoint path (default /mcp)")
    p.add_argument("--seed", type=int, default=0, help="state seed, as in TrackerEnvironment.reset(seed=...) (default 0)")
    args = p.parse_args(argv)
    if args.transport == "stdio":
        build_server(seed=args.seed).run("stdio")
    else:
        _serve_http(args.host, args.port, args.path, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
