"""The shapes every part of ToolGym shares: a tool's spec, a canonical call, and a tool's result."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ToolSpec", "ToolCall", "ToolResult", "ErrorKind", "openai_tool"]

ErrorKind = Literal[
    "invalid_arguments",  # arguments did not match the input schema
    "unknown_tool",  # no tool of that name in the registry
    "exception",  # the tool raised (ToolError or anything else)
    "timeout",  # the call did not finish within its time limit
    "crash",  # the server process died or the transport broke
    "too_large",  # the result exceeded the size cap and was truncated
    "malformed_result",  # the result could not be decoded / did not match the output schema
    "tool_error",  # the tool itself reported an error (MCP isError)
]


class ToolSpec(BaseModel):
    """What a model is told about one tool. The single source of truth for all three presentations.

    ``input_schema`` is a JSON Schema (Draft 2020-12) whose root is an object. ``output_schema``, when present, is
    an object schema too (non-object returns are wrapped as ``{"result": ...}``, as MCP does). ``deterministic`` is
    false for tools whose results legitimately change between identical calls (the current time, random ids);
    replay compares those by shape, not value.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Tool name, as the model must write it.")
    description: str = Field(default="", description="What the tool does, for the model.")
    input_schema: dict[str, Any] = Field(description="JSON Schema of the arguments object.")
    output_schema: dict[str, Any] | None = Field(default=None, description="JSON Schema of structured results.")
    deterministic: bool = Field(default=True, description="False when identical calls may return different results.")

    def signature(self) -> str:
        """A stable string over the model-facing parts of the spec, for equality checks across sources."""
        return json.dumps(
            [self.name, self.description, self.input_schema, self.output_schema], sort_keys=True, ensure_ascii=False
        )


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    """One canonical tool call: what every presentation's parser produces and every record stores."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "arguments": self.arguments}
        if self.id is not None:
            out["id"] = self.id
        return out


@dataclass(kw_only=True)
class ToolResult:
    """The one result shape for Python and MCP tools alike.

    ``content`` is the text the model sees in the ``tool`` message. ``structured`` is the JSON value (MCP
    ``structuredContent``, or the serialised return value of a Python tool, wrapped as ``{"result": ...}`` when not
    an object). Errors are results: ``is_error`` with an ``error_kind`` saying what went wrong.
    """

    content: str
    structured: dict[str, Any] | None = None
    is_error: bool = False
    error_kind: ErrorKind | None = None
    truncated: bool = False

    @classmethod
    def error(cls, kind: ErrorKind, message: str) -> ToolResult:
        return cls(content=message, is_error=True, error_kind=kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "structured": self.structured,
            "is_error": self.is_error,
            "error_kind": self.error_kind,
            "truncated": self.truncated,
        }


def openai_tool(spec: ToolSpec) -> dict[str, Any]:
    """``{"type": "function", "function": {"name", "description", "parameters"}}``: the shape the chat-completions
    API, TRL rows and Hugging Face chat templates take. The schema is a copy, so callers may edit the result."""
    function: dict[str, Any] = {"name": spec.name}
    if spec.description:
        function["description"] = spec.description
    function["parameters"] = copy.deepcopy(spec.input_schema)
    return {"type": "function", "function": function}
