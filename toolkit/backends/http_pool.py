"""A keep-alive HTTP/1.1 connection pool for plain ``http://`` endpoints, as an ``httpx`` transport.

Why not the default transport: ``httpcore``'s pool walks *every* connection on each request and on each release,
polling each socket to see whether it expired. At 64 requests in flight that bookkeeping costs about half a
millisecond of client CPU per request (``bench/http_client_overhead.py``), a large share of what bounded synthesis
and evaluation against a fast local server (vLLM, SGLang, llama.cpp on the same network), where the client's
event loop, not the server, is saturated. This pool keeps idle connections per origin in a LIFO stack and checks
only the one it takes, so a request costs O(1).

Scope, so that the standard path stays in charge of everything subtle: plain HTTP/1.1 only, no proxies, no TLS.
:func:`pooled_http_client` returns ``None`` (use the default client) for ``https`` URLs and for hosts an
environment proxy applies to. HTTP framing is ``h11``'s, not hand-rolled. A request that fails on a *reused*
connection before any byte of an answer arrived (the server closed an idle keep-alive connection as we sent) is
retried once on a fresh connection, as browsers and urllib3 do. Timeouts come from the request (``httpx``'s
``timeout`` extension) and raise the matching ``httpx`` exceptions, so callers see the same errors either way.
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11
import httpx2
import sniffio

__all__ = ["HTTPAnswer", "PlainHTTPPool", "PlainHTTPTarget", "plain_http_target", "pooled_http_client"]

_READ_SIZE = 65536
_KEEPALIVE_EXPIRY = 4.0  # seconds an idle connection is trusted: under uvicorn's 5 s idle close, vLLM's server


class _Stale(Exception):
    """A reused connection turned out to be closed before the server answered anything."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)
        self.idle_since = time.monotonic()
        self.reused = False

    def looks_alive(self) -> bool:
        """Idle, not expired, and the server has not closed it (the loop reads idle sockets, so EOF is seen)."""
        return (time.monotonic() - self.idle_since <= _KEEPALIVE_EXPIRY and not self.reader.at_eof()
                and not self.writer.is_closing())

    async def send(self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes,
                   timeout: float | None) -> None:
        data = self.h11.send(h11.Request(method=method, target=target, headers=headers))
        if body:
            data += self.h11.send(h11.Data(data=body))
        data += self.h11.send(h11.EndOfMessage())
        try:
            self.writer.write(data)
            if self.writer.transport.get_write_buffer_size() > _READ_SIZE:  # only wait when the socket is full
                async with asyncio.timeout(timeout):
                    await self.writer.drain()
        except TimeoutError as exc:
            raise httpx2.WriteTimeout(f"no progress sending the request within {timeout}s") from exc
        except OSError as exc:
            if self.reused:
                raise _Stale from exc
            raise httpx2.WriteError(f"sending the request failed: {exc!r}") from exc

    async def next_event(self, timeout: float | None, *, answered: bool) -> Any:
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpx2.RemoteProtocolError(f"malformed HTTP answer: {exc}") from exc
            if event is not h11.NEED_DATA:
                return event
            try:
                async with asyncio.timeout(timeout):
                    data = await self.reader.read(_READ_SIZE)
            except TimeoutError as exc:
                raise httpx2.ReadTimeout(f"no answer within {timeout}s") from exc
            except OSError as exc:
                if self.reused and not answered:
                    raise _Stale from exc
                raise httpx2.ReadError(f"reading the answer failed: {exc!r}") from exc
            if not data and self.h11.their_state is h11.SEND_RESPONSE:
                if self.reused and not answered:
                    raise _Stale
                raise httpx2.RemoteProtocolError("the server closed the connection without answering")
            self.h11.receive_data(data)

    def close(self) -> None:
        self.writer.close()


class _Body(httpx2.AsyncByteStream):
    """The answer's body; hands the connection back to the pool once the whole message has been read."""

    def __init__(self, pool: PlainHTTPPool, origin: tuple[str, int], conn: _Connection, timeout: float | None):
        self._pool, self._origin, self._timeout = pool, origin, timeout
        self._conn: _Connection | None = conn
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while not self._done and self._conn is not None:
            event = await self._conn.next_event(self._timeout, answered=True)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                self._done = True

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done:
            self._pool._finish(self._origin, conn)
        else:  # half-read: the connection cannot carry another request
            conn.close()


class PlainHTTPPool(httpx2.AsyncBaseTransport):
    """``httpx`` transport for ``http://`` URLs with an O(1) keep-alive pool (see the module docstring).

    It runs on asyncio; under another event loop (trio) requests go through ``httpx``'s default transport.
    """

    def __init__(self, *, max_idle_per_origin: int = 256):
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._max_idle = max_idle_per_origin
        self._closed = False
        self._fallback: httpx2.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.scheme != "http" or sniffio.current_async_library() != "asyncio":
            if self._fallback is None:
                self._fallback = httpx2.AsyncHTTPTransport()
            return await self._fallback.handle_async_request(request)
        if self._closed:
            raise httpx2.ConnectError("the HTTP pool is closed")
        timeouts = request.extensions.get("timeout") or {}
        origin = (request.url.host, request.url.port or 80)
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        conn, event = await self._exchange(origin, request.method.encode(), request.url.raw_path,
                                           list(request.headers.raw), body, connect=timeouts.get("connect"),
                                           write=timeouts.get("write"), read=timeouts.get("read"))
        return httpx2.Response(
            status_code=event.status_code,
            headers=event.headers.raw_items(),
            stream=_Body(self, origin, conn, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": bytes(event.reason)},
        )

    async def request(self, origin: tuple[str, int], method: bytes, target: bytes, headers: list[tuple[bytes, bytes]],
                      body: bytes, *, timeout: float | None) -> HTTPAnswer:
        """One whole exchange without ``httpx``'s request and response objects: the lean path
        :class:`~toolkit.backends.OpenAIBackend` takes on asyncio. ``headers`` must include ``Host`` and the body's
        framing (``Content-Length``). ``timeout`` bounds connecting, sending and each read; failures raise the same
        ``httpx`` exceptions as the transport path."""
        if self._closed:
            raise httpx2.ConnectError("the HTTP pool is closed")
        conn, response = await self._exchange(origin, method, target, headers, body, connect=timeout, write=timeout,
                                              read=timeout)
        chunks: list[bytes] = []
        try:
            while True:
                event = await conn.next_event(timeout, answered=True)
                if isinstance(event, h11.Data):
                    chunks.append(bytes(event.data))
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    break
        except BaseException:
            conn.close()
            raise
        self._finish(origin, conn)
        answer_headers: dict[str, str] = {}
        for name, value in response.headers:  # h11 lower-cases names; repeated fields join as RFC 9110 allows
            key, text = name.decode("latin-1"), value.decode("latin-1")
            answer_headers[key] = f"{answer_headers[key]}, {text}" if key in answer_headers else text
        return HTTPAnswer(status=response.status_code, headers=answer_headers, body=b"".join(chunks))

    async def _exchange(self, origin: tuple[str, int], method: bytes, target: bytes,
                        headers: list[tuple[bytes, bytes]], body: bytes, *, connect: float | None,
                        write: float | None, read: float | None) -> tuple[_Connection, h11.Response]:
        """Send one request and read the answer's head, on a kept-alive connection where one is idle."""
        for _ in range(2):
            conn = self._take(origin) or await self._connect(origin, connect)
            try:
                await conn.send(method, target, headers, body, write)
                event = await conn.next_event(read, answered=False)
                while isinstance(event, h11.InformationalResponse):
                    event = await conn.next_event(read, answered=True)
            except _Stale:
                conn.close()
                continue
            except BaseException:
                conn.close()
                raise
            if not isinstance(event, h11.Response):
                conn.close()
                raise httpx2.RemoteProtocolError(f"expected an HTTP answer, got {type(event).__name__}")
            return conn, event
        raise httpx2.RemoteProtocolError("the server closed the connection twice without answering")

    def _finish(self, origin: tuple[str, int], conn: _Connection) -> None:
        """The answer has been read in full: keep the connection if both sides can go on, else close it."""
        if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
            conn.h11.start_next_cycle()
            self._release(origin, conn)
        else:  # Connection: close, or the server is closing
            conn.close()

    def _take(self, origin: tuple[str, int]) -> _Connection | None:
        stack = self._idle.get(origin)
        while stack:
            conn = stack.pop()
            if conn.looks_alive():
                conn.reused = True
                return conn
            conn.close()
        return None

    def _release(self, origin: tuple[str, int], conn: _Connection) -> None:
        stack = self._idle.setdefault(origin, [])
        if self._closed or len(stack) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        stack.append(conn)

    async def _connect(self, origin: tuple[str, int], timeout: float | None) -> _Connection:
        host, port = origin
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, limit=_READ_SIZE)
        except TimeoutError as exc:
            raise httpx2.ConnectTimeout(f"no connection to {host}:{port} within {timeout}s") from exc
        except OSError as exc:
            raise httpx2.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for stack in idle.values():
            for conn in stack:
                conn.close()
        if self._fallback is not None:
            await self._fallback.aclose()


@dataclass(frozen=True)
class HTTPAnswer:
    """A whole HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class PlainHTTPTarget:
    """Where a plain-HTTP base URL points: the origin to connect to, its ``Host`` header, and the path prefix."""

    origin: tuple[str, int]
    host_header: bytes
    path: str


def plain_http_target(base_url: str | None) -> PlainHTTPTarget | None:
    """The target of a plain-HTTP base URL that no environment proxy applies to; ``None`` for anything else
    (``https``, no URL, a proxied host), which must take the standard client."""
    if not base_url:
        return None
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname:
        return None
    proxies = urllib.request.getproxies_environment()
    if ("http" in proxies or "all" in proxies) and not urllib.request.proxy_bypass_environment(
            parts.hostname, proxies):
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6 literals keep brackets
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    return PlainHTTPTarget(origin=(parts.hostname, parts.port or 80), host_header=host_header.encode("idna"),
                           path=parts.path.rstrip("/"))


def pooled_http_client(base_url: str | None, **client_kwargs: Any) -> httpx2.AsyncClient | None:
    """An ``httpx`` client on :class:`PlainHTTPPool` for a plain-HTTP endpoint with no proxy in the way; ``None``
    where the default client must be used (see :func:`plain_http_target`)."""
    if plain_http_target(base_url) is None:
        return None
    return httpx2.AsyncClient(transport=PlainHTTPPool(), **client_kwargs)
