"""A public, deterministic model double: replays a script of responses and records every request.

Use it instead of writing a new fake::

    backend = ScriptedBackend([
        tool_call_step("get_weather", city="Paris"),
        "It is sunny in Paris.",
    ])
    ...run the code under test...
    backend.assert_complete()
    assert backend.requests[0].tools[0]["function"]["name"] == "get_weather"

A step is a :class:`ChatResponse`, a string (a text answer), a :class:`ToolCall` or a list of them (native
tool calls), an exception instance (raised when reached), or a callable ``(ChatRequest) -> step`` for replies
that depend on the request. Each request in a batch consumes one step, in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Union

from toolkit.backends.base import ChatRequest, ChatResponse, MalformedToolCall
from toolkit.errors import ToolGymError
from toolkit.specs import ToolCall

__all__ = [
    "ScriptedBackend",
    "Step",
    "UnexpectedModelRequest",
    "UnconsumedSteps",
    "tool_call_step",
    "malformed_call_step",
]

Step = Union[ChatResponse, str, ToolCall, Sequence[ToolCall], BaseException, Callable[[ChatRequest], Any]]


class UnexpectedModelRequest(ToolGymError, AssertionError):
    """The code under test asked the scripted model for more answers than the script holds."""


class UnconsumedSteps(ToolGymError, AssertionError):
    """``assert_complete()`` found steps the code under test never asked for."""


def tool_call_step(name: str, /, **arguments: Any) -> ChatResponse:
    """A step answering with one native tool call."""
    return ChatResponse(tool_calls=[ToolCall(name=name, arguments=arguments, id=f"call_{name}")])


def malformed_call_step(name: str, raw_arguments: str) -> ChatResponse:
    """A step answering with a native tool call whose arguments are not valid JSON."""
    return ChatResponse(
        malformed_tool_calls=[MalformedToolCall(name=name, raw_arguments=raw_arguments, error="invalid JSON")]
    )


class ScriptedBackend:
    """Replays ``steps`` in order; see the module docstring. ``requests`` holds snapshots of every request
    seen."""

    __test__ = False  # not a pytest test class, whatever its name looks like

    def __init__(self, steps: Iterable[Step] = (), *, name: str = "scripted"):
        self.name = name
        self._steps: deque[Step] = deque(steps)
        self.requests: list[ChatRequest] = []
        self.closed = False

    def add(self, *steps: Step) -> ScriptedBackend:
        """Append steps to the script (handy when a test builds it in stages)."""
        self._steps.extend(steps)
        return self

    @property
    def remaining(self) -> int:
        return len(self._steps)

    @property
    def last_request(self) -> ChatRequest:
        if not self.requests:
            raise UnexpectedModelRequest("no request has been made yet")
        return self.requests[-1]

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        out = []
        for request in requests:
            snapshot = request.snapshot()
            self.requests.append(snapshot)
            if not self._steps:
                raise UnexpectedModelRequest(
                    f"{self.name}: request #{len(self.requests)} arrived after the script ran out; "
                    f"last message: {_last_message(snapshot)!r}"
                )
            out.append(_to_response(self._steps.popleft(), snapshot))
        return out

    def assert_complete(self) -> None:
        """Fail if any scripted step was never consumed."""
        if self._steps:
            raise UnconsumedSteps(f"{self.name}: {len(self._steps)} scripted step(s) were never requested")

    async def aclose(self) -> None:
        self.closed = True


def _last_message(request: ChatRequest) -> str:
    if not request.messages:
        return ""
    content = request.messages[-1].get("content") or ""
    return content[:200] if isinstance(content, str) else str(content)[:200]


def _to_response(step: Step, request: ChatRequest) -> ChatResponse:
    if callable(step) and not isinstance(step, (ChatResponse, ToolCall, BaseException)):
        step = step(request)
    if isinstance(step, BaseException):
        raise step
    if isinstance(step, ChatResponse):
        return step
    if isinstance(step, str):
        return ChatResponse(text=step, finish_reason="stop")
    if isinstance(step, ToolCall):
        return ChatResponse(tool_calls=[step], finish_reason="tool_calls")
    if isinstance(step, Sequence) and all(isinstance(c, ToolCall) for c in step):
        return ChatResponse(tool_calls=list(step), finish_reason="tool_calls")
    raise TypeError(f"not a valid scripted step: {step!r}")
