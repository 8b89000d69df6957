"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM, SGLang, Ollama, llama.cpp server).

``https`` endpoints, proxied hosts and non-asyncio event loops go through the ``openai`` client. A plain-HTTP
endpoint with no proxy in the way (a local inference server) is spoken to directly over the keep-alive pool of
:mod:`toolkit.backends.http_pool`, with the same request body, headers, errors and retries: at the request rates
of synthesis against a local server, the SDK's per-request work was the larger part of the client's CPU.

The client's own retries are switched off (``max_retries=0``) so the policy is ours, explicit and testable:

* retried: HTTP 429, 408, 409, every 5xx, request timeouts and connection errors;
* the wait before retry ``n`` (0-based) is the server's ``retry-after-ms`` or ``Retry-After`` (seconds or an
  HTTP date) when given, capped at ``max_retry_after``; otherwise exponential backoff with equal jitter,
  ``cap/2 + U(0, cap/2)`` with ``cap = min(backoff_max, backoff_initial * 2**n)``;
* not retried: 400/422 and other client errors, recorded on that response (``error_kind="bad_request"``);
* fatal for the whole run: 401, 403 and 404 (wrong key, no access, wrong model or URL) raise
  :class:`BackendError`.

A request that still fails after ``max_retries`` retries comes back as a :class:`ChatResponse` with ``error``
set, so one bad sample never sinks a batch. The API key is read from the environment variable named in the
config and is never logged or stored on the config.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import anyio
import sniffio

from toolkit.backends.base import (
    BackendError,
    ChatRequest,
    ChatResponse,
    MalformedToolCall,
    Usage,
    check_model_requests_allowed,
)
from toolkit.errors import UserError
from toolkit.sources import redact_secrets
from toolkit.specs import ToolCall

__all__ = ["OpenAIConfig", "OpenAIBackend", "to_wire_messages", "parse_tool_arguments", "retry_after_seconds"]

log = logging.getLogger(__name__)

_RETRYABLE_STATUS = {408, 409, 429}
_WIRE_FIELDS = ("role", "content", "tool_calls", "tool_call_id", "name")
_FATAL_STATUS = {401, 403, 404}
_JSON_HEADERS = {"Content-Type": "application/json"}


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True, kw_only=True)
class OpenAIConfig:
    """How to reach an OpenAI-compatible endpoint and how hard to try."""

    model: str = field(metadata=_help("Model name as the endpoint knows it."))
    base_url: str | None = field(default=None, metadata=_help(
        "Endpoint base URL, e.g. http://localhost:8000/v1; "
                                                               "None for api.openai.com."))
    api_key_env: str | None = field(default="OPENAI_API_KEY", metadata=_help(
        "Name of the environment variable holding the API key; None for servers that need none."))
    max_concurrency: int = field(default=8, metadata=_help("Requests in flight at once."))
    max_retries: int = field(default=4, metadata=_help("Retries after the first attempt (429/5xx/timeouts)."))
    request_timeout: float = field(default=120.0, metadata=_help("Seconds one attempt may take."))
    backoff_initial: float = field(default=1.0, metadata=_help("Backoff cap of the first retry, seconds."))
    backoff_max: float = field(default=60.0, metadata=_help("Largest backoff cap, in seconds."))
    max_retry_after: float = field(default=300.0, metadata=_help("Longest server-asked wait obeyed, s."))
    max_tokens_param: Literal["max_tokens", "max_completion_tokens"] = field(
        default="max_tokens", metadata=_help("Request field for the token limit (newer OpenAI models want "
                                             "max_completion_tokens).")
    )
    extra_body: dict[str, Any] = field(default_factory=dict, metadata=_help(
        "Extra JSON fields sent with every request (server-specific options)."))

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise UserError(f"max_concurrency must be at least 1, got {self.max_concurrency}")
        if self.max_retries < 0:
            raise UserError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.request_timeout <= 0:
            raise UserError(f"request_timeout must be positive, got {self.request_timeout}")


def to_wire_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Record-shaped messages as the HTTP API wants them: arguments as JSON text, only API fields."""
    out = []
    for m in messages:
        wire = {k: m[k] for k in _WIRE_FIELDS if m.get(k) is not None}
        if m.get("role") == "assistant" and "content" not in wire:
            wire["content"] = None
        if wire.get("tool_calls"):
            calls = []
            for tc in wire["tool_calls"]:
                fn = dict(tc.get("function") or {})
                if not isinstance(fn.get("arguments"), str):
                    fn["arguments"] = json.dumps(fn.get("arguments") or {}, ensure_ascii=False)
                calls.append({"id": tc.get("id"), "type": tc.get("type", "function"), "function": fn})
            wire["tool_calls"] = calls
        out.append(wire)
    return out


def parse_tool_arguments(raw: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """``(arguments, None)`` for a JSON object, ``(None, why)`` otherwise.

    Empty text means no arguments: servers send ``""`` for argument-less functions.
    """
    if raw is None or not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at position {exc.pos}"
    if not isinstance(value, dict):
        return None, f"arguments are a JSON {type(value).__name__}, not an object"
    return value, None


def retry_after_seconds(headers: Any, *, now: float | None = None) -> float | None:
    """The wait a server asked for (``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP date)."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class OpenAIBackend:
    """Chat backend over an OpenAI-compatible endpoint; see the module docstring for the retry policy.

    ``sleep`` (default :func:`anyio.sleep`) and ``rng`` are injectable so tests can observe the waits the
    policy chooses without waiting.
    """

    def __init__(
        self,
        config: OpenAIConfig,
        *,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        rng: random.Random | None = None,
    ):
        import openai  # the package is a core dependency; imported here to keep `import toolkit` light

        self.config = config
        self.name = f"openai:{config.model}"
        self._openai = openai
        if config.api_key_env is None:
            key = "not-needed"
        else:
            key = os.environ.get(config.api_key_env, "")
            if not key:
                raise UserError(
                    f"environment variable {config.api_key_env} is not set; export the API key there, or set "
                    "api_key_env to the variable that holds it (None for servers that need no key)"
                )
        import httpx2

        from toolkit.backends.http_pool import PlainHTTPPool, plain_http_target

        # Plain-HTTP endpoints (a local vLLM/SGLang/llama.cpp server) are spoken to directly through the keep-alive
        # pool: the SDK's request building and httpx's request/response objects cost more client CPU per request
        # than everything else the client does (bench/http_client_overhead.py). `https`, proxied hosts and
        # non-asyncio loops go through the `openai` client, on the same pool where the URL allows it.
        self._target = plain_http_target(config.base_url)
        self._pool = PlainHTTPPool() if self._target is not None else None
        http_client = (httpx2.AsyncClient(transport=self._pool, timeout=config.request_timeout)
                       if self._pool is not None else None)
        self._client = openai.AsyncOpenAI(api_key=key, base_url=config.base_url, max_retries=0,
                                          timeout=config.request_timeout, http_client=http_client)
        self._direct = self._target is not None  # tests switch it off to exercise the SDK path
        if self._target is not None:
            self._completions_path = f"{self._target.path}/chat/completions".encode()
            self._headers = [(b"host", self._target.host_header), (b"content-type", b"application/json"),
                             (b"accept", b"application/json"), (b"user-agent", b"toolgym"),
                             (b"authorization", f"Bearer {key}".encode())]
        self._httpx = httpx2
        self._sleep = sleep or anyio.sleep
        self._rng = rng or random.Random()
        self._limiter: anyio.CapacityLimiter | None = None
        self.retry_waits: list[float] = []
        """Every wait chosen before a retry, in order (for reports and tests)."""

    def __repr__(self) -> str:
        base_url = redact_secrets(self.config.base_url) if self.config.base_url else None
        return f"OpenAIBackend(model={self.config.model!r}, base_url={base_url!r})"

    async def __aenter__(self) -> OpenAIBackend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.close()
        if self._pool is not None:
            await self._pool.aclose()

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        check_model_requests_allowed(self.name)
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.config.max_concurrency)
        results: list[ChatResponse | None] = [None] * len(requests)
        fatal: list[BackendError] = []

        async def run(i: int, request: ChatRequest, scope: anyio.CancelScope) -> None:
            async with self._limiter:  # type: ignore[union-attr]
                try:
                    results[i] = await self._one(request)
                except BackendError as exc:  # the endpoint serves no one: stop the batch, raise it plainly
                    fatal.append(exc)
                    scope.cancel()

        async with anyio.create_task_group() as tg:
            for i, request in enumerate(requests):
                tg.start_soon(run, i, request, tg.cancel_scope)
        if fatal:
            raise fatal[0]
        return [r for r in results if r is not None]

    def _kwargs(self, request: ChatRequest) -> dict[str, Any]:
        d = request.decoding
        kwargs: dict[str, Any] = {
            "model": self.config.model,
            "messages": to_wire_messages(request.messages),
            "temperature": d.temperature,
            self.config.max_tokens_param: d.max_tokens,
        }
        if d.top_p is not None:
            kwargs["top_p"] = d.top_p
        if d.stop:
            kwargs["stop"] = list(d.stop)
        if d.seed is not None:
            kwargs["seed"] = d.seed
        if request.tools:  # an empty list is refused by the API; no tools means plain prompting
            kwargs["tools"] = list(request.tools)
            if request.tool_choice is not None:
                kwargs["tool_choice"] = request.tool_choice
        if self.config.extra_body:
            kwargs["extra_body"] = dict(self.config.extra_body)
        return kwargs

    def _backoff(self, retry: int) -> float:
        cap = min(self.config.backoff_max, self.config.backoff_initial * 2**retry)
        return cap / 2 + self._rng.uniform(0, cap / 2)

    async def _post(self, content: bytes) -> tuple[int, Any, bytes]:
        """One attempt: ``(status, headers, body)`` of whatever the server answered, or ``_Timeout`` /
        ``_ConnectionFailed``."""
        httpx2 = self._httpx
        if self._direct and sniffio.current_async_library() == "asyncio":
            assert self._pool is not None and self._target is not None
            headers = [*self._headers, (b"content-length", str(len(content)).encode())]
            try:
                answer = await self._pool.request(self._target.origin, b"POST", self._completions_path, headers,
                                                  content, timeout=self.config.request_timeout)
            except httpx2.TimeoutException:
                raise _Timeout from None
            except httpx2.TransportError as exc:
                raise _ConnectionFailed(str(exc)) from None
            return answer.status, answer.headers, answer.body
        openai = self._openai
        try:
            raw = await self._client.post("/chat/completions", content=content, cast_to=httpx2.Response,
                                          options={"headers": _JSON_HEADERS})
        except openai.APIStatusError as exc:
            return exc.status_code, exc.response.headers, exc.response.content
        except openai.APITimeoutError:
            raise _Timeout from None
        except openai.APIConnectionError as exc:
            raise _ConnectionFailed(str(exc)) from None
        return raw.status_code, raw.headers, raw.content

    async def _one(self, request: ChatRequest) -> ChatResponse:
        kwargs = self._kwargs(request)
        extra = kwargs.pop("extra_body", {})
        content = json.dumps({**kwargs, **extra}, ensure_ascii=False).encode()
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            started = time.perf_counter()
            server_wait: float | None = None
            try:
                status, headers, body = await self._post(content)
            except _Timeout:
                detail, kind = f"no answer within {self.config.request_timeout}s", "timeout"
            except _ConnectionFailed as exc:
                detail, kind = f"connection failed: {redact_secrets(str(exc))}", "connection"
            else:
                latency = time.perf_counter() - started
                if 200 <= status < 300:
                    try:
                        completion = json.loads(body)
                    except ValueError:
                        return ChatResponse(error=f"the endpoint answered with a body that is not JSON: {body[:80]!r}",
                                            error_kind="other", attempts=attempt + 1, latency_s=latency)
                    return _response(completion, latency, attempt + 1)
                detail = f"HTTP {status}: {_error_message(body)}"
                if status in _FATAL_STATUS:
                    # Base URLs can carry a key in userinfo or the query (proxies, gateways): name a masked one.
                    where = redact_secrets(self.config.base_url or "api.openai.com")
                    raise BackendError(f"{self.name} at {where}: {redact_secrets(detail)}")
                if status not in _RETRYABLE_STATUS and status < 500:
                    return ChatResponse(error=detail, error_kind="bad_request", attempts=attempt + 1)
                kind = "rate_limited" if status == 429 else "server_error"
                server_wait = retry_after_seconds(headers)
            if attempt + 1 == attempts:
                error = f"{detail} (after {attempts} attempts)"
                return ChatResponse(error=error, error_kind=kind, attempts=attempts)
            if server_wait is not None:
                wait = min(server_wait, self.config.max_retry_after)
            else:
                wait = self._backoff(attempt)
            self.retry_waits.append(wait)
            log.info("%s: %s; retry %d/%d in %.2fs", self.name, detail, attempt + 1, attempts - 1, wait)
            await self._sleep(wait)
        raise AssertionError("unreachable: the loop returns on its last attempt")


def _error_message(body: bytes) -> str:
    """The message in an error answer: the API's ``{"error": {"message": ...}}``, else the body's text."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        inner = parsed.get("error", parsed)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:500]
    return body.decode("utf-8", "replace").strip()[:500] or "(empty body)"


class _Timeout(Exception):
    """One attempt got no answer in time."""


class _ConnectionFailed(Exception):
    """One attempt could not reach the server or lost the connection."""


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _response(completion: Any, latency: float, attempts: int) -> ChatResponse:
    """A chat-completions JSON body as a :class:`ChatResponse`; a body of the wrong shape is an error, not a crash."""
    choices = completion.get("choices") if isinstance(completion, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices else None
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        return ChatResponse(error="the endpoint returned no choices", error_kind="other", attempts=attempts,
                            latency_s=latency)
    calls: list[ToolCall] = []
    malformed: list[MalformedToolCall] = []
    for tc in message.get("tool_calls") or []:
        fn = tc.get("function") if isinstance(tc, dict) else None
        if not isinstance(fn, dict):  # custom (non-function) tools are not ours to parse
            continue
        name, raw, call_id = str(fn.get("name") or ""), fn.get("arguments"), tc.get("id")
        if raw is not None and not isinstance(raw, str):  # some servers send the object itself, not its text
            raw = json.dumps(raw, ensure_ascii=False)
        arguments, error = parse_tool_arguments(raw)
        if arguments is None:
            malformed.append(MalformedToolCall(name=name, raw_arguments=raw or "", error=error or "", id=call_id))
        else:
            calls.append(ToolCall(name=name, arguments=arguments, id=call_id))
    usage = completion.get("usage") if isinstance(completion.get("usage"), dict) else {}
    content = message.get("content")
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(str(p.get("text") or "") for p in content if isinstance(p, dict))
    return ChatResponse(
        text=content if isinstance(content, str) else "",
        tool_calls=calls,
        malformed_tool_calls=malformed,
        usage=Usage(prompt_tokens=_count(usage.get("prompt_tokens")),
                    completion_tokens=_count(usage.get("completion_tokens"))),
        latency_s=latency,
        finish_reason=choice.get("finish_reason"),
        attempts=attempts,
    )
