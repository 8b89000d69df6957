"""Connections to one MCP server: start, watch, retire and restart them without leaking processes.

Every connection is owned by one background task, because the SDK's ``Client`` opens task groups that must be
closed by the task that opened them; callers in any task borrow the current connection. A connection that
broke (the server exited, the HTTP session died) or timed out is *retired*: no new call goes to it, it is
closed once its last in-flight call returns, and the next call gets a freshly started server or session.

A stdio server's whole process tree goes with it (see :func:`owning_process_group`): the SDK signals the
server's process group only when the server itself outlives the grace period after its stdin closes, so a
server that exits on time (or crashed) would leave its workers, or the real server behind a launcher such as
``uvx`` or ``sh -c``, running.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from typing import IO, Any, Self

import anyio
import anyio.abc
from mcp import Client
from mcp.client._transport import Transport, TransportStreams
from mcp.types import Implementation

from toolkit.errors import UserError
from toolkit.specs import ToolSpec

logger = logging.getLogger(__name__)

MAX_LIST_PAGES = 1_000
"""A server whose ``tools/list`` pages never end is refused after this many pages."""
MAX_TOOLS = 10_000
STDERR_TAIL_BYTES = 2_000
STDERR_KEEP_BYTES = 1_000_000
"""A server's captured stderr is cut back to its tail once it grows past this."""

GROUP_TERM_GRACE = 2.0
"""Seconds the processes left in a stopped stdio server's process group get between SIGTERM and SIGKILL."""
_GROUP_POLL = 0.02
_KILL_WAIT = 2.0
"""Bound on the wait for SIGKILL to land; only a process stuck in the kernel runs it out."""

_CLIENT_INFO = Implementation(name="toolgym", version="0.1.0")

# Makes the transport (or in-process server) for one connection; resources go on the stack.
Connector = Callable[[AsyncExitStack, "Connection"], Awaitable[Any]]
Lister = Callable[[Client], Awaitable[list[ToolSpec]]]


class _WatchedReadStream:
    """Read side of a transport that reports when the server stops talking (EOF or a closed stream).

    This is how a server that died *between* calls is noticed before the next call is sent to it.
    """

    def __init__(self, inner: Any, on_end: Callable[[], None]):
        self._inner = inner
        self._on_end = on_end

    @property
    def last_context(self) -> Any:  # the HTTP transport's context streams carry one; the dispatcher reads it
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._on_end()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _WatchedReadStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


@asynccontextmanager
async def watched(transport: Transport, on_end: Callable[[], None]) -> AsyncIterator[TransportStreams]:
    async with transport as (read_stream, write_stream):
        yield _WatchedReadStream(read_stream, on_end), write_stream  # type: ignore[misc]


# -- stdio process trees (POSIX) -----------------------------------------------------------------------------

_SPAWN_HOOK = "_create_platform_compatible_process"
"""The private function ``mcp.client.stdio.stdio_client`` spawns the server with (mcp 2.3): the SDK exposes
neither the process nor its pid. ``tests/toolkit/test_mcp_process_tree.py`` pins it, and fails loudly if the
SDK renames it, stops calling it, or stops starting the server in a new session."""

_spawned: ContextVar[list[int] | None] = ContextVar("toolgym_mcp_spawned", default=None)
"""Where the hooked spawn reports the pid of the server it started, for the task that is connecting."""
_hook_state: dict[str, bool] = {}


def hook_sdk_spawn() -> bool:
    """Wrap the SDK's stdio spawn (once) so that it reports the server's pid; False if the SDK changed.

    The wrapper only records the pid (when a connection asked for it through ``_spawned``) and returns the
    SDK's own process unchanged, so any other user of ``stdio_client`` in this process sees no difference.
    """
    if "installed" in _hook_state:
        return _hook_state["installed"]
    import mcp.client.stdio as sdk_stdio

    original = getattr(sdk_stdio, _SPAWN_HOOK, None)
    if original is None:
        logger.warning(
            "mcp.client.stdio.%s is gone (MCP SDK changed): processes that stdio MCP servers start may "
            "outlive them; toolkit/_mcp_session.py needs another way to learn the server's pid",
            _SPAWN_HOOK,
        )
        _hook_state["installed"] = False
        return False

    async def spawn_and_report(*args: Any, **kwargs: Any) -> Any:
        process = await original(*args, **kwargs)
        report = _spawned.get()
        if report is not None and _leads_own_group(process.pid):
            report.append(process.pid)
        return process

    setattr(sdk_stdio, _SPAWN_HOOK, spawn_and_report)
    _hook_state["installed"] = True
    return True


@asynccontextmanager
async def owning_process_group(transport: Transport) -> AsyncIterator[TransportStreams]:
    """An SDK ``stdio_client`` transport that, once closed, also stops whatever is left of the server's tree.

    The SDK starts the server in a new session, so its pid is the id of a process group that every process
    it starts joins (unless one leaves on purpose, as daemons do). After the SDK's own shutdown (close stdin,
    wait, terminate), the group gets SIGTERM, then SIGKILL after :data:`GROUP_TERM_GRACE` seconds. Windows is
    left to the SDK, whose Job Object already takes the whole tree down when the server stops.
    """
    if sys.platform == "win32" or not hook_sdk_spawn():
        async with transport as streams:
            yield streams
        return
    pids: list[int] = []
    async with AsyncExitStack() as stack:
        stack.push_async_callback(_stop_groups, pids)  # runs after the transport has closed
        token = _spawned.set(pids)
        try:
            streams = await stack.enter_async_context(transport)
        finally:
            _spawned.reset(token)
        yield streams


def _leads_own_group(pid: int) -> bool:
    """Whether the freshly spawned server leads its own process group, as the SDK's new session makes it."""
    try:
        if os.getpgid(pid) == pid:
            return True
    except ProcessLookupError:
        return True  # already exited and reaped: signalling its (empty) group is harmless
    logger.warning(
        "MCP SDK no longer starts stdio servers in their own process group (server pid %d): processes they "
        "start may outlive them",
        pid,
    )
    return False


async def _stop_groups(pids: list[int]) -> None:
    with anyio.CancelScope(shield=True):  # a cancelled close must not leak the tree; every wait is bounded
        for pgid in pids:
            await _stop_group(pgid)


async def _stop_group(pgid: int) -> None:
    """SIGTERM what is left of process group ``pgid``, and SIGKILL it if anything still runs after the grace.

    The leader is usually gone (reaped) by now; the group outlives it, and its id is not reused while it does.
    """
    if not _signal_group(pgid, signal.SIGTERM):
        return
    with anyio.move_on_after(GROUP_TERM_GRACE):
        while _group_running(pgid):
            await anyio.sleep(_GROUP_POLL)
        return
    logger.debug("MCP server process group %d outlived SIGTERM by %g s; killing it", pgid, GROUP_TERM_GRACE)
    if not _signal_group(pgid, signal.SIGKILL):
        return
    with anyio.move_on_after(_KILL_WAIT):  # a kill lands when the process next runs, not at once
        while _group_running(pgid):
            await anyio.sleep(_GROUP_POLL)
        return
    logger.warning("process group %d of an MCP server is still running after SIGKILL; abandoning it", pgid)


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; False once the group is gone."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we may not signal, or a zombie on macOS: not proof the group is gone
        logger.debug("no permission to signal all of process group %d", pgid, exc_info=True)
    return True


def _group_running(pgid: int) -> bool:
    """Whether the group has a member that is not a zombie.

    Zombies do not count: where PID 1 does not reap orphans (a container without an init), the killed
    members stay zombies for good, and waiting for them would always run out the grace period.
    """
    if not _signal_group(pgid, 0):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no /proc (macOS): the signal probe is all there is
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            return True
    return False


class Connection:
    """One live client session to the server, plus the bookkeeping to retire it safely."""

    def __init__(self, generation: int):
        self.generation = generation
        self.client: Client | None = None
        self.specs: list[ToolSpec] = []
        self.error: BaseException | None = None
        self.inflight = 0
        self.retired = False
        self.dead = False
        self.ready = anyio.Event()
        self.stop = anyio.Event()
        self.closed = anyio.Event()
        self.stderr: IO[bytes] | None = None
        self._stderr_tail = ""
        self._trimmable = False
        self._connecting: anyio.CancelScope | None = None

    @property
    def usable(self) -> bool:
        return self.client is not None and not (self.retired or self.dead)

    def mark_dead(self) -> None:
        """The server stopped talking: route new calls elsewhere and release this session's resources."""
        self.dead = True
        self.retire()

    def retire(self) -> None:
        """No new calls; close as soon as the calls still running have returned (or now, if still connecting)."""
        self.retired = True
        if self.inflight == 0:
            self.stop.set()
        if self.client is None and self._connecting is not None:
            self._connecting.cancel()  # nobody will use it: don't wait out the connect timeout

    def release(self) -> None:
        self.inflight -= 1
        if self.retired and self.inflight == 0:
            self.stop.set()
        self.trim_stderr()

    def open_stderr(self) -> IO[bytes]:
        """A file for the server's stderr, so a crash report can quote the server's last words.

        A file, not a pipe: a chatty server never blocks on a full pipe nobody reads. Opened in append mode so
        that the server's writes always land at the end, even after :meth:`trim_stderr` cut the file short.
        """
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the connection; closed by it
        if sys.platform != "win32":  # no O_APPEND toggle there: the file is then never trimmed
            import fcntl

            fd = self.stderr.fileno()
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)
            self._trimmable = True
        return self.stderr

    def stderr_tail(self) -> str:
        if self.stderr is None or self.stderr.closed:
            return self._stderr_tail
        fd = self.stderr.fileno()
        size = os.fstat(fd).st_size
        data = os.pread(fd, min(size, STDERR_TAIL_BYTES), max(0, size - STDERR_TAIL_BYTES))
        return data.decode("utf-8", "replace").strip()

    def trim_stderr(self) -> None:
        """Keep only the tail of a long-running server's stderr, so a chatty server cannot fill the disk."""
        if self.stderr is None or self.stderr.closed or not self._trimmable:
            return
        fd = self.stderr.fileno()
        size = os.fstat(fd).st_size
        if size > STDERR_KEEP_BYTES:
            tail = os.pread(fd, STDERR_TAIL_BYTES, size - STDERR_TAIL_BYTES)
            os.ftruncate(fd, 0)
            os.write(fd, tail)  # O_APPEND: lands at the (new) end, as do the server's own writes

    def close_stderr(self) -> None:
        if self.stderr is not None and not self.stderr.closed:
            self._stderr_tail = self.stderr_tail()
            self.stderr.close()


class ConnectionPool:
    """The current connection to one server, restarted on demand; lives in a task group the toolset owns."""

    def __init__(
        self,
        server_name: str,
        connector: Connector,
        lister: Lister,
        *,
        connect_timeout: float,
        mode: str = "auto",
    ):
        self.server_name = server_name
        self._mode = mode
        self._connector = connector
        self._lister = lister
        self._connect_timeout = connect_timeout
        self._tg: anyio.abc.TaskGroup | None = None
        self._current: Connection | None = None
        self._all: set[Connection] = set()
        self._lock = anyio.Lock()
        self._generation = 0

    def attach(self, tg: anyio.abc.TaskGroup | None) -> None:
        self._tg = tg

    async def acquire(self) -> Connection:
        """The live connection, starting a fresh one if there is none. Raises :class:`StartError`."""
        conn = self._current
        if conn is not None and conn.usable:
            return conn
        async with self._lock:  # one restart for all the callers that found the connection gone
            conn = self._current
            if conn is not None and conn.usable:
                return conn
            if conn is not None:
                conn.retire()
            self._current = conn = await self._start()
            return conn

    async def _start(self) -> Connection:
        if self._tg is None:
            raise UserError(
                f"MCP toolset {self.server_name!r} is not open; "
                "use `async with toolset:` (or a ToolRegistry) first"
            )
        self._generation += 1
        conn = Connection(self._generation)
        self._all.add(conn)
        self._tg.start_soon(self._own, conn)
        try:
            await conn.ready.wait()  # bounded: _own applies the connect timeout
        except BaseException:  # the caller gave up (its own deadline): don't leave an unused server running
            conn.retire()
            raise
        if conn.error is not None:
            raise StartError(self._describe_start_failure(conn))
        return conn

    def _describe_start_failure(self, conn: Connection) -> str:
        leaves = _leaves(conn.error) if conn.error is not None else []
        for err in leaves:
            if isinstance(err, UserError):  # a bad tool listing: the message names the tool and the fix
                return str(err)
        reason = "; ".join(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__ for e in leaves)
        tail = conn.stderr_tail()
        msg = f"could not connect to MCP server {self.server_name!r}: {reason}"
        msg += f"\nserver stderr (last lines):\n{tail}" if tail else ""
        return msg + "\nCheck the command or URL, and that the server starts and answers on its own."

    async def _own(self, conn: Connection) -> None:
        """Open the session, list the tools, hold the session until told to stop, close it; in one task."""
        try:
            with anyio.CancelScope() as scope:
                conn._connecting = scope
                scope.deadline = anyio.current_time() + self._connect_timeout
                try:
                    async with AsyncExitStack() as stack:
                        target = await self._connector(stack, conn)
                        client = Client(target, cache=None, client_info=_CLIENT_INFO, mode=self._mode)
                        await stack.enter_async_context(client)
                        conn.specs = await self._lister(client)
                        scope.deadline = math.inf  # connected: the connect timeout no longer applies
                        conn.client = client
                        conn.ready.set()
                        await conn.stop.wait()
                except Exception as exc:  # noqa: BLE001 - untrusted server boundary: record, never propagate
                    if conn.client is None:
                        conn.error = exc
                    else:
                        logger.debug(
                            "MCP connection %s #%d ended: %r", self.server_name, conn.generation, exc
                        )
            if scope.cancelled_caught and conn.client is None and conn.error is None:
                why = f"no answer within the connect timeout of {self._connect_timeout:g} s"
                conn.error = TimeoutError(why)
        finally:  # also when the toolset's task group is cancelled from outside (a caller gave up on open)
            conn.dead = True
            conn.close_stderr()
            conn.ready.set()
            conn.closed.set()
            self._all.discard(conn)

    async def close(self) -> None:
        """Stop every connection (in-flight calls on them end as ``crash`` results)."""
        for conn in list(self._all):
            conn.retired = True
            conn.stop.set()
        self._current = None


def _leaves(exc: BaseException) -> list[BaseException]:
    """The real errors inside (possibly nested) exception groups raised by the SDK's task groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


class StartError(UserError):
    """A server or session could not be (re)started, or listed unusable tools; the message says why."""
