"""Serving toolsets as MCP servers: a Python tool reached through ``toolgym serve-mcp`` is the same tool."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.toolkit.mcp_servers.helpers import run_within, SERVERS, TIME_SERVER, child_processes
from toolkit.cli import main
from toolkit.errors import UserError
from toolkit.mcp_serve import build_mcp_server, running_http_server
from toolkit.mcp_tools import MCPToolset
from toolkit.sources import parse_source
from toolkit.specs import ToolResult
from toolkit.toolsets import CallLimits, Toolset

REPO = Path(__file__).resolve().parents[2]
SOURCE = "py:tests.toolkit.mcp_servers.roundtrip_tools"
LIMITS = CallLimits(timeout=10.0)
ENV = {"PYTHONPATH": str(REPO)}

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("add", {"a": 1}),
    ("add", {"a": 1, "b": 41}),
    (
        "place_order",
        {
            "lines": [
                {"sku": "ABC-1", "qty": 2, "options": [{"key": "colour", "value": "red"}]},
                {"sku": "XYZ-22", "qty": 1},
            ],
            "priority": "high",
        },
    ),
    ("place_order", {"lines": [{"sku": "abc", "qty": 0}]}),  # invalid: pattern and minimum
    ("greet", {"name": "Zoë"}),
    ("greet", {}),  # invalid: missing
    ("chatty", {"text": "hi"}),  # prints to stdout: must not reach the stdio wire
    ("nothing", {}),
    ("refuse", {"reason": "not today"}),  # ToolError
    ("divide", {"a": 1, "b": 0}),  # ZeroDivisionError
    ("blob", {"chars": 150_000}),  # over the cap: truncated the same way on both sides
    ("no_such_tool", {}),
]


def run(fn: Callable[[], Awaitable[None]], *, within: float = 60.0) -> None:
    run_within(fn, within)


@pytest.fixture(autouse=True)
def _no_leftover_children() -> Any:
    yield
    assert child_processes() == [], "a test left a child process (or zombie) behind"


def python_tools() -> Toolset:
    return parse_source(SOURCE).make()


async def assert_same_tools(direct: Toolset, served: Toolset) -> None:
    ours, theirs = await direct.list_tools(), await served.list_tools()
    assert [s.signature() for s in theirs] == [s.signature() for s in ours]
    assert [s.deterministic for s in theirs] == [s.deterministic for s in ours]
    assert [s.deterministic for s in ours].count(False) == 1  # `tick` is marked, and the mark survived
    for name, arguments in CALLS:
        expected = await direct.call_tool(name, arguments, limits=LIMITS)
        got = await served.call_tool(name, arguments, limits=LIMITS)
        assert got.to_dict() == expected.to_dict(), f"{name}({arguments}) differs"
    kinds = {(await direct.call_tool(n, a, limits=LIMITS)).error_kind for n, a in CALLS}
    assert kinds == {None, "invalid_arguments", "exception", "unknown_tool"}  # the calls cover every outcome


def test_a_python_tool_and_the_same_tool_served_in_process_are_identical():
    async def main_() -> None:
        served = MCPToolset.in_process(build_mcp_server(python_tools()))
        async with python_tools() as direct, served:
            await assert_same_tools(direct, served)

    run(main_)


def test_a_python_tool_and_the_same_tool_through_serve_mcp_over_stdio_are_identical(
    caplog: pytest.LogCaptureFixture,
):
    async def main_() -> None:
        args = ["-m", "toolkit", "serve-mcp", SOURCE]
        served = MCPToolset.stdio(sys.executable, args, env=ENV, cwd=REPO)
        async with python_tools() as direct, served:
            await assert_same_tools(direct, served)

    run(main_)
    # What the `chatty` tool printed never reached the wire, not even when the server shut down.
    assert not [r for r in caplog.records if "Failed to parse" in r.getMessage()]


@asynccontextmanager
async def serve_mcp_http(source: str) -> AsyncIterator[str]:
    """``toolgym serve-mcp SOURCE --transport http --port 0`` as a subprocess; yields the URL it prints."""
    command = [sys.executable, "-m", "toolkit", "serve-mcp", source, "--transport", "http", "--port", "0"]
    process = await anyio.open_process(command, cwd=REPO, env={**os.environ, **ENV}, stderr=subprocess.PIPE)
    try:
        assert process.stderr is not None
        seen = b""
        while b"\n" not in seen:
            seen += await process.stderr.receive()
        line = seen.decode().splitlines()[0]
        assert line.startswith(f"serving {source} at http://127.0.0.1:"), line
        yield line.rsplit(" ", 1)[1]
    finally:
        process.terminate()  # uvicorn shuts down gracefully on SIGTERM
        with anyio.fail_after(10):
            await process.wait()
        await process.aclose()


def test_a_python_tool_and_the_same_tool_through_serve_mcp_over_http_are_identical():
    async def main_() -> None:
        async with serve_mcp_http(SOURCE) as url, python_tools() as direct, MCPToolset.http(url) as served:
            await assert_same_tools(direct, served)

    run(main_)


def test_a_timeout_inside_the_served_tool_and_at_the_client_are_both_timeout_results():
    async def main_() -> None:
        served = MCPToolset.in_process(build_mcp_server(python_tools()))
        async with python_tools() as direct, served:
            short = CallLimits(timeout=0.2)
            results = [await ts.call_tool("slow", {"ms": 5000}, limits=short) for ts in (direct, served)]
        assert [(r.is_error, r.error_kind) for r in results] == [(True, "timeout")] * 2

    run(main_)


def test_non_deterministic_tools_are_published_with_the_toolgym_meta_flag():
    async def main_() -> None:
        async with Client(build_mcp_server(python_tools())) as client:
            listing = await client.list_tools()
        meta = {t.name: t.meta for t in listing.tools}
        assert meta["tick"] == {"toolgym/deterministic": False}
        assert meta["add"] is None

    run(main_)


def test_serving_an_mcp_server_again_over_http_bridges_it_unchanged():
    async def main_() -> None:
        async with MCPToolset.stdio(TIME_SERVER[0], TIME_SERVER[1:]) as direct:
            bridge = MCPToolset.stdio(TIME_SERVER[0], TIME_SERVER[1:])
            async with running_http_server(bridge) as url, MCPToolset.http(url) as bridged:
                theirs = [s.signature() for s in await bridged.list_tools()]
                result = await bridged.call_tool("get_current_time", {"timezone": "UTC"}, limits=LIMITS)
            ours = [s.signature() for s in await direct.list_tools()]
        assert theirs == ours
        assert result.structured["timezone"] == "UTC"

    run(main_)


def test_a_crash_behind_a_bridge_reaches_the_client_as_a_crash_and_the_bridge_recovers():
    async def main_() -> None:
        inner = MCPToolset.stdio(sys.executable, [str(SERVERS / "faulty_server.py")])
        async with running_http_server(inner) as url, MCPToolset.http(url) as bridged:
            crashed = await bridged.call_tool("crash", {}, limits=LIMITS)
            after = await bridged.call_tool("echo", {"text": "back"}, limits=LIMITS)
        assert (crashed.is_error, crashed.error_kind) == (True, "crash")
        assert "faulty server: about to die" in crashed.content
        assert after.content == "back"

    run(main_)


def test_serve_mcp_help_shows_examples(capsys: pytest.CaptureFixture[str]):
    assert main(["serve-mcp", "--help"]) == 0
    out = capsys.readouterr().out
    assert "toolgym serve-mcp py:tools.calculator --transport http --port 8000" in out


def test_serve_mcp_with_a_source_that_cannot_start_fails_before_listening(capsys: pytest.CaptureFixture[str]):
    assert main(["serve-mcp", "stdio:no-such-mcp-server", "--transport", "http", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "could not connect to MCP server 'stdio:no-such-mcp-server'" in err
    assert "serving" not in err  # no URL was announced for a server that never came up


def test_serve_mcp_with_a_bad_source_exits_2_and_says_what_to_write(capsys: pytest.CaptureFixture[str]):
    assert main(["serve-mcp", "tools.calculator"]) == 2
    assert "unrecognised tool source 'tools.calculator'" in capsys.readouterr().err


def test_serving_on_a_port_already_in_use_is_a_user_error_naming_the_port():
    async def main_() -> None:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            port = busy.getsockname()[1]
            problem = rf"cannot listen on 127\.0\.0\.1:{port}: .*pick another --port"
            with pytest.raises(UserError, match=problem):
                async with running_http_server(python_tools(), port=port):
                    pass

    run(main_)


def test_a_toolset_that_breaks_its_no_raise_contract_gives_an_exception_result_not_a_dead_server():
    class Raising(Toolset):
        name = "raising"

        async def list_tools(self) -> list[Any]:
            return await python_tools().list_tools()

        async def call_tool(self, name: str, arguments: dict[str, Any], *, limits: CallLimits) -> ToolResult:
            raise RuntimeError("bug in toolset")

    async def main_() -> None:
        async with MCPToolset.in_process(build_mcp_server(Raising())) as served:
            first = await served.call_tool("add", {"a": 1}, limits=LIMITS)
            second = await served.call_tool("greet", {"name": "x"}, limits=LIMITS)
        assert (first.error_kind, first.content) == ("exception", "RuntimeError: bug in toolset")
        assert second.error_kind == "exception"

    run(main_)
