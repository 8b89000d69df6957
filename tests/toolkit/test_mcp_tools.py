"""MCP servers as tool sources: real servers over stdio, streamable HTTP and in-process (misbehaving servers:
test_mcp_faults.py)."""

from __future__ import annotations

import json
import socket
import sys
from functools import partial
from typing import Any

import anyio
import pytest
from mcp.server import Server
from mcp.types import CallToolResult, ListToolsResult, TextContent, Tool

from tests.toolkit.mcp_servers import faulty_server, schema_server
from tests.toolkit.mcp_servers.helpers import (  # noqa: F401 (no_leftover_children: an autouse fixture)
    LIMITS,
    SERVERS,
    TIME_SERVER,
    faulty,
    no_leftover_children,
    run,
    time_server,
)
from toolkit.errors import UserError
from toolkit.mcp_serve import running_http_server
from toolkit.mcp_tools import MCPToolset
from toolkit.sources import open_registry
from toolkit.toolsets import CallLimits

# -- the third-party time server over stdio ------------------------------------------------------------------


def test_the_third_party_time_server_lists_its_tools_with_input_and_output_schemas():
    async def main() -> None:
        async with time_server() as ts:
            specs = {s.name: s for s in await ts.list_tools()}
        assert set(specs) == {"get_current_time", "convert_time"}
        current = specs["get_current_time"]
        assert current.input_schema["required"] == ["timezone"]
        assert current.input_schema["properties"]["timezone"]["type"] == "string"
        assert set(current.output_schema["required"]) == {"timezone", "datetime", "day_of_week", "is_dst"}
        assert "Convert time" in specs["convert_time"].description

    run(main)


def test_a_call_to_the_time_server_returns_its_text_and_structured_content():
    async def main() -> None:
        async with time_server() as ts:
            result = await ts.call_tool(
                "convert_time",
                {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"},
                limits=LIMITS,
            )
        assert not result.is_error
        assert result.structured["target"]["datetime"].endswith("21:00:00+09:00")
        assert json.loads(result.content) == result.structured

    run(main)


def test_bad_arguments_and_unknown_tools_on_the_time_server_are_error_results_not_exceptions():
    async def main() -> None:
        async with time_server() as ts:
            wrong_type = await ts.call_tool("get_current_time", {"timezone": 5}, limits=LIMITS)
            bad_zone = await ts.call_tool("get_current_time", {"timezone": "Mars/Olympus"}, limits=LIMITS)
            unknown = await ts.call_tool("get_weather", {}, limits=LIMITS)
        assert (wrong_type.is_error, wrong_type.error_kind) == (True, "tool_error")
        assert "timezone" in wrong_type.content
        assert bad_zone.is_error and "Mars/Olympus" in bad_zone.content
        assert unknown.error_kind == "unknown_tool"
        assert unknown.content == (
            "Unknown tool 'get_weather'. Available tools: get_current_time, convert_time."
        )

    run(main)


def test_a_stdio_source_string_joins_a_registry_with_other_sources():
    async def main() -> None:
        sources = ["stdio:" + " ".join(TIME_SERVER), "py:tests.toolkit.pytools_marked"]
        async with open_registry(sources) as registry:
            assert registry.names() == ["get_current_time", "convert_time", "greet", "shout"]
            result = await registry.call("get_current_time", {"timezone": "UTC"})
        assert result.structured["timezone"] == "UTC"

    run(main)


def test_a_registry_whose_second_source_fails_to_start_stops_the_first_server():
    async def main() -> None:
        sources = ["stdio:" + " ".join(TIME_SERVER), "stdio:no-such-mcp-server"]
        with pytest.raises(UserError, match="no-such-mcp-server"):
            async with open_registry(sources):
                pass
        # the autouse fixture then checks that the time server's process is gone

    run(main)


# -- HTTP and in-process -------------------------------------------------------------------------------------


def test_a_server_over_streamable_http_lists_and_calls_its_tools():
    async def main() -> None:
        async with running_http_server(faulty_server.build_server()) as url:
            assert url.startswith("http://127.0.0.1:") and url.endswith("/mcp")
            async with MCPToolset.http(url) as ts:
                names = [s.name for s in await ts.list_tools()]
                result = await ts.call_tool("echo", {"text": "über"}, limits=LIMITS)
        assert "echo" in names and "crash" in names
        assert (result.content, result.structured) == ("über", {"result": "über"})

    run(main)


def test_http_headers_given_to_the_toolset_reach_the_server_on_every_request():
    async def main() -> None:
        server = faulty_server.build_server()
        headers = {"Authorization": "Bearer s3cret"}
        async with running_http_server(server) as url, MCPToolset.http(url, headers=headers) as ts:
            result = await ts.call_tool("header", {"name": "Authorization"}, limits=LIMITS)
        assert result.content == "Bearer s3cret"

    run(main)


def test_a_stalled_call_over_http_times_out_and_the_next_call_runs_on_a_fresh_session():
    async def main() -> None:
        async with running_http_server(faulty_server.build_server()) as url, MCPToolset.http(url) as ts:
            stalled = await ts.call_tool("stall", {}, limits=CallLimits(timeout=0.5))
            after = await ts.call_tool("echo", {"text": "still here"}, limits=LIMITS)
        assert (stalled.is_error, stalled.error_kind) == (True, "timeout")
        assert "0.5 s" in stalled.content
        assert after.content == "still here"

    run(main)


async def _serve_until(
    port: int, stop: anyio.Event, stopped: anyio.Event, *, task_status: Any = anyio.TASK_STATUS_IGNORED
) -> None:
    try:
        async with running_http_server(faulty_server.build_server(), port=port):
            task_status.started()
            await stop.wait()
    finally:
        stopped.set()  # uvicorn has shut down and the socket is closed


@pytest.mark.parametrize("protocol", ["auto", "legacy"])
def test_a_server_restarted_behind_the_same_url_is_used_again_without_an_error(protocol: str):
    # auto negotiates the sessionless 2026 protocol; legacy holds a session that the new server does not know.
    async def main() -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        first, second = (anyio.Event(), anyio.Event()), (anyio.Event(), anyio.Event())
        async with anyio.create_task_group() as tg:
            await tg.start(partial(_serve_until, port, *first))
            ts = MCPToolset.http(f"http://127.0.0.1:{port}/mcp", protocol=protocol)  # type: ignore[arg-type]
            async with ts:
                before = await ts.call_tool("echo", {"text": "first"}, limits=LIMITS)
                first[0].set()
                await first[1].wait()
                await tg.start(partial(_serve_until, port, *second))
                after = await ts.call_tool("echo", {"text": "second"}, limits=LIMITS)
            second[0].set()
        assert (before.content, after.content, after.is_error) == ("first", "second", False)

    run(main)


def test_an_http_server_that_is_not_there_is_a_user_error_naming_the_url():
    async def main() -> None:
        async with running_http_server(faulty_server.build_server()) as url:
            pass  # the server has stopped: nothing listens on that port any more
        with pytest.raises(UserError, match=r"could not connect to MCP server 'http://127\.0\.0\.1:\d+/mcp'"):
            async with MCPToolset.http(url, connect_timeout=5):
                pass

    run(main)


def test_credentials_in_an_http_url_never_appear_in_names_or_errors():
    async def main() -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]  # closed again: nothing listens there
        ts = MCPToolset.http(f"http://bob:hunter2@127.0.0.1:{port}/mcp?token=s3cret", connect_timeout=5)
        assert ts.name == f"http://***@127.0.0.1:{port}/mcp?***"
        with pytest.raises(UserError) as failure:
            async with ts:
                pass
        assert "hunter2" not in str(failure.value) and "s3cret" not in str(failure.value)
        assert ts.name in str(failure.value)

    run(main)


def test_an_in_process_server_is_reached_without_any_transport():
    async def main() -> None:
        async with MCPToolset.in_process(schema_server.build_server()) as ts:
            result = await ts.call_tool(
                "place_order",
                {
                    "lines": [{"sku": "ABC-1", "qty": 2}, {"sku": "XYZ-9", "qty": 1}],
                    "payment": {"kind": "invoice", "po": "PO-7"},
                },
                limits=LIMITS,
            )
        assert ts.name == "in-process:schema-server"
        assert (result.content, result.structured) == ("3 items", {"total_items": 3, "paid_by": "invoice"})

    run(main)


# -- schemas and listings ------------------------------------------------------------------------------------


def test_schemas_with_ref_oneof_and_nested_arrays_of_objects_are_kept_verbatim():
    async def main() -> None:
        async with MCPToolset.in_process(schema_server.build_server()) as ts:
            spec = next(s for s in await ts.list_tools() if s.name == "place_order")
        assert spec.input_schema == schema_server.ORDER_INPUT
        assert spec.output_schema == schema_server.ORDER_OUTPUT
        assert spec.input_schema["properties"]["lines"]["items"] == {"$ref": "#/$defs/Line"}

    run(main)


def test_tool_listings_are_followed_across_pages_over_stdio():
    async def main() -> None:
        script = str(SERVERS / "schema_server.py")
        async with MCPToolset.stdio(sys.executable, [script, "--page-size", "2"]) as paged:
            paged_names = [s.name for s in await paged.list_tools()]
        async with MCPToolset.stdio(sys.executable, [script, "--page-size", "100"]) as whole:
            whole_names = [s.name for s in await whole.list_tools()]
        assert len(paged_names) == 9 and paged_names == whole_names

    run(main)


def _looping_server() -> Server[Any]:
    async def list_tools(ctx: Any, params: Any) -> ListToolsResult:
        tool = Tool(name="t", input_schema={"type": "object"})
        return ListToolsResult(tools=[] if params and params.cursor else [tool], next_cursor="again")

    return Server("looper", on_list_tools=list_tools)


def test_a_server_whose_pagination_never_ends_is_refused_with_a_clear_error():
    async def main() -> None:
        with pytest.raises(UserError, match=r"sent pagination cursor 'again' twice while listing tools"):
            async with MCPToolset.in_process(_looping_server()):
                pass

    run(main)


def test_an_absurdly_deep_schema_is_refused_with_an_error_naming_the_tool():
    async def main() -> None:
        problem = r"offers tool 'absurd' with an unusable input schema: .*deeper than 64"
        with pytest.raises(UserError, match=problem):
            async with MCPToolset.in_process(schema_server.build_server(absurd=True)):
                pass

    run(main)


def test_tools_marked_non_deterministic_in_their_meta_are_flagged():
    async def main() -> None:
        async with MCPToolset.in_process(schema_server.build_server()) as ts:
            flags = {s.name: s.deterministic for s in await ts.list_tools()}
        assert flags["roll"] is False
        assert all(flags[n] for n in flags if n != "roll")

    run(main)


# -- results -------------------------------------------------------------------------------------------------


def test_a_result_that_breaks_its_declared_output_schema_is_a_malformed_result():
    async def main() -> None:
        async with MCPToolset.in_process(schema_server.build_server()) as ts:
            result = await ts.call_tool("bad_output", {}, limits=LIMITS)
        assert (result.is_error, result.error_kind) == (True, "malformed_result")
        assert result.content == (
            "tool 'bad_output' broke its output schema: n: 'seven' is not of type 'integer'"
        )

    run(main)


# zod-to-json-schema's shape: a draft-07 "definitions" block that refers to itself.
_TREE_OUTPUT = {
    "type": "object",
    "properties": {"tree": {"$ref": "#/definitions/node"}},
    "definitions": {"node": {"type": "object", "properties": {"kids": {"type": "array",
                                                                       "items": {"$ref": "#/definitions/node"}}}}},
}


def _one_tool_server(output_schema: dict[str, Any], structured: dict[str, Any]) -> Server[Any]:
    async def list_tools(ctx: Any, params: Any) -> ListToolsResult:
        return ListToolsResult(tools=[Tool(name="t", input_schema={"type": "object"}, output_schema=output_schema)])

    async def call_tool(ctx: Any, params: Any) -> CallToolResult:
        return CallToolResult(content=[TextContent(text="x")], structured_content=structured)

    return Server("one", on_list_tools=list_tools, on_call_tool=call_tool)


@pytest.mark.parametrize(("kids", "malformed"), [([{}, {"kids": [{}]}], False), ([{"kids": [5]}], True)])
def test_a_recursive_draft_07_output_schema_is_checked_not_raised_on(kids: list[Any], malformed: bool):
    async def main() -> None:
        async with MCPToolset.in_process(_one_tool_server(_TREE_OUTPUT, {"tree": {"kids": kids}})) as ts:
            result = await ts.call_tool("t", {}, limits=LIMITS)
        assert result.is_error is malformed
        if malformed:
            assert result.error_kind == "malformed_result"
            assert "tree/kids/0/kids/0: 5 is not of type 'object'" in result.content
        else:
            assert result.structured == {"tree": {"kids": kids}}

    run(main)


def test_an_output_schema_that_cannot_be_checked_is_a_malformed_result_not_an_exception():
    dangling = {"type": "object", "properties": {"a": {"$ref": "#/definitions/missing"}}, "definitions": {}}

    async def main() -> None:
        async with MCPToolset.in_process(_one_tool_server(dangling, {"a": 1})) as ts:
            result = await ts.call_tool("t", {}, limits=LIMITS)
        assert (result.is_error, result.error_kind) == (True, "malformed_result")
        assert "could not be checked against its output schema" in result.content
        assert "missing" in result.content

    run(main)


def test_structured_content_too_large_to_keep_is_dropped_by_the_cap_not_validated():
    async def main() -> None:
        server = _one_tool_server({"type": "object", "properties": {"s": {"type": "integer"}}}, {"s": "y" * 5000})
        async with MCPToolset.in_process(server) as ts:
            result = await ts.call_tool("t", {}, limits=CallLimits(timeout=10, max_result_chars=1000))
        assert (result.is_error, result.truncated, result.structured) == (False, True, None)

    run(main)


def test_text_blocks_are_joined_and_binary_blocks_summarised_not_inlined():
    async def main() -> None:
        async with MCPToolset.in_process(schema_server.build_server()) as ts:
            result = await ts.call_tool("chart", {}, limits=LIMITS)
        assert result.content == "Sales by month\n[image: image/png, 100 bytes]"

    run(main)


@pytest.mark.slow
def test_a_ten_megabyte_result_is_capped_and_flagged_truncated():
    async def main() -> None:
        async with faulty() as ts:
            limits = CallLimits(timeout=20, max_result_chars=1000)
            result = await ts.call_tool("huge", {"chars": 10_000_000}, limits=limits)
        assert result.truncated and not result.is_error
        assert result.content == "x" * 1000 + "\n[truncated: result exceeded 1000 characters]"
        assert result.structured is None

    run(main, within=60)


def test_a_tool_that_raises_is_an_error_result_and_the_server_keeps_serving():
    async def main() -> None:
        async with faulty() as ts:
            before = await ts.call_tool("pid", {}, limits=LIMITS)
            failed = await ts.call_tool("fail", {"message": "disk full"}, limits=LIMITS)
            after = await ts.call_tool("pid", {}, limits=LIMITS)
        assert (failed.is_error, failed.error_kind) == (True, "tool_error")
        assert "fail" in failed.content
        assert before.content == after.content  # same server process

    run(main)
