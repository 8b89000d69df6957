"""The keep-alive HTTP/1.1 pool used for plain-HTTP model endpoints, against real TCP servers on 127.0.0.1.

Each test runs a small asyncio server in the test's own event loop whose misbehaviour is the point of the test
(closing idle connections, chunked bodies, never answering), and talks to it through ``httpx`` or the
``OpenAIBackend`` exactly as synthesis and evaluation do.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest

import toolkit.backends
from toolkit.backends import ChatRequest, OpenAIBackend, OpenAIConfig
from toolkit.backends.http_pool import PlainHTTPPool, plain_http_target, pooled_http_client

pytestmark = pytest.mark.anyio

COMPLETION = {"id": "c", "object": "chat.completion", "created": 0, "model": "m",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"},
                           "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}

# What the server does with the n-th request (0-based) on a connection: an answer to write, None to close the
# connection without answering, or "hang" to never answer.
Policy = Callable[[int, bytes], Awaitable[bytes | str | None]]


def answer(body: Any = COMPLETION, *, headers: str = "") -> bytes:
    payload = json.dumps(body).encode()
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n{headers}\r\n"
            ).encode() + payload


class _Server:
    def __init__(self, policy: Policy):
        self.policy = policy
        self.connections = 0
        self.requests = 0
        self.handlers: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            for n in range(1000):
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                self.requests += 1
                reply = await self.policy(n, head)
                if reply == "hang":
                    await asyncio.sleep(3600)
                if reply is None:
                    break
                writer.write(reply)  # type: ignore[arg-type]
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def serving(policy: Policy) -> AsyncIterator[tuple[_Server, str]]:
    state = _Server(policy)
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield state, f"http://127.0.0.1:{port}/v1"
    finally:
        server.close()
        for task in state.handlers:
            task.cancel()
        await asyncio.gather(*state.handlers, return_exceptions=True)
        await server.wait_closed()


async def always(n: int, head: bytes) -> bytes:
    return answer()


@pytest.fixture(autouse=True)
def _allow_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolkit.backends, "ALLOW_MODEL_REQUESTS", True)


Send = Callable[[], Awaitable[tuple[int, Any]]]


@pytest.fixture(params=["httpx", "direct"])
def via(request: pytest.FixtureRequest) -> str:
    """The pool's two entry points: as an httpx transport (the `openai` client's path) and its own whole-answer
    `request` (OpenAIBackend's path on asyncio)."""
    return str(request.param)


@asynccontextmanager
async def client_for(via: str, url: str) -> AsyncIterator[Send]:
    """A function posting one small JSON body to ``url``'s chat completions; returns (status, parsed body)."""
    if via == "httpx":
        client = pooled_http_client(url)
        assert client is not None
        async with client:
            async def send_httpx() -> tuple[int, Any]:
                response = await client.post(url + "/chat/completions", content=b'{"x": 1}',
                                             headers={"Content-Type": "application/json"})
                return response.status_code, response.json()
            yield send_httpx
        return
    target = plain_http_target(url)
    assert target is not None
    pool = PlainHTTPPool()
    headers = [(b"host", target.host_header), (b"content-type", b"application/json"), (b"content-length", b"8")]

    async def send_direct() -> tuple[int, Any]:
        answer = await pool.request(target.origin, b"POST", f"{target.path}/chat/completions".encode(), headers,
                                    b'{"x": 1}', timeout=10)
        return answer.status, json.loads(answer.body)
    try:
        yield send_direct
    finally:
        await pool.aclose()


async def test_sequential_requests_share_one_kept_alive_connection(via: str) -> None:
    async with serving(always) as (server, url):
        async with client_for(via, url) as send:
            for _ in range(5):
                status, body = await send()
                assert status == 200 and body["choices"][0]["message"]["content"] == "hello"
        assert (server.requests, server.connections) == (5, 1)


async def test_concurrent_requests_open_connections_in_parallel_then_reuse_them(via: str) -> None:
    async def slow(n: int, head: bytes) -> bytes:
        await asyncio.sleep(0.05)
        return answer()

    async with serving(slow) as (server, url):
        async with client_for(via, url) as send:
            for _ in range(3):
                responses = await asyncio.gather(*(send() for _ in range(8)))
                assert all(status == 200 for status, _ in responses)
        assert (server.requests, server.connections) == (24, 8)


async def test_chunked_answer_is_reassembled(via: str) -> None:
    payload = json.dumps(COMPLETION).encode()
    chunks = [payload[:10], payload[10:]]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"

    async def chunked(n: int, head: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + body

    async with serving(chunked) as (server, url):
        async with client_for(via, url) as send:
            for _ in range(2):
                assert await send() == (200, COMPLETION)
        assert server.connections == 1


async def test_connection_close_answer_is_not_reused(via: str) -> None:
    async def closing(n: int, head: bytes) -> bytes | None:
        return answer(headers="Connection: close\r\n") if n == 0 else None

    async with serving(closing) as (server, url):
        async with client_for(via, url) as send:
            for _ in range(3):
                assert (await send())[0] == 200
        assert (server.requests, server.connections) == (3, 3)


async def test_request_on_a_connection_the_server_dropped_is_retried_once_on_a_fresh_one(via: str) -> None:
    # The server answers the first request of each connection and silently closes on the second: the race where
    # a keep-alive connection expires on the server just as the client reuses it.
    async def first_only(n: int, head: bytes) -> bytes | None:
        return answer() if n == 0 else None

    async with serving(first_only) as (server, url):
        async with client_for(via, url) as send:
            for _ in range(3):
                assert (await send())[0] == 200
        # request 2 is sent on connection 1 (dropped), then again on connection 2; likewise request 3
        assert (server.requests, server.connections) == (5, 3)


async def test_fresh_connection_closed_without_answer_is_an_error_not_a_retry(via: str) -> None:
    async def never(n: int, head: bytes) -> None:
        return None

    async with serving(never) as (server, url):
        async with client_for(via, url) as send:
            with pytest.raises(httpx2.RemoteProtocolError, match="without answering"):
                await send()
        assert server.requests == 1


async def test_backend_over_the_pool_maps_timeouts_refusals_and_non_json_bodies() -> None:
    async def hang(n: int, head: bytes) -> str:
        return "hang"

    async with serving(hang) as (_, url):
        backend = OpenAIBackend(OpenAIConfig(model="m", base_url=url, api_key_env=None, max_retries=0,
                                             request_timeout=0.3))
        async with backend:
            [response] = await backend.generate([ChatRequest(messages=[{"role": "user", "content": "hi"}])])
        assert response.error_kind == "timeout"

    async def not_json(n: int, head: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello"

    async with serving(not_json) as (_, url):
        async with OpenAIBackend(OpenAIConfig(model="m", base_url=url, api_key_env=None, max_retries=0)) as backend:
            [response] = await backend.generate([ChatRequest(messages=[{"role": "user", "content": "hi"}])])
        assert response.error_kind == "other" and "not JSON" in (response.error or "")

    async with serving(always) as (_, url):
        pass  # the port is free again: nothing listens there now
    async with OpenAIBackend(OpenAIConfig(model="m", base_url=url, api_key_env=None, max_retries=0)) as backend:
        [response] = await backend.generate([ChatRequest(messages=[{"role": "user", "content": "hi"}])])
    assert response.error_kind == "connection"


async def test_backend_answers_through_the_pool() -> None:
    async with serving(always) as (server, url):
        async with OpenAIBackend(OpenAIConfig(model="m", base_url=url, api_key_env=None)) as backend:
            assert isinstance(backend._client._client._transport, PlainHTTPPool)
            responses = await backend.generate([ChatRequest(messages=[{"role": "user", "content": str(i)}])
                                                for i in range(4)])
        assert [r.text for r in responses] == ["hello"] * 4
        assert responses[0].usage.prompt_tokens == 3


def test_https_and_proxied_hosts_keep_the_default_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert pooled_http_client("https://api.openai.com/v1") is None
    assert pooled_http_client(None) is None
    assert isinstance(pooled_http_client("http://10.0.0.5:8000/v1"), httpx2.AsyncClient)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert pooled_http_client("http://10.0.0.5:8000/v1") is None
    monkeypatch.setenv("NO_PROXY", "10.0.0.5")
    assert isinstance(pooled_http_client("http://10.0.0.5:8000/v1"), httpx2.AsyncClient)


async def test_backend_reads_answers_of_unusual_shape_without_crashing() -> None:
    odd = {"choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
        "role": "assistant", "content": [{"type": "text", "text": "Checking "}, {"type": "text", "text": "now."}],
        "tool_calls": [{"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
                       {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": [1, 2]}}]}}],
        "usage": {"prompt_tokens": "many", "completion_tokens": 4}}

    async def strange(n: int, head: bytes) -> bytes:
        return answer(odd)

    async with serving(strange) as (_, url):
        async with OpenAIBackend(OpenAIConfig(model="m", base_url=url, api_key_env=None, max_retries=0)) as backend:
            [response] = await backend.generate([ChatRequest(messages=[{"role": "user", "content": "hi"}])])
    assert response.text == "Checking now."
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("get_weather", {"city": "Oslo"})]
    assert response.malformed_tool_calls[0].raw_arguments == "[1, 2]"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (0, 4)


def test_plain_http_target_names_origin_host_header_and_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    target = plain_http_target("http://user:pw@localhost:8000/v1/")
    assert target is not None
    assert (target.origin, target.host_header, target.path) == (("localhost", 8000), b"localhost:8000", "/v1")
    ipv6 = plain_http_target("http://[::1]/v1")
    assert ipv6 is not None and (ipv6.origin, ipv6.host_header) == (("::1", 80), b"[::1]")
    assert plain_http_target("https://api.openai.com/v1") is None


async def test_backend_sends_the_same_headers_and_body_on_either_path() -> None:
    heads: list[bytes] = []

    async def record(n: int, head: bytes) -> bytes:
        heads.append(head)
        return answer()

    async with serving(record) as (_, url):
        for direct in (True, False):
            async with OpenAIBackend(OpenAIConfig(model="m", base_url=url, api_key_env=None)) as backend:
                backend._direct = direct
                [response] = await backend.generate([ChatRequest(messages=[{"role": "user", "content": "hi"}])])
            assert response.text == "hello"
    direct_head, sdk_head = ({line.split(b":")[0].lower(): line for line in head.split(b"\r\n")[1:] if line}
                             for head in heads)
    assert heads[0].split(b"\r\n")[0] == heads[1].split(b"\r\n")[0] == b"POST /v1/chat/completions HTTP/1.1"
    for name in (b"host", b"content-type", b"authorization", b"content-length"):
        assert direct_head[name].lower() == sdk_head[name].lower(), name
