"""The ``mcp`` presentation: MCP ``tools/list`` entries as JSON, calls as JSON in one ```` ```json ```` fence.

Tools are shown exactly as an MCP server lists them (``name``, ``description``, ``inputSchema``, and
``outputSchema`` when ``include_output_schema`` is set). Calls are the MCP ``tools/call`` params: one
``{"name": ..., "arguments": {...}}`` object, or a JSON list of them for parallel calls, in one fenced block.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from toolkit.presentations._index import SpecIndex
from toolkit.presentations._json_calls import (
    calls_from_json_text,
    json_block_is_call_syntax,
    looks_like_json_call,
)
from toolkit.presentations.base import Presentation, dumps_json, fenced
from toolkit.specs import ToolCall, ToolSpec

__all__ = ["McpPresentation"]


class McpPresentation(Presentation):
    """MCP tool listing in the prompt; calls as JSON ``tools/call`` params in a ```` ```json ```` fence."""

    name = "mcp"
    delimiter = ("fence", "json")
    block_per_call = False

    def tools_list(self, specs: Sequence[ToolSpec]) -> list[dict[str, Any]]:
        """The MCP ``tools/list`` entries for these specs, unedited (copies: safe to change)."""
        SpecIndex(specs)
        out = []
        for spec in specs:
            entry: dict[str, Any] = {"name": spec.name}
            if spec.description:
                entry["description"] = spec.description
            entry["inputSchema"] = copy.deepcopy(spec.input_schema)
            if self.include_output_schema and spec.output_schema is not None:
                entry["outputSchema"] = copy.deepcopy(spec.output_schema)
            out.append(entry)
        return out

    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        # One entry per line: readable, and the same token cost as the json presentation's listing.
        entries = self.tools_list(specs)
        return "[\n" + ",\n".join(dumps_json(entry) for entry in entries) + "\n]" if entries else "[]"

    def _wrap_tools(self, rendered: str) -> str:
        intro = "The tools are MCP tool definitions (name, description, JSON Schema of the input):"
        return f"{intro}\n{fenced(rendered, 'json')}"

    def call_instructions(self) -> str:
        return (
            "To call a tool, write a JSON object with the tool name and its arguments in a ```json code "
            "block. For several calls at once, write a JSON list of such objects in one block:\n"
            '```json\n{"name": <tool-name>, "arguments": <arguments-json-object>}\n```'
        )

    def render_calls(self, calls: Sequence[ToolCall], specs: Sequence[ToolSpec] | None = None) -> str:
        objects = [{"name": call.name, "arguments": call.arguments} for call in calls]
        if not objects:
            return ""
        payload = objects[0] if len(objects) == 1 else objects
        return f"```json\n{dumps_json(payload)}\n```"

    def _parse_block(self, body: str, index: SpecIndex, used: set[str], *, bare: bool) -> list[ToolCall]:
        depth = self.limits.max_depth
        return calls_from_json_text(body, index, used, max_depth=depth, bare=bare, list_rule=None)

    def _bare_start(self, line: str) -> bool:
        return looks_like_json_call(line)

    def _is_call_syntax(self, body: str, index: SpecIndex) -> bool:
        return json_block_is_call_syntax(body, index)
