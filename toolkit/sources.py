"""Tool sources written as strings, as on the command line.

* ``py:MODULE`` or ``py:MODULE:ATTR`` — Python tools. ``ATTR`` (or, without it, the first of ``create_toolset``,
  ``toolset``) is a :class:`~toolkit.python_tools.PythonToolset` or a zero-argument factory returning one; a
  module with neither contributes its functions decorated with :func:`toolkit.python_tools.tool`.
* ``stdio:COMMAND ARGS...`` — an MCP server started as a subprocess (no shell; the rest is split like a shell would).
* ``http://...`` / ``https://...`` — an MCP server over streamable HTTP.

A *factory* is returned rather than a toolset so that callers that need a fresh tool state (execution replay,
environments) can make one per use.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from toolkit.errors import UserError
from toolkit.toolsets import CallLimits, ToolRegistry, Toolset

__all__ = ["ToolSource", "parse_source", "open_registry", "redact_secrets"]


def redact_secrets(text: str) -> str:
    """``text`` with the userinfo and query of any URL in it masked (they often carry credentials), for names
    that end up in logs, records and error messages."""

    def mask(match: re.Match[str]) -> str:
        parts = urlsplit(match.group(0))
        host = parts.netloc.rpartition("@")[2]
        netloc = f"***@{host}" if "@" in parts.netloc else host
        return urlunsplit((parts.scheme, netloc, parts.path, "***" if parts.query else "", parts.fragment))

    return re.sub(r"https?://[^\s]+", mask, text)


@dataclass(frozen=True)
class ToolSource:
    """A parsed source string; call :meth:`make` for a new, unopened toolset."""

    text: str
    kind: str  # "python" | "stdio" | "http"
    target: str
    args: tuple[str, ...] = ()

    def make(self) -> Toolset:
        if self.kind == "python":
            from toolkit.python_tools import load_python_toolset

            return load_python_toolset(self.target)
        from toolkit.mcp_tools import MCPToolset

        if self.kind == "stdio":
            return MCPToolset.stdio(self.target, list(self.args), name=self.text)
        return MCPToolset.http(self.target, name=self.text)

    def factory(self) -> Callable[[], Toolset]:
        return self.make

    @property
    def label(self) -> str:
        """The source as written, with any credentials in URLs masked: safe for records and logs."""
        return redact_secrets(self.text)


_HELP = "write py:MODULE[:ATTR], stdio:COMMAND ARGS..., or an http(s):// URL of a streamable-HTTP MCP server"


def parse_source(text: str) -> ToolSource:
    """Parse one tool-source string, or raise a :class:`UserError` that shows the accepted forms."""
    text = text.strip()
    if text.startswith("py:"):
        target = text[3:].strip()
        if not target:
            raise UserError(f"empty Python module in tool source {text!r}; {_HELP}")
        return ToolSource(text, "python", target)
    if text.startswith("stdio:"):
        try:
            parts = shlex.split(text[6:])
        except ValueError as exc:
            raise UserError(f"cannot split the command in {text!r}: {exc}; check its quotes") from None
        if not parts:
            raise UserError(f"empty command in tool source {text!r}; {_HELP}")
        return ToolSource(text, "stdio", parts[0], tuple(parts[1:]))
    if text.startswith(("http://", "https://")):
        return ToolSource(text, "http", text)
    raise UserError(f"unrecognised tool source {text!r}; {_HELP}")


def open_registry(sources: Sequence[str | ToolSource], *, limits: CallLimits | None = None) -> ToolRegistry:
    """A registry over fresh toolsets for the given sources (not yet opened: use ``async with``)."""
    parsed = [s if isinstance(s, ToolSource) else parse_source(s) for s in sources]
    return ToolRegistry([s.make() for s in parsed], limits=limits)
