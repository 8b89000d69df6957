"""How varied a synthesized dataset is: distinct tools, calls, argument values and phrasings."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from toolkit.records import Trajectory

__all__ = ["diversity", "render_diversity"]


def _walk(traj: Trajectory) -> list[Trajectory]:
    return [traj] + [n for child in traj.subagents.values() for n in _walk(child)]


def diversity(path: Path) -> dict[str, Any]:
    """Counts over every written record of a run (subagent conversations included)."""
    tools: Counter[str] = Counter()
    calls: set[str] = set()
    values: set[str] = set()
    phrasings: set[str] = set()
    requests: set[str] = set()
    kinds: Counter[str] = Counter()
    records = 0
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    traj = Trajectory.model_validate_json(line)
                except ValueError:
                    continue
                records += 1
                kinds[traj.scenario.kind if traj.scenario else "unknown"] += 1
                if traj.provenance:
                    phrasings.update(str(p) for p in traj.provenance.extra.get("phrasings", []))
                for node in _walk(traj):
                    for m in node.messages:
                        if m.role == "user" and m.content:
                            requests.add(m.content)
                    for c in node.tool_calls():
                        tools[c.name] += 1
                        calls.add(c.name + json.dumps(c.arguments, sort_keys=True))
                        values.update(f"{c.name}.{k}={json.dumps(v, sort_keys=True)}" for k, v in c.arguments.items())
    return {
        "records": records,
        "distinct_tools": len(tools),
        "distinct_calls": len(calls),
        "distinct_argument_values": len(values),
        "distinct_phrasings": len(phrasings),
        "distinct_user_messages": len(requests),
        "calls_per_tool": dict(tools.most_common()),
        "records_per_kind": dict(kinds.most_common()),
    }


def render_diversity(d: dict[str, Any]) -> str:
    return (f"diversity: {d['distinct_tools']} tools, {d['distinct_calls']} distinct calls, "
            f"{d['distinct_argument_values']} distinct argument values, {d['distinct_phrasings']} phrasing templates, "
            f"{d['distinct_user_messages']} distinct user messages over {d['records']} records")
