"""The ``json`` presentation: OpenAI function tools, calls as Hermes/Qwen ``<tool_call>`` blocks.

For a model whose chat template supports tools, pass :meth:`JsonPresentation.tools_for_template` as the
template's ``tools=`` and let the template render them (native function calling). :meth:`render_tools` and
:meth:`render_calls` are the fallback for templates without tool support: the same text the Hermes and Qwen
templates produce — one ``<tool_call>`` block per call holding ``{"name": ..., "arguments": {...}}``.
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
from toolkit.presentations.base import Presentation, dumps_json
from toolkit.specs import ToolCall, ToolSpec, openai_tool

__all__ = ["JsonPresentation", "openai_tool"]


class JsonPresentation(Presentation):
    """Native function calling (``tools_for_template``) with a Hermes-style text fallback."""

    name = "json"
    delimiter = ("tag", "tool_call")
    block_per_call = True

    def tools_for_template(self, specs: Sequence[ToolSpec]) -> list[dict[str, Any]]:
        """The tools as a chat template's ``tools=`` argument (and the OpenAI API's ``tools``) takes them.

        OpenAI functions have no slot for an output schema, so ``include_output_schema`` does not apply here.
        """
        SpecIndex(specs)  # refuses duplicate names and non-specs
        return [openai_tool(spec) for spec in specs]

    def render_tools(self, specs: Sequence[ToolSpec]) -> str:
        return "\n".join(dumps_json(tool) for tool in self.tools_for_template(specs))

    def _wrap_tools(self, rendered: str) -> str:
        intro = "The tools are function signatures in JSON Schema, within <tools></tools> tags:"
        return f"{intro}\n<tools>\n{rendered}\n</tools>"

    def call_instructions(self) -> str:
        return (
            "To call a tool, write a JSON object with the tool name and its arguments within "
            "<tool_call></tool_call> tags, one block per call:\n"
            '<tool_call>\n{"name": <tool-name>, "arguments": <arguments-json-object>}\n</tool_call>'
        )

    def render_calls(self, calls: Sequence[ToolCall], specs: Sequence[ToolSpec] | None = None) -> str:
        return "\n".join(
            f"<tool_call>\n{dumps_json({'name': call.name, 'arguments': call.arguments})}\n</tool_call>"
            for call in calls
        )

    def _parse_block(self, body: str, index: SpecIndex, used: set[str], *, bare: bool) -> list[ToolCall]:
        return calls_from_json_text(
            body, index, used, max_depth=self.limits.max_depth, bare=bare, list_rule="call_list_in_block"
        )

    def _bare_start(self, line: str) -> bool:
        return looks_like_json_call(line)

    def _is_call_syntax(self, body: str, index: SpecIndex) -> bool:
        return json_block_is_call_syntax(body, index)
