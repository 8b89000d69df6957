"""An MCP server (high-level ``MCPServer``) whose tools crash, wedge, stall, fail and flood on request.

Run as ``python faulty_server.py`` for stdio; tests reach it in-process or over HTTP via :func:`build_server`.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import anyio
from mcp.server.mcpserver import Context, MCPServer


def build_server() -> MCPServer:
    server = MCPServer("faulty")
    gate: dict[str, object] = {"arrived": 0}

    @server.tool()
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @server.tool()
    def header(name: str, ctx: Context) -> str:
        """The value of one HTTP request header ('' when absent, or over stdio)."""
        return (ctx.headers or {}).get(name.lower(), "")

    @server.tool()
    def pid() -> int:
        """The server's process id (tells a restarted server from the old one)."""
        return os.getpid()

    @server.tool()
    async def sleep_ms(ms: int) -> str:
        """Wait ``ms`` milliseconds without blocking the server, then answer."""
        await anyio.sleep(ms / 1000)
        return f"slept {ms} ms"

    @server.tool()
    def chatter(kib: int) -> str:
        """Write ``kib`` KiB of log lines to stderr."""
        line = "faulty server: " + "." * 49 + "\n"  # 64 bytes
        sys.stderr.write(line * (kib * 16))
        sys.stderr.flush()
        return "logged"

    @server.tool()
    def crash() -> str:
        """Kill the server process in the middle of the call."""
        print("faulty server: connected with OPENAI_API_KEY=sk-live-0123456789abcdef", file=sys.stderr, flush=True)
        print("faulty server: about to die", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        return "unreachable"

    @server.tool()
    async def wedge() -> str:
        """Block the server's event loop for an hour: the server stops answering anything."""
        time.sleep(3600)  # noqa: ASYNC251 - blocking the loop is the point
        return "unreachable"

    @server.tool()
    async def stall() -> str:
        """Never answer, but stay responsive to cancellation."""
        await anyio.sleep_forever()
        return "unreachable"

    @server.tool()
    def huge(chars: int) -> str:
        """A text result of ``chars`` characters."""
        return "x" * chars

    @server.tool()
    def fail(message: str) -> str:
        """Raise an exception with this message."""
        raise ValueError(message)

    @server.tool()
    async def barrier(n: int) -> int:
        """Answer once ``n`` calls are waiting here at the same time (or after 10 s, with what arrived)."""
        if "event" not in gate:
            gate["event"] = anyio.Event()
        event = gate["event"]
        assert isinstance(event, anyio.Event)
        gate["arrived"] = arrived = int(gate["arrived"]) + 1  # type: ignore[call-overload]
        if arrived >= n:
            event.set()
        with anyio.move_on_after(10):
            await event.wait()
        return int(gate["arrived"])  # type: ignore[call-overload]

    @server.tool(meta={"toolgym/deterministic": False})
    def now() -> float:
        """The server's clock: a different answer every time."""
        return time.time()

    return server


if __name__ == "__main__":
    build_server().run("stdio")
