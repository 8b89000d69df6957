"""The three presentations of one tool list.

* ``json``: OpenAI function tools (native) / Hermes ``<tool_call>`` text (fallback);
* ``mcp``: MCP ``tools/list`` entries, JSON calls in a fence;
* ``python``: typed stubs, Python call syntax read with ``ast``.

Each renders tools and calls from the same :class:`~toolkit.specs.ToolSpec` objects and parses model output
into the same canonical :class:`~toolkit.specs.ToolCall` list. See ``docs/presentations.md``.
"""

from toolkit.presentations._names import NameMap
from toolkit.presentations.base import LENIENCIES, ParseLimits, ParseResult, Presentation
from toolkit.presentations.json_format import JsonPresentation, openai_tool
from toolkit.presentations.mcp_format import McpPresentation
from toolkit.presentations.python_format import PythonPresentation
from toolkit.presentations.registry import PRESENTATION_NAMES, get_presentation

__all__ = [
    "LENIENCIES",
    "PRESENTATION_NAMES",
    "JsonPresentation",
    "McpPresentation",
    "NameMap",
    "ParseLimits",
    "ParseResult",
    "Presentation",
    "PythonPresentation",
    "get_presentation",
    "openai_tool",
]
