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
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
    script: deque[Reply]
    responder: Callable[[Any], Reply] | None
    model: str
    requests: list[ReceivedRequest] = field(default_factory=list)
    overflow: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        state = self.server.state
        self._record(None)
        if self.path.rstrip("/") == "/v1/models":
            model = {"id": state.model, "object": "model", "created": 0, "owned_by": "loopback"}
            self._send(Reply(body={"object": "list", "data": [model]}))
        else:
            self._send(Reply.error(404, f"no route {self.path}"))

    def do_POST(self) -> None:  # noqa: N802
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        self._record(body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(Reply.error(404, f"no route {self.path}"))
            return
        with state.lock:
            reply = state.script.popleft() if state.script else None
            if reply is None and state.responder is None:
                state.overflow += 1
        if reply is None and state.responder is not None:
            reply = state.responder(body)
        if reply is None:
            reply = Reply.error(400, "loopback script exhausted: more requests arrived than were scripted")
        if reply.delay_s > 0 and state.stopping.wait(reply.delay_s):
            return  # the server is stopping: drop the held answer
        self._send(reply)

    def _record(self, body: Any) -> None:
        state = self.server.state
        headers = {k.lower(): v for k, v in self.headers.items()}
        with state.lock:
            state.requests.append(ReceivedRequest(self.command, self.path, headers, body))

    def _send(self, reply: Reply) -> None:
        payload = json.dumps(reply.body).encode() if not isinstance(reply.body, bytes) else reply.body
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in reply.headers:
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # the client gave up (e.g. its timeout fired) before the answer was written
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the default backlog of 5 drops connections when many clients arrive at once
    state: _State


class OpenAILoopback:
    """The server; a context manager that starts on enter and stops (releasing slow answers) on exit."""

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        responder: Callable[[Any], Reply] | None = None,
        model: str = "loopback-model",
    ):
        self._state = _State(script=deque(replies), responder=responder, model=model)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> OpenAILoopback:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.state = self._state
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> OpenAILoopback:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the loopback server is not running; use it as a context manager")
        host, port = self._server.server_address[:2]
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
