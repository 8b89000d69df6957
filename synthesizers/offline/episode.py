"""Builds one conversation while executing its calls for real.

An :class:`Episode` appends messages in OpenAI chat shape, gives calls stable ids, executes them through the tool
registry (or an injected failure, which is recorded in the trajectory's metadata so replay knows), and collects
subagent trajectories under their delegate call ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.records import INJECTED_FAILURES_KEY, FunctionCall, Message, ToolCallRecord, Trajectory
from toolkit.specs import ToolCall, ToolResult, ToolSpec
from toolkit.toolsets import ToolRegistry

__all__ = ["Episode", "ExecutionFailed", "INJECTED_KEY"]

INJECTED_KEY = INJECTED_FAILURES_KEY  # metadata: call id -> kind of failure injected instead of a real result

Executor = Callable[[str, dict[str, Any]], Awaitable[ToolResult]]


class ExecutionFailed(Exception):
    """A call that had to succeed failed (or one that had to fail succeeded): the sample stops at 'executed'."""


@dataclass
class Episode:
    registry: ToolRegistry
    tools: list[ToolSpec]
    system: str | None = None
    id_prefix: str = "call"
    messages: list[Message] = field(default_factory=list)
    subagents: dict[str, Trajectory] = field(default_factory=dict)
    injected: dict[str, str] = field(default_factory=dict)
    calls_made: list[ToolCall] = field(default_factory=list)
    results_seen: list[ToolResult] = field(default_factory=list)
    """The result of each call in ``calls_made`` (same order)."""
    observer: Callable[[str, ToolResult], None] | None = None
    """Told of every successful real result (a source learns which values exist)."""
    _n: int = 0

    def __post_init__(self) -> None:
        if self.system:
            self.messages.append(Message(role="system", content=self.system))

    def user(self, text: str) -> None:
        self.messages.append(Message(role="user", content=text))

    def say(self, text: str) -> None:
        self.messages.append(Message(role="assistant", content=text))

    def _ids(self, n: int) -> list[str]:
        out = []
        for _ in range(n):
            self._n += 1
            out.append(f"{self.id_prefix}_{self._n}")
        return out

    async def act(
        self,
        calls: Sequence[ToolCall],
        *,
        expect_error: Sequence[bool] | None = None,
        inject: dict[int, ToolResult] | None = None,
        delegate: Callable[[ToolCall, str], Awaitable[str]] | None = None,
        train: bool = True,
        check: bool = True,
        content: str | None = None,
    ) -> list[ToolResult]:
        """One assistant turn that makes ``calls`` (in parallel if several), then their tool messages.

        ``expect_error[i]`` says whether call ``i`` must fail; ``inject[i]`` replaces call ``i``'s execution with a
        fabricated failure (timeouts, malformed results); ``delegate`` runs ``delegate`` calls as subagents;
        ``train=False`` keeps a deliberately wrong turn out of the training loss; ``check=False`` accepts any
        outcome (an agent played by a model may legitimately hit tool errors and recover).
        """
        ids = self._ids(len(calls))
        self.messages.append(Message(role="assistant", content=content or None, train=None if train else False, tool_calls=[
            ToolCallRecord(id=i, function=FunctionCall(name=c.name, arguments=c.arguments)) for i, c in zip(ids, calls)
        ]))
        results: list[ToolResult] = []
        for k, (call_id, call) in enumerate(zip(ids, calls)):
            if inject and k in inject:
                result = inject[k]
                self.injected[call_id] = result.error_kind or "injected"
            elif call.name == "delegate" and delegate is not None:
                result = ToolResult(content=await delegate(call, call_id))
            else:
                result = await self.registry.call(call.name, call.arguments)
                want_error = bool(expect_error and expect_error[k])
                if check and result.is_error != want_error:
                    state = "failed" if result.is_error else "succeeded"
                    raise ExecutionFailed(f"{call.name} {state} unexpectedly: {result.content[:160]}")
                if self.observer is not None and not result.is_error:
                    self.observer(call.name, result)
            self.calls_made.append(call)
            self.results_seen.append(result)
            results.append(result)
            self.messages.append(Message(role="tool", tool_call_id=call_id, name=call.name, content=result.content,
                                         is_error=True if result.is_error else None))
        return results

    def trajectory(self, traj_id: str, **extra: Any) -> Trajectory:
        metadata = dict(extra.pop("metadata", {}) or {})
        if self.injected:
            metadata[INJECTED_KEY] = dict(self.injected)
        return Trajectory(id=traj_id, messages=list(self.messages), tools=list(self.tools),
                          subagents=dict(self.subagents), metadata=metadata, **extra)
