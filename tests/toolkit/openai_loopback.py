"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API and replays a script.

Reuse it wherever code talks to an OpenAI-compatible endpoint (the evaluator, the LLM-driven synthesizer)::

    from tests.toolkit.openai_loopback import OpenAILoopback, Reply

    script = [Reply.tool_calls(("get_weather", {"city": "Paris"})), Reply.text("Sunny.")]
    with OpenAILoopback(script) as server:
        backend = OpenAIBackend(OpenAIConfig(model="m", base_url=server.base_url, api_key_env=None))
        ...
        server.assert_complete()
        assert server.requests[0].body["tools"][0]["function"]["name"] == "get_weather"

Each ``POST /v1/chat/completions`` takes the next scripted :class:`Reply` (or calls ``responder(body)`` when
the script is empty and a responder is set). Replies can be text, tool calls (arguments given as a dict or as
a raw string, so malformed JSON can be sent), HTTP errors with ``Retry-After`` / ``retry-after-ms`` headers,
and slow answers that wait before replying (released at once when the server stops, so no test ever hangs). A
request that arrives after the script ran out gets HTTP 400 (which clients do not retry) and makes
:meth:`OpenAILoopback.assert_complete` fail. ``GET /v1/models`` lists the one model. Every request is recorded
with its path, headers and parsed JSON body.

One asyncio event loop in a background thread serves every connection (HTTP/1.1 parsed by ``h11``: keep-alive,
pipelining, chunked bodies); ``responder`` runs in worker threads, so it may block, and must be thread-safe.
A benchmark whose responder never blocks passes ``inline_responder=True`` to spare the server the thread hand-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast

import h11

__all__ = ["Reply", "ReceivedRequest", "OpenAILoopback"]


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer. Build it with the class methods."""

    status: int = 200
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    delay_s: float = 0.0

    @classmethod
    def text(
        cls, content: str, *, finish_reason: str = "stop", prompt_tokens: int = 11, completion_tokens: int = 7
    ) -> Reply:
        message = {"role": "assistant", "content": content}
        return cls(body=_completion(message, finish_reason, prompt_tokens, completion_tokens))

    @classmethod
    def tool_calls(
        cls, *calls: tuple[str, dict[str, Any] | str], content: str | None = None, prompt_tokens: int = 11,
        completion_tokens: int = 7,
    ) -> Reply:
        """Native tool calls; give arguments as a dict (sent as its JSON text) or as a raw string (sent
        verbatim)."""
        tool_calls = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
            }
            for i, (name, args) in enumerate(calls)
        ]
        message = {"role": "assistant", "content": content, "tool_calls": tool_calls}
        return cls(body=_completion(message, "tool_calls", prompt_tokens, completion_tokens))

    @classmethod
    def error(
        cls, status: int, message: str = "scripted error", *, retry_after: str | float | None = None,
        retry_after_ms: float | None = None,
    ) -> Reply:
        headers = []
        if retry_after is not None:
            headers.append(("Retry-After", str(retry_after)))
        if retry_after_ms is not None:
            headers.append(("retry-after-ms", str(retry_after_ms)))
        body = {"error": {"message": message, "type": "scripted", "param": None, "code": str(status)}}
        return cls(status=status, body=body, headers=tuple(headers))

    def slow(self, delay_s: float) -> Reply:
        """The same reply, sent only after ``delay_s`` seconds (or as soon as the server stops)."""
        return Reply(self.status, self.body, self.headers, delay_s)


def _completion(
    message: dict[str, Any], finish_reason: str, prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 0,
        "model": "loopback-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _State:
    """What the test's thread and the server's loop share; every access goes through ``lock``."""

    script: deque[Reply]
    responder: Callable[[Any], Reply] | None
    model: str
    inline_responder: bool = False
    requests: list[ReceivedRequest] = field(default_factory=list)
    overflow: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


_BACKLOG = 512  # a small accept backlog drops connections when many clients arrive at once


class _Connection(asyncio.Protocol):
    """One client connection: h11 parses the bytes as they arrive, and one task answers the requests in order
    (HTTP/1.1 keep-alive and pipelining both mean several requests per connection, answered sequentially)."""

    def __init__(self, state: _State, live: set[_Connection]):
        self._state, self._live = state, live
        self._h11 = h11.Connection(h11.SERVER)
        self._more = asyncio.Event()
        self.closed = asyncio.get_running_loop().create_future()

    # -- transport callbacks (synchronous, on the loop) --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._live.add(self)  # registered before any await, so stop() can never miss a fresh connection
        self.task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        self._h11.receive_data(data)
        self._more.set()

    def eof_received(self) -> bool:
        self._h11.receive_data(b"")
        self._more.set()
        return True  # keep our side open: a client that half-closes after sending still gets its answers

    def connection_lost(self, exc: Exception | None) -> None:
        self._live.discard(self)
        self.task.cancel()  # nobody left to answer: drop a held slow reply rather than write into the void
        self.closed.set_result(None)

    # -- the request/response cycle --

    async def _serve(self) -> None:
        conn = self._h11
        try:
            while isinstance(request := await self._next_event(), h11.Request):
                if conn.they_are_waiting_for_100_continue:
                    self.transport.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
                chunks = []  # h11 has already undone any chunked transfer-encoding
                while isinstance(event := await self._next_event(), h11.Data):
                    chunks.append(event.data)
                self._send(await self._answer(request, b"".join(chunks)))
                if conn.our_state is h11.MUST_CLOSE:  # `Connection: close`, HTTP/1.0, ...
                    break
                conn.start_next_cycle()
        except h11.RemoteProtocolError as exc:  # a malformed request: answer it like a real server would
            if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                error = Reply.error(exc.error_status_hint, f"malformed HTTP request: {exc}")
                self._send(Reply(error.status, error.body, (("Connection", "close"),)))
        except Exception as exc:  # e.g. a responder that raised: log it, drop this connection, keep serving
            asyncio.get_running_loop().call_exception_handler(
                {"message": "loopback OpenAI server: request handler failed", "exception": exc}
            )
        finally:
            self.transport.close()

    async def _next_event(self) -> Any:
        while (event := self._h11.next_event()) is h11.NEED_DATA:
            self._more.clear()
            await self._more.wait()
        return event

    async def _answer(self, request: h11.Request, raw: bytes) -> Reply:
        state, method, path = self._state, request.method.decode(), request.target.decode("latin-1")
        route = path.rstrip("/")
        if method not in ("GET", "POST"):
            return Reply.error(501, f"unsupported method {method}")
        try:
            body = json.loads(raw) if raw and method == "POST" else None
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")  # recorded as text so a test can see what was sent
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers}  # names lower-case
        with state.lock:
            state.requests.append(ReceivedRequest(method, path, headers, body))
        if method == "GET" and route == "/v1/models":
            model = {"id": state.model, "object": "model", "created": 0, "owned_by": "loopback"}
            return Reply(body={"object": "list", "data": [model]})
        if method == "GET" or route != "/v1/chat/completions":
            return Reply.error(404, f"no route {path}")
        with state.lock:
            reply = state.script.popleft() if state.script else None
            if reply is None and state.responder is None:
                state.overflow += 1
        if reply is None and state.responder is not None:
            # In a worker thread, not inline: a responder may block until other requests arrive (see the
            # max-concurrency test in test_backend_openai.py), which would stall every connection on the loop.
            # A benchmark whose responder never blocks asks for it inline (inline_responder=True): the thread
            # hand-off costs the server more CPU per request than the answer itself.
            if state.inline_responder:
                reply = state.responder(body)
            else:
                reply = await asyncio.to_thread(state.responder, body)
        if reply is None:
            reply = Reply.error(400, "loopback script exhausted: more requests arrived than were scripted")
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)  # stop() cancels this task: the held answer is dropped at once
        return reply

    def _send(self, reply: Reply) -> None:
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        try:
            reason = HTTPStatus(reply.status).phrase  # clients show it in error messages
        except ValueError:
            reason = ""
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload))), *reply.headers]
        conn = self._h11
        self.transport.write(
            conn.send(h11.Response(status_code=reply.status, headers=headers, reason=reason))
            + conn.send(h11.Data(data=payload))
            + conn.send(h11.EndOfMessage())
        )


class OpenAILoopback:
    """The server; a context manager that starts on enter and stops (releasing slow answers) on exit.

    One asyncio event loop in one daemon thread serves every connection: a thread per connection would cost
    more (GIL hand-offs between dozens of threads) than the clients under test at high concurrency."""

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        responder: Callable[[Any], Reply] | None = None,
        model: str = "loopback-model",
        inline_responder: bool = False,
    ):
        self._state = _State(script=deque(replies), responder=responder, model=model,
                             inline_responder=inline_responder)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._address: tuple[str, int] | None = None

    def start(self) -> OpenAILoopback:
        ready: Future[tuple[str, int]] = Future()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run(ready)), name="openai-loopback", daemon=True
        )
        self._thread.start()
        try:
            self._address = ready.result(timeout=30)
        except BaseException:
            self.stop()
            raise
        return self

    async def _run(self, ready: Future[tuple[str, int]]) -> None:
        self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
        live: set[_Connection] = set()
        try:
            server = await self._loop.create_server(
                lambda: _Connection(self._state, live), "127.0.0.1", 0, backlog=_BACKLOG
            )
        except Exception as exc:
            ready.set_exception(exc)
            return
        ready.set_result(server.sockets[0].getsockname()[:2])
        await self._stopping.wait()
        server.close()
        await server.wait_closed()
        # Python 3.11's wait_closed() does not wait for open connections: close them ourselves, and wait
        # until each task has finished and each socket is really closed, so nothing is left for the GC.
        connections = list(live)
        for connection in connections:
            connection.transport.abort()
        await asyncio.gather(*(c.task for c in connections), *(c.closed for c in connections),
                             return_exceptions=True)
        # asyncio.run then joins the responder worker threads, so a responder still running delays stop()

    def stop(self) -> None:
        if self._thread is None:
            return
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended (start failed)
                self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(timeout=30)
        self._thread = self._loop = self._stopping = self._address = None

    def __enter__(self) -> OpenAILoopback:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._address is None:
            raise RuntimeError("the loopback server is not running; use it as a context manager")
        host, port = self._address
        return f"http://{host}:{port}/v1"

    def add(self, *replies: Reply) -> OpenAILoopback:
        with self._state.lock:
            self._state.script.extend(replies)
        return self

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received so far (all routes), in arrival order."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def completions(self) -> list[ReceivedRequest]:
        """Only the chat-completion requests."""
        return [r for r in self.requests if r.path.rstrip("/") == "/v1/chat/completions"]

    def assert_complete(self) -> None:
        """Fail if scripted replies were left over or requests arrived after the script ran out."""
        with self._state.lock:
            left, overflow = len(self._state.script), self._state.overflow
        if left or overflow:
            raise AssertionError(f"loopback script: {left} reply(ies) unused, {overflow} request(s) too many")
