"""Helpers shared by the MCP tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from toolkit.mcp_tools import MCPToolset
from toolkit.toolsets import CallLimits

SERVERS = Path(__file__).parent
TIME_SERVER = [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"]
"""The third-party time server from PyPI, started with this interpreter."""
LIMITS = CallLimits(timeout=10.0)


def child_processes() -> list[tuple[int, str]]:
    """(pid, state) of this process's children, zombies (state Z) included.

    multiprocessing's resource tracker is left out: Python starts it once, on purpose, for the whole session the
    first time a process pool with the spawn method is used (``toolgym validate --workers``).
    """
    me, out = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and b"resource_tracker" not in cmdline:
            out.append((int(entry), fields[0]))
    return out


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (a zombie has exited; where PID 1 does not reap
    orphans, as in containers without an init, killed orphans stay zombies for good)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc to tell a zombie from a live process: assume the worst
    return state not in ("Z", "X")


def run_within(fn: Callable[[], Awaitable[None]], within: float) -> None:
    """Run ``fn`` on a fresh event loop, failing the test if it takes longer than ``within`` seconds."""

    async def bounded() -> None:
        with anyio.fail_after(within):
            await fn()

    anyio.run(bounded)


def run(fn: Callable[[], Awaitable[None]], *, within: float = 30.0) -> None:
    run_within(fn, within)


def faulty() -> MCPToolset:
    """``faulty_server.py`` over stdio: tools that raise, crash, hang or flood stderr on request."""
    return MCPToolset.stdio(sys.executable, [str(SERVERS / "faulty_server.py")])


def time_server() -> MCPToolset:
    return MCPToolset.stdio(TIME_SERVER[0], TIME_SERVER[1:])


@pytest.fixture(autouse=True)
def no_leftover_children() -> Any:
    """Import into a test module to check that each of its tests leaves no child process (or zombie) behind."""
    yield
    assert child_processes() == [], "a test left a child process (or zombie) behind"
