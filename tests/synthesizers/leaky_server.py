"""A stdio MCP server for the redaction tests: one tool that works and one that kills the server mid-call, so a
run over it yields both records and failure lines."""

from __future__ import annotations

import os

from mcp.server.mcpserver import MCPServer

server = MCPServer("leaky")


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def crash() -> str:
    """Kill the server process in the middle of the call."""
    os._exit(3)


if __name__ == "__main__":
    server.run("stdio")
