"""The OpenAI backend against a real loopback HTTP server speaking the chat completions API: wire shape, tool
calls, retries and back-off, timeouts, concurrency, credentials, and the model-request kill switch."""

from __future__ import annotations

import logging
import threading
from typing import Any

import anyio
import pytest

import toolkit.backends
from tests.toolkit.openai_loopback import OpenAILoopback, Reply
from tests.toolkit.backend_helpers import WEATHER, ask
from toolkit.backends import (
    BackendError,
    ChatRequest,
    Decoding,
    ModelRequestsBlocked,
    OpenAIBackend,
    OpenAIConfig,
    openai_tools,
)
from toolkit.backends.openai_backend import retry_after_seconds
from toolkit.errors import UserError
from toolkit.specs import ToolCall

pytestmark = pytest.mark.anyio


# ---- kill switch -------------------------------------------------------------------------------------------


async def test_real_backends_refuse_to_run_while_model_requests_are_off() -> None:
    assert toolkit.backends.ALLOW_MODEL_REQUESTS is False  # set by tests/conftest.py
    with OpenAILoopback([Reply.text("never sent")]) as server:
        config = OpenAIConfig(model="m", base_url=server.base_url, api_key_env=None)
        async with OpenAIBackend(config) as backend:
            with pytest.raises(ModelRequestsBlocked, match="ALLOW_MODEL_REQUESTS"):
                await backend.generate([ask("hi")])
        assert server.requests == []


# ---- OpenAIBackend against the loopback server -------------------------------------------------------------


class Waits:
    """Stands in for anyio.sleep: records the waits the retry policy chose, without waiting."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture(params=["direct", "sdk"])
def client_path(request: pytest.FixtureRequest) -> str:
    """Both ways a request leaves: straight over the keep-alive pool (plain HTTP on asyncio) and through the
    `openai` client (https, proxies, other event loops); every behaviour below must hold on each."""
    return str(request.param)


def backend_for(path: str, server: OpenAILoopback, waits: Waits | None = None, **config: Any) -> OpenAIBackend:
    settings: dict[str, Any] = {"model": "loopback-model", "base_url": server.base_url, "api_key_env": None}
    settings.update(config)
    backend = OpenAIBackend(OpenAIConfig(**settings), sleep=waits or Waits())
    assert backend._direct, "a plain-HTTP loopback URL takes the direct path"
    backend._direct = path == "direct"
    return backend


async def test_text_answer_carries_usage_and_the_request_is_sent_in_wire_shape(
    allow_model_requests: None, client_path: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LOOPBACK_KEY", "sk-secret-123")
    caplog.set_level(logging.DEBUG)
    history = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather",
                                                                       "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "sunny", "is_error": False},
    ]
    with OpenAILoopback([Reply.text("It is sunny.", prompt_tokens=42, completion_tokens=5)]) as server:
        async with backend_for(client_path, server, api_key_env="LOOPBACK_KEY") as backend:
            with anyio.fail_after(10):
                request = ChatRequest(messages=history, decoding=Decoding(max_tokens=64, stop=("\n\n",)))
                (reply,) = await backend.generate([request])
        server.assert_complete()
    assert reply.ok and reply.text == "It is sunny." and reply.finish_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (42, 5)
    (sent,) = server.completions
    assert sent.headers["authorization"] == "Bearer sk-secret-123"
    body = sent.body
    assert body["model"] == "loopback-model"
    assert (body["temperature"], body["max_tokens"], body["stop"]) == (0.0, 64, ["\n\n"])
    assert "tools" not in body
    assert body["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"city": "Paris"}'
    assert "is_error" not in body["messages"][2]
    assert "sk-secret-123" not in repr(backend) + repr(backend.config) + caplog.text


async def test_native_tool_calls_are_parsed_into_canonical_calls(
    allow_model_requests: None, client_path: str
) -> None:
    reply_spec = Reply.tool_calls(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"}))
    with OpenAILoopback([reply_spec]) as server:
        async with backend_for(client_path, server) as backend:
            with anyio.fail_after(10):
                (reply,) = await backend.generate([ask("weather?", tools=openai_tools([WEATHER]),
                                                       tool_choice="auto")])
    assert reply.tool_calls == [
        ToolCall(name="get_weather", arguments={"city": "Paris"}, id="call_0"),
        ToolCall(name="get_weather", arguments={"city": "Rome"}, id="call_1"),
    ]
    assert reply.finish_reason == "tool_calls" and not reply.tool_call_parse_error
    body = server.completions[0].body
    assert body["tools"] == openai_tools([WEATHER]) and body["tool_choice"] == "auto"


async def test_malformed_tool_call_json_is_recorded_not_raised(
    allow_model_requests: None, client_path: str
) -> None:
    scripted = Reply.tool_calls(("get_weather", '{"city": "Par'), ("get_weather", '["Paris"]'),
                                ("get_weather", {"city": "Rome"}))
    with OpenAILoopback([scripted]) as server:
        async with backend_for(client_path, server) as backend:
            with anyio.fail_after(10):
                (reply,) = await backend.generate([ask("weather?", tools=openai_tools([WEATHER]))])
    assert reply.tool_call_parse_error
    assert [m.raw_arguments for m in reply.malformed_tool_calls] == ['{"city": "Par', '["Paris"]']
    assert "invalid JSON" in reply.malformed_tool_calls[0].error
    assert "not an object" in reply.malformed_tool_calls[1].error
    assert reply.tool_calls == [ToolCall(name="get_weather", arguments={"city": "Rome"}, id="call_2")]


async def test_429_with_retry_after_is_retried_after_the_servers_wait(
    allow_model_requests: None, client_path: str
) -> None:
    waits = Waits()
    with OpenAILoopback([Reply.error(429, "slow down", retry_after=7), Reply.text("ok")]) as server:
        async with backend_for(client_path, server, waits) as backend:
            with anyio.fail_after(10):
                (reply,) = await backend.generate([ask("hi")])
        server.assert_complete()
    assert reply.ok and reply.text == "ok" and reply.attempts == 2
    assert len(server.completions) == 2
    assert waits.seconds == [7.0]


async def test_retry_after_ms_takes_precedence_and_long_waits_are_capped(
    allow_model_requests: None, client_path: str
) -> None:
    waits = Waits()
    replies = [
        Reply.error(429, retry_after=9, retry_after_ms=250),
        Reply.error(429, retry_after=3600),
        Reply.text("ok"),
    ]
    with OpenAILoopback(replies) as server:
        async with backend_for(client_path, server, waits, max_retry_after=30.0) as backend:
            with anyio.fail_after(10):
                (reply,) = await backend.generate([ask("hi")])
    assert reply.ok and waits.seconds == [0.25, 30.0]


def test_retry_after_accepts_an_http_date() -> None:
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert retry_after_seconds({"retry-after": "soon"}) is None


async def test_server_error_is_retried_with_jittered_exponential_backoff(
    allow_model_requests: None, client_path: str
) -> None:
    waits = Waits()
    replies = [Reply.error(500), Reply.error(503), Reply.text("recovered")]
    with OpenAILoopback(replies) as server:
        async with backend_for(client_path, server, waits, backoff_initial=1.0, backoff_max=60.0) as backend:
            with anyio.fail_after(10):
                (reply,) = await backend.generate([ask("hi")])
        server.assert_complete()
    assert reply.text == "recovered" and reply.attempts == 3
    # retry 0: cap 1 s -> wait in [0.5, 1]; retry 1: cap 2 s -> wait in [1, 2]
    assert 0.5 <= waits.seconds[0] <= 1.0 and 1.0 <= waits.seconds[1] <= 2.0


async def test_exhausted_retries_become_an_error_on_that_response_and_the_batch_goes_on(
    allow_model_requests: None, client_path: str
) -> None:
    def responder(body: dict[str, Any]) -> Reply:
        return Reply.error(500, "boom") if body["messages"][-1]["content"] == "bad" else Reply.text("fine")

    with OpenAILoopback(responder=responder) as server:
        async with backend_for(client_path, server, max_retries=2) as backend:
            with anyio.fail_after(10):
                bad, good = await backend.generate([ask("bad"), ask("good")])
    assert good.ok and good.text == "fine"
    assert not bad.ok and bad.error_kind == "server_error" and bad.attempts == 3
    assert "HTTP 500: boom" in (bad.error or "")
    assert sum(1 for r in server.completions if r.body["messages"][-1]["content"] == "bad") == 3


async def test_slow_answer_hits_the_request_timeout_then_the_retry_succeeds(
    allow_model_requests: None, client_path: str
) -> None:
    with OpenAILoopback([Reply.text("too late").slow(30), Reply.text("in time")]) as server:
        async with backend_for(client_path, server, request_timeout=0.3, max_retries=1) as backend:
            with anyio.fail_after(15):
                (reply,) = await backend.generate([ask("hi")])
        server.assert_complete()
    assert reply.ok and reply.text == "in time" and reply.attempts == 2
    assert len(server.completions) == 2


async def test_slow_answer_without_retries_left_is_a_timeout_error(
    allow_model_requests: None, client_path: str
) -> None:
    with OpenAILoopback([Reply.text("too late").slow(30)]) as server:
        async with backend_for(client_path, server, request_timeout=0.3, max_retries=0) as backend:
            with anyio.fail_after(15):
                (reply,) = await backend.generate([ask("hi")])
    assert reply.error_kind == "timeout" and reply.attempts == 1


async def test_bad_request_is_recorded_without_retrying(
    allow_model_requests: None, client_path: str
) -> None:
    with OpenAILoopback([Reply.error(400, "context too long")]) as server:
        async with backend_for(client_path, server) as backend:
            with anyio.fail_after(10):
                (reply,) = await backend.generate([ask("hi")])
    assert reply.error_kind == "bad_request" and "context too long" in (reply.error or "")
    assert len(server.completions) == 1


async def test_authentication_failure_stops_the_run(
    allow_model_requests: None, client_path: str
) -> None:
    with OpenAILoopback([Reply.error(401, "invalid api key")]) as server:
        async with backend_for(client_path, server) as backend:
            with anyio.fail_after(10), pytest.raises(BackendError, match="HTTP 401: invalid api key"):
                await backend.generate([ask("hi")])


async def test_at_most_max_concurrency_requests_are_in_flight(
    allow_model_requests: None, client_path: str
) -> None:
    total, state = 5, {"arrived": 0, "inflight": 0, "max": 0}
    cond = threading.Condition()

    def responder(body: dict[str, Any]) -> Reply:
        # Hold each request until all have arrived (bounded): an unbounded client would have all five in
        # flight.
        with cond:
            state["arrived"] += 1
            state["inflight"] += 1
            state["max"] = max(state["max"], state["inflight"])
            cond.notify_all()
            cond.wait_for(lambda: state["arrived"] == total, timeout=0.3)
            state["inflight"] -= 1
        return Reply.text("ok")

    with OpenAILoopback(responder=responder) as server:
        async with backend_for(client_path, server, max_concurrency=2) as backend:
            with anyio.fail_after(20):
                replies = await backend.generate([ask(str(i)) for i in range(total)])
    assert [r.text for r in replies] == ["ok"] * total
    assert state["max"] == 2


def test_missing_api_key_variable_is_a_user_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOOLGYM_TEST_ABSENT_KEY", raising=False)
    with pytest.raises(UserError, match="TOOLGYM_TEST_ABSENT_KEY"):
        OpenAIBackend(OpenAIConfig(model="m", api_key_env="TOOLGYM_TEST_ABSENT_KEY"))




async def test_a_fatal_error_names_the_endpoint_with_its_credentials_masked(
    allow_model_requests: None, client_path: str
) -> None:
    with OpenAILoopback([Reply.error(401, "invalid api key")]) as server:
        url = server.base_url.replace("http://", "http://bob:hunter2@") + "?key=SECRET123"
        async with backend_for(client_path, server, base_url=url) as backend:
            # The SDK path appends the route after the query, so its server answers 404: fatal all the same.
            with anyio.fail_after(10), pytest.raises(BackendError, match="HTTP 40[14]") as caught:
                await backend.generate([ask("hi")])
    shown = str(caught.value) + repr(backend)
    assert "***@127.0.0.1" in shown and "hunter2" not in shown and "SECRET123" not in shown
