"""ToolGym core: tools (Python + MCP) behind one registry, three presentations, trajectory records, validation,
export, environments, metrics and evaluation.

``__all__`` is the public API. Names are imported on first use (PEP 562), so ``import toolkit`` stays fast and a
command that only validates never imports the evaluation or model code.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # shapes and errors
    "ToolSpec": "toolkit.specs",
    "ToolCall": "toolkit.specs",
    "ToolResult": "toolkit.specs",
    "ToolGymError": "toolkit.errors",
    "UserError": "toolkit.errors",
    "ToolDefinitionError": "toolkit.errors",
    "ToolError": "toolkit.errors",
    "ParseError": "toolkit.errors",
    # tools: one registry over Python functions and MCP servers
    "Toolset": "toolkit.toolsets",
    "ToolRegistry": "toolkit.toolsets",
    "CallLimits": "toolkit.toolsets",
    "PythonToolset": "toolkit.python_tools",
    "tool": "toolkit.python_tools",
    "load_python_toolset": "toolkit.python_tools",
    "MCPToolset": "toolkit.mcp_tools",
    "build_mcp_server": "toolkit.mcp_serve",
    "ToolSource": "toolkit.sources",
    "parse_source": "toolkit.sources",
    "open_registry": "toolkit.sources",
    # presentations
    "Presentation": "toolkit.presentations",
    "ParseResult": "toolkit.presentations",
    "get_presentation": "toolkit.presentations",
    "PRESENTATION_NAMES": "toolkit.presentations",
    # records, reading, validation, export
    "SCHEMA_VERSION": "toolkit.records",
    "Trajectory": "toolkit.records",
    "Message": "toolkit.records",
    "load_trajectories": "toolkit.readers",
    "read_records": "toolkit.readers",
    "validate_file": "toolkit.validation",
    "validate_records": "toolkit.validation",
    "validate_trajectory": "toolkit.validation",
    "ValidationReport": "toolkit.validation",
    "get_exporter": "toolkit.exporters",
    "split_records": "toolkit.exporters",
    "to_hf_dataset": "toolkit.exporters",
    "load_trl_jsonl": "toolkit.exporters",
    # environments and tasks
    "Environment": "toolkit.environment",
    "Task": "toolkit.environment",
    "Grade": "toolkit.environment",
    "get_suite": "toolkit.environment",
    "list_suites": "toolkit.environment",
    "render_tasks": "toolkit.template_rendering",
    "load_templates": "toolkit.templates",
    # chat formatting shared by training and evaluation
    "to_chat": "toolkit.chat_format",
    "prompt_for": "toolkit.chat_format",
    # models, metrics, evaluation
    "Backend": "toolkit.backends",
    "ChatRequest": "toolkit.backends",
    "Decoding": "toolkit.backends",
    "OpenAIBackend": "toolkit.backends",
    "OpenAIConfig": "toolkit.backends",
    "LocalBackend": "toolkit.backends",
    "LocalConfig": "toolkit.backends",
    "ScriptedBackend": "toolkit.backends",
    "match_call": "toolkit.metrics",
    "match_calls": "toolkit.metrics",
    "EvalConfig": "toolkit.evaluate",
    "evaluate": "toolkit.evaluate",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
