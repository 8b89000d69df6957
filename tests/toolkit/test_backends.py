"""Backends: the scripted double's contract (replay, snapshots, script exhaustion, failure steps)."""

from __future__ import annotations

import pytest

from tests.toolkit.backend_helpers import WEATHER, ask
from toolkit.backends import (
    ChatRequest,
    ChatResponse,
    Decoding,
    ScriptedBackend,
    UnconsumedSteps,
    UnexpectedModelRequest,
    malformed_call_step,
    openai_tools,
    tool_call_step,
)
from toolkit.errors import UserError
from toolkit.specs import ToolCall

pytestmark = pytest.mark.anyio


# ---- ScriptedBackend ---------------------------------------------------------------------------------------


async def test_scripted_backend_replays_text_tool_calls_and_responses_in_order() -> None:
    backend = ScriptedBackend([
        "hello",
        tool_call_step("get_weather", city="Paris"),
        [ToolCall(name="a", arguments={}), ToolCall(name="b", arguments={"x": 1})],
        ChatResponse(text="done", finish_reason="stop"),
    ])
    first, second = await backend.generate([ask("1"), ask("2")])
    third, fourth = await backend.generate([ask("3"), ask("4")])
    assert first.text == "hello" and first.tool_calls == []
    assert second.tool_calls == [
        ToolCall(name="get_weather", arguments={"city": "Paris"}, id="call_get_weather")
    ]
    assert [c.name for c in third.tool_calls] == ["a", "b"]
    assert fourth.text == "done"
    backend.assert_complete()


async def test_scripted_backend_records_snapshots_that_later_mutation_cannot_change() -> None:
    backend = ScriptedBackend(["ok"])
    messages = [{"role": "user", "content": "original"}]
    await backend.generate([ChatRequest(messages=messages, tools=openai_tools([WEATHER]))])
    messages[0]["content"] = "mutated"
    messages.append({"role": "user", "content": "more"})
    recorded = backend.last_request
    assert recorded.messages == [{"role": "user", "content": "original"}]
    assert recorded.tools is not None and recorded.tools[0]["function"]["name"] == "get_weather"


async def test_scripted_backend_raises_past_the_end_of_its_script() -> None:
    backend = ScriptedBackend(["only one"])
    await backend.generate([ask("a")])
    with pytest.raises(UnexpectedModelRequest, match="ran out"):
        await backend.generate([ask("b")])


async def test_assert_complete_fails_when_steps_are_left_over() -> None:
    backend = ScriptedBackend(["a", "b"])
    await backend.generate([ask("x")])
    with pytest.raises(UnconsumedSteps, match="1 scripted step"):
        backend.assert_complete()


async def test_scripted_exception_steps_are_raised_and_callable_steps_see_the_request() -> None:
    def echo(request: ChatRequest) -> str:
        return f"echo {request.messages[-1]['content']}"

    backend = ScriptedBackend([RuntimeError("endpoint down"), echo])
    with pytest.raises(RuntimeError, match="endpoint down"):
        await backend.generate([ask("x")])
    (reply,) = await backend.generate([ask("ping")])
    assert reply.text == "echo ping"


async def test_malformed_call_step_is_a_tool_call_parse_error() -> None:
    (reply,) = await ScriptedBackend([malformed_call_step("get_weather", '{"city": ')]).generate([ask("x")])
    assert reply.tool_call_parse_error and reply.tool_calls == []


def test_decoding_settings_are_validated_and_hashable() -> None:
    assert Decoding().greedy and Decoding(stop=["\n"]).stop == ("\n",)
    assert hash(Decoding(stop=["a", "b"])) == hash(Decoding(stop=("a", "b")))
    for bad in ({"temperature": -1}, {"max_tokens": 0}, {"top_p": 1.5}, {"stop": [""]}):
        with pytest.raises(UserError):
            Decoding(**bad)  # type: ignore[arg-type]
