"""MCP call throughput over one stdio session: sequential calls vs 16 calls in flight, same calls.

The server (this file, run with ``--serve``) answers each call after an async sleep of ``--latency-ms`` (20 ms
by default), the stand-in for a tool that waits on I/O. Sequential calls pay that latency one after another;
with calls in flight over the same session the waits overlap, so the ratio measures request pipelining through
:class:`toolkit.mcp_tools.MCPToolset` (target: at least 4x with 16 in flight). Every result is checked, so a
fast wrong answer cannot count.

    python bench/mcp_concurrency.py [--calls 320] [--concurrency 16] [--latency-ms 20] [--transport http] [--protocol legacy]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


def serve(latency_ms: float, transport: str) -> None:
    import anyio
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("bench", log_level="WARNING")  # per-request INFO logs would dominate the timing

    @server.tool()
    async def work(n: int) -> int:
        """Wait for the fixed latency, then return n squared."""
        await anyio.sleep(latency_ms / 1000)
        return n * n

    if transport == "stdio":
        server.run("stdio")
        return

    from toolkit.mcp_serve import running_http_server

    async def http() -> None:
        async with running_http_server(server, port=0) as url:
            print(url, flush=True)
            await anyio.sleep_forever()

    anyio.run(http)


@asynccontextmanager
async def toolset(transport: str, latency_ms: float, protocol: str) -> AsyncIterator[Any]:
    """The benchmark server as a subprocess, reached over ``transport``."""
    import anyio

    from toolkit.mcp_tools import MCPToolset

    args = [__file__, "--serve", "--latency-ms", str(latency_ms), "--transport", transport]
    if transport == "stdio":
        async with MCPToolset.stdio(sys.executable, args, name="bench", protocol=protocol) as ts:
            yield ts
        return
    process = await anyio.open_process([sys.executable, *args], stderr=None)
    try:
        assert process.stdout is not None
        with anyio.fail_after(30):
            line = b""
            while not line.endswith(b"\n"):
                line += await process.stdout.receive()
        async with MCPToolset.http(line.decode().strip(), name="bench", protocol=protocol) as ts:
            yield ts
    finally:
        process.terminate()
        with anyio.fail_after(10):
            await process.wait()
        await process.aclose()


async def measure(
    calls: int, concurrency: int, latency_ms: float, transport: str, protocol: str
) -> dict[str, Any]:
    import anyio

    from toolkit.toolsets import CallLimits

    limits = CallLimits(timeout=30.0)
    inputs = list(range(calls))
    async with toolset(transport, latency_ms, protocol) as ts:
        for n in range(concurrency):  # warm-up: imports, first-call paths
            await ts.call_tool("work", {"n": n}, limits=limits)

        start = time.perf_counter()
        sequential = [await ts.call_tool("work", {"n": n}, limits=limits) for n in inputs]
        t_seq = time.perf_counter() - start

        concurrent: list[Any] = [None] * calls
        queue = iter(inputs)

        async def worker() -> None:
            for n in queue:  # the shared iterator hands each call to exactly one worker
                concurrent[n] = await ts.call_tool("work", {"n": n}, limits=limits)

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
        t_conc = time.perf_counter() - start

    for n, (a, b) in enumerate(zip(sequential, concurrent, strict=True)):
        expected = {"result": n * n}
        if b is None or a.structured != expected or b.structured != expected:
            raise SystemExit(f"call {n} went wrong: sequential={a!r} concurrent={b!r}")
    return {"sequential": calls / t_seq, "concurrent": calls / t_conc, "ratio": t_seq / t_conc}


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--calls", type=int, default=320, help="calls per mode (default: 320)")
    parser.add_argument("--concurrency", type=int, default=16, help="calls in flight at once (default: 16)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="server latency per call (default 20)")
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default: stdio")
    parser.add_argument("--protocol", choices=("auto", "legacy"), default="auto", help="default: auto")
    parser.add_argument("--serve", action="store_true", help="run as the benchmark's MCP server (internal)")
    args = parser.parse_args()
    if args.serve:
        serve(args.latency_ms, args.transport)
        return

    import anyio

    figures = anyio.run(measure, args.calls, args.concurrency, args.latency_ms, args.transport, args.protocol)
    session = "stdio session" if args.transport == "stdio" else "streamable-HTTP client"
    print(
        f"MCP over one {session} (protocol {args.protocol}), {args.calls} calls, "
        f"{args.latency_ms:g} ms server latency per call"
    )
    print(f"  sequential           {figures['sequential']:8.1f} calls/s")
    print(f"  {args.concurrency:2d} in flight         {figures['concurrent']:8.1f} calls/s")
    print(f"  ratio                {figures['ratio']:8.2f}x  (target >= 4x)")


if __name__ == "__main__":
    main()
