"""Error taxonomy.

Three kinds of failure, kept apart on purpose:

* ``UserError`` — a mistake in how ToolGym is used (bad config, bad tool definition, bad CLI input). Raised at once,
  with a message that names the problem and the fix.
* Tool outcomes — a tool that fails is *data*: it becomes a :class:`toolkit.specs.ToolResult` with ``is_error=True``
  and is shown to the model. Tools may raise :class:`ToolError` to choose the model-facing message.
* Infrastructure failures (a crashed MCP server, an HTTP 500 from a teacher) are recorded on the sample that hit them;
  only batch boundaries catch broadly.
"""

from __future__ import annotations

__all__ = ["ToolGymError", "UserError", "ToolDefinitionError", "ToolError", "ParseError"]


class ToolGymError(Exception):
    """Base class of every error ToolGym raises on purpose."""


class UserError(ToolGymError):
    """ToolGym was used wrongly; the message says what to change."""


class ToolDefinitionError(UserError):
    """A tool definition has one or more problems, all listed at once, each with its fix."""

    def __init__(self, tool_name: str, problems: list[str]):
        self.tool_name = tool_name
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"tool {tool_name!r} cannot be registered ({len(self.problems)} problem(s)):\n{lines}")


class ToolError(ToolGymError):
    """Raised inside a tool to report a failure to the model with this exact message."""


class ParseError(ToolGymError):
    """Model output could not be parsed into tool calls in the expected presentation."""
