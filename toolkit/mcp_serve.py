"""Serve any :class:`~toolkit.toolsets.Toolset` as an MCP server, over stdio or streamable HTTP.

The server is built on the SDK's low-level ``Server`` so that it publishes each :class:`ToolSpec`'s input and
output schemas verbatim and returns the toolset's structured results unchanged: a Python tool reached through
``toolgym serve-mcp`` reads back as the same spec with the same results. Non-deterministic tools carry
``_meta {"toolgym/deterministic": false}``; error kinds and truncation ride along in the result's ``_meta``.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    CallToolRequestParams,
    CallToolResult,
    ListToolsResult,
    PaginatedRequestParams,
    Tool,
)

from toolkit._mcp_convert import result_to_mcp, spec_to_tool
from toolkit.errors import UserError
from toolkit.specs import ToolResult
from toolkit.toolsets import CallLimits, Toolset

__all__ = ["SERVE_LIMITS", "build_mcp_server", "running_http_server", "serve_http", "serve_stdio"]

logger = logging.getLogger(__name__)

SERVER_VERSION = "0.1.0"

SERVE_LIMITS = CallLimits(timeout=300.0, max_result_chars=50_000_000)
"""Limits a served toolset runs under by default: loose, because every client applies its own limits
(ToolGym's :class:`~toolkit.mcp_tools.MCPToolset` caps with the same rule as a direct call, so results stay
identical)."""


@dataclass
class _Served:
    """The toolset behind a server.

    Managed (``build_mcp_server``): opened by the first session that needs it (the server's lifespan), closed
    by the last. Unmanaged (``serve_stdio``/``serve_http``/``running_http_server``): opened by the caller
    beforehand, in the caller's task, so a bad source fails before any client connects, as one clean error.
    """

    toolset: Toolset
    managed: bool = True
    tools: list[Tool] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    users: int = 0

    async def load(self) -> None:
        specs = await self.toolset.list_tools()
        self.tools = [spec_to_tool(s) for s in specs]
        self.names = {s.name for s in specs}

    async def enter(self) -> None:
        if self.users == 0 and self.managed:
            try:
                await self.toolset.open()
                await self.load()
            except BaseException:
                await self.toolset.close()
                raise
        self.users += 1

    async def exit(self) -> None:
        self.users -= 1
        if self.users == 0 and self.managed:
            await self.toolset.close()


def _build(
    toolset: Toolset,
    *,
    name: str,
    limits: CallLimits | None,
    instructions: str | None = None,
    managed: bool = True,
) -> tuple[Server[Any], _Served]:
    if not isinstance(toolset, Toolset):
        raise UserError(f"build_mcp_server() needs a Toolset, got {type(toolset).__name__}")
    limits = limits or SERVE_LIMITS
    served = _Served(toolset, managed=managed)

    @asynccontextmanager
    async def lifespan(_server: Server[Any]) -> AsyncIterator[_Served]:
        await served.enter()
        try:
            yield served
        finally:
            await served.exit()

    async def list_tools(ctx: Any, params: PaginatedRequestParams | None) -> ListToolsResult:
        return ListToolsResult(tools=served.tools)

    async def call_tool(ctx: Any, params: CallToolRequestParams) -> CallToolResult:
        if params.name not in served.names:
            # The spec's answer to an unknown name is a protocol error, not a tool result.
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {params.name}")
        try:
            result = await toolset.call_tool(params.name, params.arguments or {}, limits=limits)
        except Exception as exc:  # a toolset breaking its no-raise contract must not kill us
            logger.exception("toolset %r raised from call_tool(%r)", toolset.name, params.name)
            result = ToolResult.error("exception", f"{type(exc).__name__}: {exc}")
        return result_to_mcp(result)

    def input_schema(tool_name: str) -> dict[str, Any] | None:
        return next((t.input_schema for t in served.tools if t.name == tool_name), None)

    server: Server[Any] = Server(
        name,
        version=SERVER_VERSION,
        instructions=instructions,
        lifespan=lifespan,
        get_tool_input_schema=input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    return server, served


def build_mcp_server(
    toolset: Toolset,
    *,
    name: str = "toolgym",
    limits: CallLimits | None = None,
    instructions: str | None = None,
) -> Server[Any]:
    """An MCP server exposing every tool of ``toolset``.

    The toolset is opened when the first session starts (the server's lifespan) and closed after the last.
    ``limits`` apply to each call the server makes into the toolset (default :data:`SERVE_LIMITS`: loose,
    since clients apply their own limits on top).
    """
    return _build(toolset, name=name, limits=limits, instructions=instructions)[0]


async def serve_stdio(toolset: Toolset, *, name: str = "toolgym", limits: CallLimits | None = None) -> None:
    """Serve ``toolset`` over this process's stdin/stdout until the client closes stdin."""
    async with toolset:
        server, served = _build(toolset, name=name, limits=limits, managed=False)
        await served.load()
        async with stdio_server() as (read_stream, write_stream):
            try:
                await server.run(read_stream, write_stream, server.create_initialization_options())
            finally:
                # While serving, fd 1 points at stderr (the SDK diverts it); text that tools printed is still
                # in sys.stdout's buffer: flush it there now, not onto the wire once fd 1 is restored.
                sys.stdout.flush()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = exc.strerror or exc
        hint = "pick another --port (0 = any free one)"
        raise UserError(f"cannot listen on {host}:{port}: {reason}; {hint}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


@asynccontextmanager
async def _http_server(
    target: Toolset | Server[Any] | MCPServer,
    *,
    host: str,
    port: int,
    path: str,
    name: str,
    limits: CallLimits | None,
) -> AsyncIterator[tuple[Any, socket.socket, str]]:
    """A uvicorn server for ``target``, its socket (bound now: the URL is known before it serves), the URL."""
    import uvicorn

    if not path.startswith("/"):
        raise UserError(f"HTTP path must start with '/', got {path!r}")
    async with AsyncExitStack() as stack:
        if isinstance(target, Toolset):
            toolset = target
            await stack.enter_async_context(toolset)  # opened here, in the caller's task; see _Served
            target, served = _build(toolset, name=name, limits=limits, managed=False)
            await served.load()
        if not isinstance(target, Server | MCPServer):
            kind = type(target).__name__
            raise UserError(f"cannot serve {kind} over HTTP; pass a Toolset, Server or MCPServer")
        app = target.streamable_http_app(streamable_http_path=path, host=host)
        sock = stack.enter_context(_bind(host, port))
        config = uvicorn.Config(
            app, log_config=None, log_level="warning", lifespan="on", timeout_graceful_shutdown=5
        )
        url_host = f"[{host}]" if ":" in host else host
        yield uvicorn.Server(config), sock, f"http://{url_host}:{sock.getsockname()[1]}{path}"


@asynccontextmanager
async def running_http_server(
    target: Toolset | Server[Any] | MCPServer,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    path: str = "/mcp",
    name: str = "toolgym",
    limits: CallLimits | None = None,
) -> AsyncIterator[str]:
    """Run a streamable-HTTP MCP server in this event loop for the duration of the block; yields its URL.

    ``port=0`` picks a free port. The socket is bound before the server starts, so the URL is usable at once:
    early connections wait in the listen backlog rather than failing. A toolset is opened before the block
    starts and closed after it ends.
    """
    http = _http_server(target, host=host, port=port, path=path, name=name, limits=limits)
    async with http as (server, sock, url), anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        try:
            yield url
        finally:
            server.should_exit = True


async def serve_http(
    toolset: Toolset,
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
    *,
    name: str = "toolgym",
    limits: CallLimits | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``toolset`` over streamable HTTP until interrupted.

    The toolset is opened first (a bad source fails here, before anything listens); ``on_ready`` then gets the
    URL.
    """
    http = _http_server(toolset, host=host, port=port, path=path, name=name, limits=limits)
    async with http as (server, sock, url):
        if on_ready is not None:
            on_ready(url)
        await server.serve([sock])
