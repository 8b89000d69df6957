"""The tracker as a real MCP server (MCP SDK ``MCPServer``), over stdio or streamable HTTP.

``build_server(service)`` registers the tool methods of a :class:`~tools.tracker.tools.TrackerService`, so the
server and the in-process environment run one implementation. Each server process owns one seeded service: every
client of that process shares its state, and a fresh process starts from the same seed.

The methods are synchronous, and the SDK runs synchronous tools on worker threads, where two clients' calls could
interleave inside a read-modify-write. Each is therefore registered as a coroutine with the same signature: the tool
bodies never await, so on the event loop every call runs whole, one after another. A refusal is returned as an
error result carrying the tool's own message (the SDK would prefix it with ``Error executing tool NAME:``), so a
call fails with the same text in-process and over MCP, and recorded trajectories replay against either.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations

from tools.tracker.tools import TOOL_NAMES, TrackerError, TrackerService

__all__ = ["build_server", "SERVER_NAME", "INSTRUCTIONS"]

SERVER_NAME = "toolgym-tracker"
INSTRUCTIONS = (
    "An issue tracker with projects WEB, API and OPS. Look issues up with search_issues or get_issue before changing "
    "them; assign only project members (list_projects shows them); statuses move todo -> in_progress -> in_review "
    "-> done."
)
_READ_ONLY = {"list_projects", "search_issues", "get_issue"}


def build_server(service: TrackerService | None = None, *, seed: int = 0) -> MCPServer:
    """An ``MCPServer`` whose tools act on ``service`` (when omitted: a fresh one seeded with ``seed``)."""
    service = service if service is not None else TrackerService(seed)
    server = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS, version="1.0.0", log_level="WARNING")
    for name in TOOL_NAMES:
        read_only = name in _READ_ONLY
        method = getattr(service, name)
        server.add_tool(
            _on_the_event_loop(method),
            name=name,
            description=inspect.cleandoc(method.__doc__ or ""),
            annotations=ToolAnnotations(readOnlyHint=read_only, destructiveHint=False, idempotentHint=read_only),
            structured_output=True,
        )
    return server


def _on_the_event_loop(method: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """``method`` as a coroutine function with the same (resolved) signature, name and docstring."""

    async def call(**kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except TrackerError as exc:
            return CallToolResult(content=[TextContent(type="text", text=str(exc))], is_error=True)

    call.__signature__ = inspect.signature(method, eval_str=True)  # type: ignore[attr-defined]
    call.__name__ = method.__name__
    call.__qualname__ = method.__qualname__
    call.__doc__ = method.__doc__
    return call
