"""What every chat backend takes and returns, and the switch that keeps tests from calling real models.

Messages are OpenAI chat dicts in the *record* shape: an assistant message's
``tool_calls[i].function.arguments`` is a JSON object, as in trajectory records and as Hugging Face chat
templates expect. Backends that speak the HTTP API serialise arguments to strings on the way out.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from toolkit.errors import ToolGymError, UserError
from toolkit.specs import ToolCall, ToolSpec, openai_tool

__all__ = [
    "Decoding",
    "ChatRequest",
    "ChatResponse",
    "MalformedToolCall",
    "Usage",
    "Backend",
    "BackendError",
    "ModelRequestsBlocked",
    "check_model_requests_allowed",
    "openai_tools",
]

class BackendError(ToolGymError):
    """A backend cannot serve requests at all (bad credentials, unknown model, unreachable endpoint)."""


class ModelRequestsBlocked(BackendError):
    """A real model was asked to generate while ``toolkit.backends.ALLOW_MODEL_REQUESTS`` is False."""


def check_model_requests_allowed(backend: str) -> None:
    """Raise :class:`ModelRequestsBlocked` unless ``toolkit.backends.ALLOW_MODEL_REQUESTS`` is true.

    The switch is read at call time, so a test's ``monkeypatch.setattr`` takes effect at once.
    """
    import toolkit.backends as package  # the switch lives on the package, where users and conftest set it

    if not package.ALLOW_MODEL_REQUESTS:
        raise ModelRequestsBlocked(
            f"{backend} refused to run: toolkit.backends.ALLOW_MODEL_REQUESTS is False. In tests, use a "
            "ScriptedBackend, or take the `allow_model_requests` fixture when a real (loopback or tiny) "
            "model is meant."
        )


@dataclass(frozen=True, kw_only=True)
class Decoding:
    """Decoding settings. The default is greedy (temperature 0), the setting every comparison should start
    from."""

    temperature: float = 0.0
    top_p: float | None = None
    max_tokens: int = 512
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise UserError(f"temperature must be >= 0, got {self.temperature}")
        if self.max_tokens <= 0:
            raise UserError(f"max_tokens must be positive, got {self.max_tokens}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise UserError(f"top_p must lie in (0, 1], got {self.top_p}")
        # Stored as a tuple so settings stay hashable (backends batch requests by their decoding settings).
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)
        if not all(isinstance(s, str) and s for s in stop):
            raise UserError(f"stop sequences must be non-empty strings, got {self.stop!r}")
        object.__setattr__(self, "stop", stop)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


@dataclass(frozen=True, kw_only=True)
class ChatRequest:
    """One generation: messages, optional tools for native tool calling (OpenAI function-tool dicts, see
    :func:`openai_tools`), and decoding settings. ``tools=None`` means plain prompting."""

    messages: Sequence[dict[str, Any]]
    tools: Sequence[dict[str, Any]] | None = None
    decoding: Decoding = field(default_factory=Decoding)
    tool_choice: Literal["auto", "none", "required"] | None = None

    def snapshot(self) -> ChatRequest:
        """A deep copy, so later mutation of the caller's lists cannot change what was recorded."""
        return ChatRequest(
            messages=copy.deepcopy(list(self.messages)),
            tools=copy.deepcopy(list(self.tools)) if self.tools is not None else None,
            decoding=self.decoding,
            tool_choice=self.tool_choice,
        )


@dataclass(frozen=True)
class MalformedToolCall:
    """A native tool call whose ``arguments`` were not a JSON object; kept so a parse failure is data."""

    name: str
    raw_arguments: str
    error: str
    id: str | None = None


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


ErrorKind = Literal["rate_limited", "server_error", "timeout", "connection", "bad_request", "other"]


@dataclass(kw_only=True)
class ChatResponse:
    """What a backend answered for one request.

    ``tool_calls`` are the well-formed native calls; ``malformed_tool_calls`` the ones whose arguments did not
    parse. ``error`` is set (with ``error_kind``) when the request failed after all retries: the sample
    records it and the batch goes on. ``latency_s`` is the wall time of the successful attempt; ``attempts``
    counts tries.
    """

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    malformed_tool_calls: list[MalformedToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    finish_reason: str | None = None
    attempts: int = 1
    error: str | None = None
    error_kind: ErrorKind | None = None

    @property
    def tool_call_parse_error(self) -> bool:
        """True when any native tool call came back with unparseable arguments (a format failure)."""
        return bool(self.malformed_tool_calls)

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class Backend(Protocol):
    """Anything that answers chat requests. Responses come back in request order, one per request."""

    name: str

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]: ...

    async def aclose(self) -> None: ...


def openai_tools(specs: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """Tool specs as OpenAI function tools, the shape both the chat-completions API and chat templates take."""
    return [openai_tool(s) for s in specs]
