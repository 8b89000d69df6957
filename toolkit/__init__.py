"""ToolGym core: tool specs and registry (Python + MCP), presentations, trajectory records, validation, export."""

from toolkit.errors import ParseError, ToolDefinitionError, ToolError, ToolGymError, UserError
from toolkit.records import SCHEMA_VERSION, Message, Trajectory
from toolkit.sources import ToolSource, open_registry, parse_source
from toolkit.specs import ToolCall, ToolResult, ToolSpec
from toolkit.toolsets import CallLimits, ToolRegistry, Toolset

__version__ = "0.1.0"

__all__ = [
    "SCHEMA_VERSION",
    "CallLimits",
    "Message",
    "ParseError",
    "ToolCall",
    "ToolDefinitionError",
    "ToolError",
    "ToolGymError",
    "ToolRegistry",
    "ToolResult",
    "ToolSource",
    "ToolSpec",
    "Toolset",
    "Trajectory",
    "UserError",
    "open_registry",
    "parse_source",
]
