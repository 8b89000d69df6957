"""The ``tracker`` suite's environment: the same tools the MCP server serves, on in-process state.

Synthesis, grading and RL need ``reset`` and ``snapshot``, which an MCP client cannot ask a server for; so the
environment runs :class:`~tools.tracker.tools.TrackerTools` itself, and :meth:`TrackerEnvironment.mcp_server` wraps
*this environment's* state in the MCP server, for running an agent over real MCP while grading from the snapshot.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer

from toolkit.environment import Environment
from tools.tracker.data import PROJECTS
from tools.tracker.tools import TrackerService, TrackerTools

__all__ = ["TrackerEnvironment"]


class TrackerEnvironment(TrackerTools, Environment):
    """A project/issue tracker (the tools of ``python -m tools.tracker``) as an environment."""

    suite = "tracker"

    def _build_state(self, seed: int, setup: dict[str, Any]) -> None:
        # The same state `python -m tools.tracker --seed SEED` serves.
        self._load_seed(seed)

    def state_tables(self) -> dict[str, list[dict[str, Any]]]:
        tables = super().state_tables()
        tables["projects"] = [{"id": p["key"], **p} for p in PROJECTS]
        tables["members"] = sorted(({"id": m, "project": p["key"]} for p in PROJECTS for m in p["members"]),
                                   key=lambda r: (r["project"], r["id"]))
        return tables

    def slot_providers(self) -> dict[str, Callable[[random.Random, dict[str, Any]], Any]]:
        def unassigned_todo(rng: random.Random, slots: dict[str, Any]) -> str:
            ids = [i["id"] for i in self.snapshot()["issues"] if i["status"] == "todo" and i["assignee"] is None]
            return rng.choice(ids)

        return {"unassigned_todo": unassigned_todo}

    def mcp_server(self) -> MCPServer:
        """An MCP server whose tools act on this environment's state (use with an in-process MCP client)."""
        from tools.tracker.server import build_server

        return build_server(_Bound(self))


class _Bound(TrackerService):
    """A service view sharing an environment's state (the server reads the environment's current dicts)."""

    def __init__(self, env: TrackerEnvironment) -> None:  # no seeding: state is the environment's
        self._env = env

    @property  # type: ignore[override]
    def projects(self) -> dict[str, dict[str, Any]]:
        return self._env.projects

    @property  # type: ignore[override]
    def issues(self) -> dict[str, dict[str, Any]]:
        return self._env.issues
