"""One interface for every kind of tool: the :class:`Toolset` ABC and the :class:`ToolRegistry` above it.

Code above the registry calls ``registry.call(name, arguments)`` and gets a :class:`ToolResult`; it cannot tell a
Python function from an MCP tool behind stdio or HTTP.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from toolkit.errors import UserError
from toolkit.specs import ToolCall, ToolResult, ToolSpec

__all__ = ["CallLimits", "Toolset", "ToolRegistry", "cap_result"]


@dataclass(frozen=True, kw_only=True)
class CallLimits:
    """Per-call policy applied to every tool, whatever its source."""

    timeout: float = 30.0
    """Seconds a call may run before it becomes a ``timeout`` error result."""
    max_result_chars: int = 100_000
    """Results longer than this (text or serialised structured content) are truncated and flagged."""


def cap_result(result: ToolResult, max_chars: int) -> ToolResult:
    """Truncate an oversized result in place of returning it whole; the cut is flagged, never silent."""
    too_big = len(result.content) > max_chars
    structured = result.structured
    if structured is not None and len(json.dumps(structured, ensure_ascii=False, default=str)) > max_chars:
        structured, too_big = None, True
    if not too_big:
        return result
    note = f"\n[truncated: result exceeded {max_chars} characters]"
    return ToolResult(
        content=result.content[:max_chars] + note,
        structured=structured,
        is_error=result.is_error,
        error_kind=result.error_kind or ("too_large" if result.is_error else None),
        truncated=True,
    )


class Toolset(ABC):
    """A group of tools from one source. Subclasses: Python functions, MCP servers."""

    name: str = "toolset"

    async def open(self) -> None:
        """Acquire resources (start a server, open a session). Idempotent."""

    async def close(self) -> None:
        """Release resources. Idempotent; never raises for an already-dead server."""

    @abstractmethod
    async def list_tools(self) -> list[ToolSpec]:
        """The specs of every tool in this toolset."""

    @abstractmethod
    async def call_tool(self, name: str, arguments: dict[str, Any], *, limits: CallLimits) -> ToolResult:
        """Call one tool. Must return (not raise) for tool failures, timeouts and crashes."""

    async def __aenter__(self) -> Toolset:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class ToolRegistry:
    """All tools of a run, by name, over any number of toolsets.

    Use as an async context manager: ``async with ToolRegistry([ts1, ts2]) as reg: await reg.call(...)``. Opening
    lists every toolset's tools; a name offered by two toolsets is a :class:`UserError`.
    """

    def __init__(self, toolsets: Sequence[Toolset] = (), *, limits: CallLimits | None = None):
        self.toolsets = list(toolsets)
        self.limits = limits or CallLimits()
        self._specs: dict[str, ToolSpec] = {}
        self._owner: dict[str, Toolset] = {}
        self._open = False

    async def open(self) -> None:
        if self._open:
            return
        try:
            for ts in self.toolsets:  # inside the try: a source that fails to open must not leak the others
                await ts.open()
            for ts in self.toolsets:
                for spec in await ts.list_tools():
                    if spec.name in self._specs:
                        other = self._owner[spec.name].name
                        raise UserError(
                            f"tool name {spec.name!r} is offered by both toolset {other!r} and {ts.name!r}; "
                            "rename one of them or register only one of the sources"
                        )
                    self._specs[spec.name] = spec
                    self._owner[spec.name] = ts
        except BaseException:
            await self.close()
            raise
        self._open = True

    async def close(self) -> None:
        for ts in reversed(self.toolsets):
            await ts.close()
        self._open = False
        self._specs.clear()
        self._owner.clear()

    async def __aenter__(self) -> ToolRegistry:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _require_open(self) -> None:
        if not self._open:
            raise UserError("the registry is not open; use `async with ToolRegistry(...) as registry:` first")

    def specs(self) -> list[ToolSpec]:
        """Every tool's spec, in registration order."""
        self._require_open()
        return list(self._specs.values())

    def names(self) -> list[str]:
        self._require_open()
        return list(self._specs)

    def spec(self, name: str) -> ToolSpec:
        self._require_open()
        try:
            return self._specs[name]
        except KeyError:
            raise UserError(f"no tool named {name!r}; known tools: {', '.join(self._specs) or '(none)'}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    async def call(self, name: str, arguments: dict[str, Any], *, timeout: float | None = None) -> ToolResult:
        """Call a tool by name. Unknown tools and all failures come back as error results."""
        self._require_open()
        owner = self._owner.get(name)
        if owner is None:
            known = ", ".join(self._specs) or "(none)"
            return ToolResult.error("unknown_tool", f"Unknown tool {name!r}. Available tools: {known}.")
        limits = self.limits if timeout is None else CallLimits(timeout=timeout, max_result_chars=self.limits.max_result_chars)
        result = await owner.call_tool(name, arguments, limits=limits)
        return cap_result(result, limits.max_result_chars)

    async def call_many(self, calls: Sequence[ToolCall]) -> list[ToolResult]:
        """Run calls one after another, in order (calls in one turn may depend on shared state)."""
        return [await self.call(c.name, c.arguments) for c in calls]
