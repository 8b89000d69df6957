"""``tracker``: a project/issue tracker served as a real MCP server (``python -m tools.tracker``).

Projects, issues with status/priority enums, labels, assignees and comments; six tools with typed results (output
schemas, structured content). The same tools run in-process in :class:`TrackerEnvironment` for synthesis, grading
and RL. See ``docs/suites.md``.
"""

from __future__ import annotations

from toolkit.python_tools import PythonToolset
from tools.tracker.environment import TrackerEnvironment
from tools.tracker.server import build_server
from tools.tracker.tools import TOOL_NAMES, WORKFLOW, TrackerError, TrackerService, TrackerTools

__all__ = [
    "TrackerEnvironment",
    "TrackerService",
    "TrackerTools",
    "TrackerError",
    "TOOL_NAMES",
    "WORKFLOW",
    "build_server",
    "create_environment",
    "create_toolset",
]


def create_environment() -> TrackerEnvironment:
    """A new environment over freshly seeded tracker state."""
    return TrackerEnvironment()


def create_toolset() -> PythonToolset:
    """The tracker tools, in-process, over freshly seeded state (``stdio:python -m tools.tracker`` serves the same)."""
    return create_environment().toolset()
