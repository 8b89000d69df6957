"""MCP servers that misbehave: tools that raise, servers that crash, hang, flood stderr or never start — each is a
clear result or error, and no process is left behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.toolkit.mcp_servers import schema_server
from tests.toolkit.mcp_servers.helpers import (  # noqa: F401 (no_leftover_children: an autouse fixture)
    LIMITS,
    SERVERS,
    faulty,
    no_leftover_children,
    run,
    time_server,
)
from toolkit.errors import UserError
from toolkit.mcp_tools import MCPToolset
from toolkit.toolsets import CallLimits

# -- crashes, hangs, restarts, processes ---------------------------------------------------------------------


def test_a_server_killed_mid_call_gives_a_crash_result_and_the_next_call_runs_on_a_new_process():
    async def main() -> None:
        async with faulty() as ts:
            first_pid = (await ts.call_tool("pid", {}, limits=LIMITS)).structured["result"]
            crashed = await ts.call_tool("crash", {}, limits=LIMITS)
            second_pid = (await ts.call_tool("pid", {}, limits=LIMITS)).structured["result"]
        assert (crashed.is_error, crashed.error_kind) == (True, "crash")
        assert "failed during the call to 'crash'" in crashed.content
        assert "faulty server: about to die" in crashed.content  # the server's stderr is quoted
        assert "connected with OPENAI_API_KEY=" in crashed.content and "sk-live" not in crashed.content  # masked
        assert second_pid != first_pid

    run(main)


def test_a_chatty_server_s_stderr_is_cut_back_to_its_tail_and_still_quoted_on_a_crash():
    async def main() -> None:
        async with faulty() as ts:
            for _ in range(3):
                await ts.call_tool("chatter", {"kib": 1024}, limits=LIMITS)  # 3 MiB of logs in all
            kept = os.fstat(ts._pool._current.stderr.fileno()).st_size  # the only peek at internals
            crashed = await ts.call_tool("crash", {}, limits=LIMITS)
        assert kept <= 1_000_000
        assert crashed.content.endswith("faulty server: about to die")

    run(main)


def test_a_server_that_never_answers_gives_a_timeout_result_and_is_replaced():
    async def main() -> None:
        async with faulty() as ts:
            first_pid = (await ts.call_tool("pid", {}, limits=LIMITS)).structured["result"]
            hung = await ts.call_tool("wedge", {}, limits=CallLimits(timeout=0.5))
            second_pid = (await ts.call_tool("pid", {}, limits=LIMITS)).structured["result"]
        assert (hung.is_error, hung.error_kind) == (True, "timeout")
        assert hung.content.startswith("tool 'wedge' did not answer within 0.5 s")
        assert second_pid != first_pid

    run(main)


def test_a_restart_that_hangs_is_a_timeout_within_the_call_limit_and_is_abandoned(tmp_path: Path):
    async def main() -> None:
        script = str(SERVERS / "hangs_on_restart.py")
        async with MCPToolset.stdio(sys.executable, [script, str(tmp_path / "started")]) as ts:
            crashed = await ts.call_tool("crash", {}, limits=LIMITS)
            stuck = await ts.call_tool("echo", {"text": "x"}, limits=CallLimits(timeout=1))
        assert crashed.error_kind == "crash"
        assert stuck.error_kind == "timeout"
        assert "did not (re)start within the call's 1 s" in stuck.content

    run(main, within=15)  # well under the 30 s connect timeout: the abandoned start is stopped at once


def test_a_crash_ends_every_call_in_flight_on_that_server_as_a_crash_not_a_hang():
    async def main() -> None:
        results: dict[int, Any] = {}
        async with faulty() as ts:

            async def slow(i: int) -> None:
                results[i] = await ts.call_tool("sleep_ms", {"ms": 60_000}, limits=CallLimits(timeout=60))

            async with anyio.create_task_group() as tg:
                for i in range(7):
                    tg.start_soon(slow, i)
                await anyio.wait_all_tasks_blocked()
                results[7] = await ts.call_tool("crash", {}, limits=LIMITS)
            after = await ts.call_tool("echo", {"text": "recovered"}, limits=LIMITS)
        assert [results[i].error_kind for i in range(8)] == ["crash"] * 8
        assert after.content == "recovered"

    run(main)


def test_sixteen_calls_are_in_flight_at_once_over_one_stdio_session():
    async def main() -> None:
        results: list[Any] = []
        async with faulty() as ts:

            async def one() -> None:
                results.append(await ts.call_tool("barrier", {"n": 16}, limits=LIMITS))

            async with anyio.create_task_group() as tg:
                for _ in range(16):
                    tg.start_soon(one)
        # The barrier answers only when all 16 are waiting inside the server together.
        assert [r.structured["result"] for r in results] == [16] * 16

    run(main)


def test_a_command_that_does_not_exist_is_a_user_error_naming_it():
    async def main() -> None:
        problem = r"could not connect to MCP server 'stdio:no-such-mcp-server'.*No such file"
        with pytest.raises(UserError, match=problem):
            async with MCPToolset.stdio("no-such-mcp-server", []):
                pass

    run(main)


def test_a_server_that_exits_at_startup_is_reported_with_its_stderr():
    async def main() -> None:
        code = "import sys; print('config file missing: ~/.srv.toml', file=sys.stderr); sys.exit(3)"
        with pytest.raises(UserError, match=r"(?s)server stderr.*config file missing: ~/\.srv\.toml"):
            async with MCPToolset.stdio(sys.executable, ["-c", code], name="broken"):
                pass

    run(main)


def test_a_server_that_never_answers_the_handshake_is_refused_after_the_connect_timeout():
    async def main() -> None:
        silent = MCPToolset.stdio(sys.executable, ["-c", "import time; time.sleep(600)"], connect_timeout=0.5)
        with pytest.raises(UserError, match=r"no answer within the connect timeout of 0\.5 s"):
            async with silent:
                pass

    run(main)


def test_calling_a_toolset_that_is_not_open_is_a_usage_error():
    async def main() -> None:
        with pytest.raises(UserError, match=r"not open; use `async with toolset:`"):
            await time_server().call_tool("get_current_time", {"timezone": "UTC"}, limits=LIMITS)

    run(main)


def test_stdio_arguments_given_as_one_string_are_refused():
    with pytest.raises(UserError, match="split it first"):
        MCPToolset.stdio(sys.executable, "-m mcp_server_time")  # type: ignore[arg-type]


def test_a_closed_toolset_can_be_opened_again_on_a_fresh_session():
    async def main() -> None:
        ts = MCPToolset.in_process(schema_server.build_server())
        for _ in range(2):
            async with ts:
                result = await ts.call_tool("page_tool_1", {}, limits=LIMITS)
            assert result.content == "page_tool_1 ok"
        with pytest.raises(UserError, match="not open"):
            await ts.list_tools()

    run(main)


def test_in_process_wants_an_mcp_server_object_and_says_what_to_do_with_a_toolset():
    from toolkit.python_tools import PythonToolset

    with pytest.raises(UserError, match="for a Python toolset use it directly"):
        MCPToolset.in_process(PythonToolset())  # type: ignore[arg-type]
