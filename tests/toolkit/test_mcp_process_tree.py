"""A stdio MCP server's whole process tree stops with it: a launcher (``uvx``, ``sh -c``), the real server
behind it, and the workers it started, whether the toolset closes, the server crashes and is replaced, or the
start is abandoned. Real servers, real processes, checked by pid."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.toolkit.mcp_servers.helpers import run_within, SERVERS, child_processes, running
from toolkit import _mcp_session
from toolkit.errors import UserError
from toolkit.mcp_tools import MCPToolset
from toolkit.toolsets import CallLimits

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups; Windows uses a job")

LIMITS = CallLimits(timeout=10.0)
SERVER = [sys.executable, str(SERVERS / "spawning_server.py")]
LAUNCHES = {
    "directly": SERVER,
    "through a launcher that waits for it": [sys.executable, str(SERVERS / "launcher.py"), *SERVER],
    "through sh -c": ["sh", "-c", shlex.join(SERVER) + "; exit $?"],  # not the last command: sh stays
}


def run(fn: Callable[[], Awaitable[None]], *, within: float = 30.0) -> None:
    run_within(fn, within)


@pytest.fixture(autouse=True)
def _no_leftover_children() -> Any:
    # Only direct children are visible here: the grandchildren these tests are about are checked by pid.
    yield
    assert child_processes() == [], "a test left a child process (or zombie) behind"


def spawning(how: str, *extra: str) -> MCPToolset:
    command = LAUNCHES[how]
    if extra and how == "through sh -c":
        command = ["sh", "-c", shlex.join([*SERVER, *extra]) + "; exit $?"]
    elif extra:
        command = [*command, *extra]
    return MCPToolset.stdio(command[0], command[1:])


async def family(ts: MCPToolset) -> dict[str, int]:
    """The pids of the server's tree: server, worker, and the launcher when there is one."""
    result = await ts.call_tool("family", {}, limits=LIMITS)
    assert not result.is_error, result.content
    pids = dict(result.structured)
    if pids["parent"] == os.getpid():
        del pids["parent"]  # started directly: its parent is this test
    return pids


async def until_stopped(pids: dict[str, int]) -> None:
    """Wait (bounded by the caller's deadline) until none of ``pids`` runs: stops happen in the background."""
    while any(running(pid) for pid in pids.values()):
        await anyio.sleep(0.02)


@pytest.mark.parametrize("how", list(LAUNCHES))
def test_closing_a_stdio_toolset_stops_every_process_the_server_started(how: str):
    async def main() -> None:
        async with spawning(how) as ts:
            tree = await family(ts)
            assert all(running(pid) for pid in tree.values())
        # The server exits as soon as its stdin closes; its worker never reads stdin and would run on.
        assert {name: running(pid) for name, pid in tree.items()} == dict.fromkeys(tree, False)

    run(main)


def test_a_crashed_server_s_leftover_processes_are_stopped_when_it_is_replaced():
    async def main() -> None:
        async with spawning("through a launcher that waits for it") as ts:
            before = await family(ts)
            crashed = await ts.call_tool("crash", {}, limits=LIMITS)  # kills the server; the launcher exits
            after = await family(ts)
            assert crashed.error_kind == "crash"
            assert after["worker"] != before["worker"]
            with anyio.fail_after(10):
                await until_stopped(before)  # the old tree goes while the toolset stays open
            assert all(running(pid) for pid in after.values())  # the new one is untouched
        assert not any(running(pid) for pid in after.values())

    run(main)


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(_mcp_session, "GROUP_TERM_GRACE", 0.3)

    async def main() -> None:
        async with spawning("directly", "--stubborn") as ts:
            tree = await family(ts)
        assert not any(running(pid) for pid in tree.values())

    run(main)


def test_an_abandoned_start_stops_the_processes_the_server_had_started(tmp_path: Path):
    # The server starts a worker, then never answers the handshake; the caller gives up on it.
    pidfile = tmp_path / "worker.pid"

    async def main() -> None:
        ts = spawning("through a launcher that waits for it", "--mute", str(pidfile))

        async def give_up_once_the_worker_runs(scope: anyio.CancelScope) -> None:
            while not pidfile.exists():
                await anyio.sleep(0.02)
            scope.cancel()

        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(give_up_once_the_worker_runs, scope)
                async with ts:
                    pytest.fail("the mute server answered the handshake")
        assert scope.cancelled_caught
        assert not running(int(pidfile.read_text()))

    run(main)


def test_a_server_whose_launcher_exits_at_startup_is_still_a_user_error_naming_it():
    async def main() -> None:
        launcher = [sys.executable, str(SERVERS / "launcher.py"), sys.executable, "-c", "raise SystemExit(3)"]
        with pytest.raises(UserError, match="could not connect to MCP server"):
            async with MCPToolset.stdio(launcher[0], launcher[1:], connect_timeout=10):
                pass

    run(main)


def test_the_sdk_still_spawns_stdio_servers_through_the_hooked_function_in_a_session_of_their_own():
    # The SDK exposes no pid; toolkit/_mcp_session.py learns it by wrapping a private SDK function. If this
    # fails, the SDK changed, and stdio servers' workers and launched servers leak again: find another way.
    assert _mcp_session.hook_sdk_spawn(), "mcp.client.stdio._create_platform_compatible_process is gone"
    reported: list[int] = []

    async def main() -> None:
        # The faulty server starts no worker: the bare SDK transport used here would leave one running.
        params = StdioServerParameters(command=sys.executable, args=[str(SERVERS / "faulty_server.py")])
        token = _mcp_session._spawned.set(reported)
        try:
            with tempfile.TemporaryFile() as errlog:
                async with stdio_client(params, errlog=errlog):  # type: ignore[arg-type]
                    assert len(reported) == 1, "stdio_client no longer spawns through the hooked function"
                    leader = reported[0]
                    assert os.getpgid(leader) == os.getsid(leader) == leader, "not started in a new session"
        finally:
            _mcp_session._spawned.reset(token)

    run(main)
    assert reported and not running(reported[0])
