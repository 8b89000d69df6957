"""MCP servers as tool sources: :class:`MCPToolset` over stdio, streamable HTTP, or an in-process server.

Everything a server does wrong becomes data, not an exception or a hang: a tool error is a ``tool_error``
result, a server that dies mid-call is a ``crash`` result, one that does not answer in time is a ``timeout``
result, and the next call runs on a freshly started server (stdio) or a fresh session (HTTP, in-process). Many
calls may be in flight at once over one session. Tool listings are untrusted: schemas are bounded and checked
when the toolset opens, and a bad one is a :class:`~toolkit.errors.UserError` naming the tool.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import (
    CONNECTION_CLOSED,
    INVALID_PARAMS,
    INVALID_REQUEST,
    REQUEST_TIMEOUT,
    CallToolRequest,
    CallToolRequestParams,
    CallToolResult,
)
from pydantic import ValidationError

from toolkit._mcp_convert import result_from_mcp, tool_to_spec
from toolkit._mcp_session import (
    MAX_LIST_PAGES,
    MAX_TOOLS,
    Connection,
    ConnectionPool,
    Connector,
    StartError,
    owning_process_group,
    watched,
)
from toolkit.errors import UserError
from toolkit.jsonschema_utils import validation_errors
from toolkit.sources import redact_secrets
from toolkit.specs import ToolResult, ToolSpec
from toolkit.toolsets import CallLimits, Toolset, cap_result

__all__ = ["MCPToolset"]

logger = logging.getLogger(__name__)

_TRANSPORT_ERRORS = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    OSError,
    httpx2.HTTPError,
)

_SESSION_GONE = ToolResult.error("crash", "the server no longer knows this session")
"""Sentinel (compared by identity) for a request the server refused because it forgot the session."""

ProtocolMode = Literal["auto", "legacy"]
"""How a session starts: ``auto`` probes ``server/discover`` (2026 protocol) and falls back to the initialize
handshake; ``legacy`` goes straight to the handshake, for older servers that mishandle the probe."""

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Largest single server-sent event accepted over HTTP (a server that streams its answer as SSE); plain JSON
responses are not capped by the transport. Results are capped by ``CallLimits.max_result_chars`` either way."""


class MCPToolset(Toolset):
    """The tools of one MCP server. Build with :meth:`stdio`, :meth:`http` or :meth:`in_process`.

    Use as an async context manager (or inside a :class:`~toolkit.toolsets.ToolRegistry`): opening starts the
    server, lists its tools (following pagination) and checks their schemas; closing stops the server, its
    whole process tree included.
    """

    def __init__(
        self,
        connector: Connector,
        *,
        name: str,
        kind: str,
        connect_timeout: float = 30.0,
        protocol: ProtocolMode = "auto",
    ):
        if connect_timeout <= 0:
            raise UserError(f"connect_timeout must be positive, got {connect_timeout!r}")
        if protocol not in ("auto", "legacy"):
            raise UserError(f"protocol must be 'auto' or 'legacy', got {protocol!r}")
        self.name = name
        self.kind = kind
        """``stdio``, ``http`` or ``in-process``."""
        self._pool = ConnectionPool(
            name, connector, self._list_all, connect_timeout=connect_timeout, mode=protocol
        )
        self._stack: AsyncExitStack | None = None

    # -- constructors ----------------------------------------------------------------------------------------

    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        name: str | None = None,
        connect_timeout: float = 30.0,
        protocol: ProtocolMode = "auto",
    ) -> MCPToolset:
        """A server started as a subprocess (no shell) speaking MCP over its stdin/stdout.

        ``env`` is merged over the MCP SDK's minimal inherited environment (``HOME``, ``PATH``, ``USER``,
        ...); pass ``env=dict(os.environ)`` to hand the server everything. The server's stderr is kept and
        quoted in crash reports. Stopping the server (on close, or to replace a crashed or hung one) stops the
        processes it started too: a launcher's real server (``uvx``, ``sh -c``), workers.
        """
        if not command or not isinstance(command, str):
            raise UserError(f"MCP stdio command must be a non-empty string, got {command!r}")
        if isinstance(args, str):
            raise UserError(
                f"MCP stdio args must be a list of strings, not the string {args!r}; split it first"
            )
        params = StdioServerParameters(
            command=command, args=list(args), env=dict(env) if env is not None else None, cwd=cwd
        )

        async def connect(stack: AsyncExitStack, conn: Connection) -> Any:
            transport = stdio_client(params, errlog=conn.open_stderr())  # type: ignore[arg-type]
            return watched(owning_process_group(transport), conn.mark_dead)

        label = name or redact_secrets("stdio:" + shlex.join([command, *args]))  # the label reaches records
        return cls(connect, name=label, kind="stdio", connect_timeout=connect_timeout, protocol=protocol)

    @classmethod
    def http(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        name: str | None = None,
        connect_timeout: float = 30.0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        protocol: ProtocolMode = "auto",
    ) -> MCPToolset:
        """A server reached over streamable HTTP at ``url`` (e.g. ``http://127.0.0.1:8000/mcp``).

        ``headers`` go with every request (e.g. ``Authorization``). A session the server forgets (it restarted,
        or expired the session while idle) is replaced and the call resent once: the server refused it unseen.
        """
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UserError(f"MCP HTTP url must start with http:// or https://, got {url!r}")
        fixed_headers = dict(headers or {})

        async def connect(stack: AsyncExitStack, conn: Connection) -> Any:
            http_client = httpx2.AsyncClient(
                headers=fixed_headers, timeout=httpx2.Timeout(connect_timeout, read=300.0)
            )
            await stack.enter_async_context(http_client)
            transport = streamable_http_client(
                url, http_client=http_client, max_sse_event_size=max_message_bytes
            )
            return watched(transport, conn.mark_dead)

        # The name shows up in error results, which datasets keep: never let it carry credentials.
        label = redact_secrets(name or url)
        return cls(connect, name=label, kind="http", connect_timeout=connect_timeout, protocol=protocol)

    @classmethod
    def in_process(cls, server: Server[Any] | MCPServer, *, name: str | None = None) -> MCPToolset:
        """A server object in this process (an ``mcp`` ``Server`` or ``MCPServer``), without any transport."""
        if not isinstance(server, Server | MCPServer):
            raise UserError(
                f"in_process() takes an mcp Server or MCPServer object, got {type(server).__name__}; "
                "for a Python toolset use it directly, or serve it with toolkit.mcp_serve.build_mcp_server"
            )

        async def connect(stack: AsyncExitStack, conn: Connection) -> Any:
            return server

        return cls(connect, name=name or f"in-process:{server.name}", kind="in-process")

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def open(self) -> None:
        if self._stack is not None:
            return
        stack = AsyncExitStack()
        tg = await stack.enter_async_context(anyio.create_task_group())
        self._pool.attach(tg)
        stack.push_async_callback(self._pool.close)
        self._stack = stack
        try:
            await self._pool.acquire()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        stack, self._stack = self._stack, None
        if stack is None:
            return
        try:
            await stack.aclose()  # stops every connection, then waits for their owner tasks to finish
        finally:
            self._pool.attach(None)

    # -- tools -----------------------------------------------------------------------------------------------

    async def list_tools(self) -> list[ToolSpec]:
        conn = await self._pool.acquire()  # a StartError is a UserError: the listing is unusable
        return list(conn.specs)

    async def _list_all(self, client: Client) -> list[ToolSpec]:
        specs: dict[str, ToolSpec] = {}
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_LIST_PAGES):
            page = await client.list_tools(cursor=cursor)
            for tool in page.tools:
                if tool.name in specs:
                    raise UserError(f"MCP server {self.name!r} lists tool {tool.name!r} twice; fix it")
                specs[tool.name] = tool_to_spec(tool, server=self.name)
            if len(specs) > MAX_TOOLS:
                raise UserError(f"MCP server {self.name!r} offers over {MAX_TOOLS} tools; serve a subset")
            cursor = page.next_cursor
            if cursor is None:
                return list(specs.values())
            if cursor in seen:
                raise UserError(
                    f"MCP server {self.name!r} sent pagination cursor {cursor!r} twice while listing tools; "
                    "its tools/list pagination loops"
                )
            seen.add(cursor)
        raise UserError(f"MCP server {self.name!r} sent more than {MAX_LIST_PAGES} pages of tools; giving up")

    async def call_tool(self, name: str, arguments: dict[str, Any], *, limits: CallLimits) -> ToolResult:
        deadline = anyio.current_time() + limits.timeout  # one limit for the whole call, restart included
        for _attempt in range(2):
            with anyio.CancelScope(deadline=deadline) as starting:
                try:
                    conn = await self._pool.acquire()
                except StartError as exc:
                    why = f"MCP server {self.name!r} is down and could not be restarted: {exc}"
                    return ToolResult.error("crash", why)
            if starting.cancelled_caught:
                return ToolResult.error(
                    "timeout",
                    f"MCP server {self.name!r} did not (re)start within the call's {limits.timeout:g} s",
                )
            conn.inflight += 1
            try:
                result = await self._call_on(conn, name, arguments, limits, deadline)
            finally:
                conn.release()
            if result is not _SESSION_GONE:
                return self._checked(conn, name, result, limits)
        why = f"MCP server {self.name!r} dropped two fresh sessions in a row during the call to {name!r}"
        return ToolResult.error("crash", why)

    async def _call_on(
        self, conn: Connection, name: str, arguments: dict[str, Any], limits: CallLimits, deadline: float
    ) -> ToolResult:
        """One attempt; ``_SESSION_GONE`` when the server no longer knows the session (safe to resend)."""
        assert conn.client is not None  # acquire() only hands out connected sessions
        request = CallToolRequest(params=CallToolRequestParams(name=name, arguments=arguments))
        try:
            with anyio.CancelScope(deadline=deadline) as guard:
                # The session's raw request, not Client.call_tool: ToolGym checks structured results against
                # the output schema itself, so a result the server truncated on purpose is not "malformed".
                raw = await conn.client.session.send_request(request, CallToolResult)
        except MCPError as exc:
            return self._protocol_error(conn, name, exc, limits)
        except ValidationError as exc:
            why = f"tool {name!r} sent a result that is not valid MCP: {exc}"
            return ToolResult.error("malformed_result", why)
        except _TRANSPORT_ERRORS as exc:
            return self._crash(conn, name, f"the transport broke ({type(exc).__name__}: {exc})")
        except Exception as exc:  # boundary with an untrusted server: a call never raises
            logger.debug("MCP call %s on %s failed", name, self.name, exc_info=True)
            return self._crash(conn, name, f"unexpected client failure ({type(exc).__name__}: {exc})")
        if guard.cancelled_caught:
            conn.retire()
            fresh = "server process" if self.kind == "stdio" else "session"
            return ToolResult.error(
                "timeout",
                f"tool {name!r} did not answer within {limits.timeout:g} s; the call was cancelled and the "
                f"next call will use a fresh {fresh}",
            )
        return result_from_mcp(raw)

    def _checked(self, conn: Connection, name: str, result: ToolResult, limits: CallLimits) -> ToolResult:
        """The size-capped result, or a ``malformed_result`` error when it breaks the tool's output schema."""
        capped = cap_result(result, limits.max_result_chars)
        spec = next((s for s in conn.specs if s.name == name), None)
        # Checked after the cap so the work is bounded by max_result_chars: structured content too large to keep is
        # dropped unchecked. Errors, and results the server truncated on purpose, are not held to the schema.
        dropped = result.structured is not None and capped.structured is None
        if spec is None or spec.output_schema is None or result.is_error or result.truncated or dropped:
            return capped
        try:
            problem = _output_problem(spec, capped)
            why = f"tool {name!r} broke its output schema: {problem}"
        except Exception as exc:  # the schema comes from an untrusted server (e.g. a dangling $ref): never raise
            logger.debug("checking %s's result against its output schema failed", name, exc_info=True)
            problem = f"{type(exc).__name__}: {str(exc)[:300]}"
            why = f"tool {name!r} sent a result that could not be checked against its output schema: {problem}"
        if not problem:
            return capped
        return cap_result(ToolResult.error("malformed_result", why), limits.max_result_chars)

    def _crash(self, conn: Connection, name: str, why: str) -> ToolResult:
        conn.retire()
        tail = redact_secrets(conn.stderr_tail())  # quoted in a result that datasets keep
        msg = f"MCP server {self.name!r} failed during the call to {name!r}: {why}; the next call restarts it"
        return ToolResult.error("crash", msg + (f"\nserver stderr (last lines):\n{tail}" if tail else ""))

    def _protocol_error(self, conn: Connection, name: str, exc: MCPError, limits: CallLimits) -> ToolResult:
        code, message = exc.error.code, exc.error.message
        if code == INVALID_REQUEST and "session" in message.lower():
            # HTTP 404 for our session id (the server restarted, or expired an idle session): the request was
            # refused before any tool ran, so the call is resent once on a fresh session.
            conn.retire()
            return _SESSION_GONE
        if code == CONNECTION_CLOSED:
            return self._crash(conn, name, "the connection closed (the server exited or the transport broke)")
        if code == REQUEST_TIMEOUT:
            conn.retire()
            return ToolResult.error("timeout", f"tool {name!r} did not answer within {limits.timeout:g} s")
        known = {s.name for s in conn.specs}
        if name not in known:
            listed = ", ".join(s.name for s in conn.specs) or "(none)"
            return ToolResult.error("unknown_tool", f"Unknown tool {name!r}. Available tools: {listed}.")
        kind = "invalid_arguments" if code == INVALID_PARAMS else "tool_error"
        return ToolResult.error(kind, f"MCP error {code} from tool {name!r}: {message}")

    def __repr__(self) -> str:
        return f"MCPToolset({self.name!r})"


def _output_problem(spec: ToolSpec, result: ToolResult) -> str:
    """Why a successful result does not match the tool's declared output schema ('' when it does)."""
    assert spec.output_schema is not None
    if result.structured is None:
        return "it declares an output schema but returned no structured content"
    problems = validation_errors(spec.output_schema, result.structured)
    return "; ".join(problems)
