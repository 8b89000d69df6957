"""Client CPU per chat-completions request at 64 in flight: the default httpx pool and the ``openai`` client vs
ToolGym's plain-HTTP pool, as an httpx transport and as the direct path ``OpenAIBackend`` takes on asyncio.

Every variant posts the same JSON body to the same loopback server (separate process, 100 ms answers, so 64 in
flight is the most the server lets through at once) and reads the answer as JSON. The figure is the client
process's CPU time per request; the ratio is against the default httpx client in this run.

    python bench/http_client_overhead.py [--requests 2560] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BODY = json.dumps({"model": "m", "messages": [{"role": "system", "content": "You are a helpful assistant."},
                                               {"role": "user", "content": "How much is 5 km in mi?"}],
                   "temperature": 0.0, "max_tokens": 64}).encode()
HEADERS = {"Content-Type": "application/json"}


def _serve(port_queue: mp.Queue, delay: float, stop: Any) -> None:  # type: ignore[type-arg]
    from tests.toolkit.openai_loopback import OpenAILoopback, Reply

    with OpenAILoopback(responder=lambda body: Reply.text("5 km is 3.1 mi.").slow(delay),
                        inline_responder=True) as server:
        port_queue.put(server.base_url)
        stop.wait()


def _variants(url: str) -> dict[str, Callable[[], tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[None]]]]]:
    import httpx2
    import openai

    from toolkit.backends.http_pool import PlainHTTPPool, plain_http_target, pooled_http_client

    def httpx_client(client: httpx2.AsyncClient) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[None]]]:
        async def one() -> Any:
            return json.loads((await client.post(url + "/chat/completions", content=BODY, headers=HEADERS)).content)
        return one, client.aclose

    def openai_client(http_client: Any) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[None]]]:
        client = openai.AsyncOpenAI(api_key="x", base_url=url, max_retries=0, http_client=http_client)

        async def one() -> Any:
            raw = await client.post("/chat/completions", content=BODY, cast_to=httpx2.Response,
                                    options={"headers": HEADERS})
            return json.loads(raw.content)
        return one, client.close

    def direct() -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[None]]]:
        target = plain_http_target(url)
        assert target is not None
        pool = PlainHTTPPool()
        path = f"{target.path}/chat/completions".encode()
        headers = [(b"host", target.host_header), (b"content-type", b"application/json"),
                   (b"authorization", b"Bearer x"), (b"content-length", str(len(BODY)).encode())]

        async def one() -> Any:
            return json.loads((await pool.request(target.origin, b"POST", path, headers, BODY, timeout=60)).body)
        return one, pool.aclose

    return {
        "httpx, default pool": lambda: httpx_client(httpx2.AsyncClient(limits=httpx2.Limits(max_connections=None))),
        "httpx, PlainHTTPPool": lambda: httpx_client(pooled_http_client(url)),  # type: ignore[arg-type]
        "openai, default client": lambda: openai_client(None),
        "openai, PlainHTTPPool": lambda: openai_client(pooled_http_client(url)),
        "PlainHTTPPool.request (OpenAIBackend, plain HTTP)": direct,
    }


async def _measure(make: Callable[[], tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[None]]]],
                   n: int, concurrency: int) -> tuple[float, float]:
    one, close = make()
    gate = asyncio.Semaphore(concurrency)

    async def bounded() -> None:
        async with gate:
            await one()

    await asyncio.gather(*(bounded() for _ in range(concurrency)))  # open the connections before timing
    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(bounded() for _ in range(n)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    await close()
    return 1000 * cpu / n, n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2560)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--delay", type=float, default=0.1)
    args = parser.parse_args()

    from toolkit.tables import format_table

    ctx = mp.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve, args=(queue, args.delay, stop), daemon=True)
    server.start()
    try:
        url = queue.get(timeout=60)
        results = {name: asyncio.run(_measure(make, args.requests, args.concurrency))
                   for name, make in _variants(url).items()}
    finally:
        stop.set()
        server.join(timeout=10)
    baseline = results["httpx, default pool"][0]
    ideal = args.concurrency / args.delay
    rows = [(name, f"{ms:.3f}", f"{baseline / ms:.2f}x", f"{rate:.0f}", f"{rate / ideal:.2f}")
            for name, (ms, rate) in results.items()]
    print(f"{args.requests} requests, {args.concurrency} in flight, {1000 * args.delay:.0f} ms answers")
    print(format_table(rows, ("client", "CPU ms/request", "vs httpx default", "requests/s", "share of ideal")))


if __name__ == "__main__":
    main()
