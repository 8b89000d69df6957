"""The ``replay`` stage: re-run a trajectory's calls on fresh tools and compare with what was recorded.

Calls run in the order the conversation made them, on one registry (one tool state) per trajectory. A delegate
call (one that keys a subagent) is not executed: its child's calls are replayed in its place, on the same tools,
since a subagent acts on the state its parent sees.

Results are compared as follows. The error flag must agree whenever the record states one. For a deterministic
tool the text must be equal, or both texts must be JSON and parse to equal values (so key order and whitespace do
not matter). For a non-deterministic tool — ``ToolSpec.deterministic`` false in the record or the registry, or a
name matched by ``nondeterministic`` patterns — only the shape must agree: both JSON with the same types and
object keys at every level, or both plain text. The first mismatch ends the replay (the states have diverged).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Collection
from typing import Any

from toolkit.records import Message, StageOutcome, Trajectory
from toolkit.specs import ToolResult
from toolkit.toolsets import ToolRegistry
from toolkit.validation.stages import DEFAULT_MAX_DEPTH, clip_value, reason, where

__all__ = ["replay_trajectory", "compare_result", "json_shape", "nondeterminism_rule"]


def nondeterminism_rule(patterns: Collection[str] = ()) -> Callable[[str], bool]:
    """A predicate over tool names: true for names matching any glob pattern (``get_current_*``)."""
    exact = {p for p in patterns if not any(ch in p for ch in "*?[")}
    globs = [p for p in patterns if p not in exact]
    return lambda name: name in exact or any(fnmatch.fnmatchcase(name, g) for g in globs)


def json_shape(value: Any) -> Any:
    """The shape of a JSON value: types and object keys, not values (ints and floats are both numbers)."""
    if isinstance(value, dict):
        return {k: json_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        shapes = {json.dumps(json_shape(v), sort_keys=True) for v in value}
        return ["array", sorted(shapes)]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def _parse(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def compare_result(recorded: Message, result: ToolResult, *, deterministic: bool) -> str | None:
    """Why a replayed result disagrees with the recorded tool message, or ``None`` when they agree."""
    if recorded.is_error is not None and recorded.is_error != result.is_error:
        state = "an error" if recorded.is_error else "a success"
        return f"recorded {state} but replay gave {'an error' if result.is_error else 'a success'}: " \
               f"{clip_value(result.content)}"
    old, new = recorded.content or "", result.content
    old_json, old_value = _parse(old)
    new_json, new_value = _parse(new)
    if deterministic:
        if old == new or (old_json and new_json and old_value == new_value):
            return None
        return f"recorded {clip_value(old)} but replay gave {clip_value(new)}"
    if old_json != new_json:
        kinds = ("JSON" if old_json else "text", "JSON" if new_json else "text")
        return f"recorded {kinds[0]} {clip_value(old)} but replay gave {kinds[1]} {clip_value(new)}"
    if old_json and json_shape(old_value) != json_shape(new_value):
        return (f"shape differs (non-deterministic tool, compared by shape): recorded {clip_value(old)} but replay "
                f"gave {clip_value(new)}")
    return None


async def replay_trajectory(
    traj: Trajectory,
    registry: ToolRegistry,
    *,
    nondeterministic: Callable[[str], bool] = lambda name: False,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> StageOutcome:
    """Replay every call of ``traj`` (and its subagents) on ``registry``, which the caller has opened."""
    try:
        problem = await _replay(traj, (), registry, nondeterministic, max_depth)
    except Exception as exc:  # a toolset that raises instead of returning an error result is still a finding
        problem = reason("replay error", f"{type(exc).__name__}: {exc}")
    return StageOutcome(stage="replay", passed=problem is None, reasons=[problem] if problem else [])


async def _replay(
    node: Trajectory, path: tuple[str, ...], registry: ToolRegistry, nondet: Callable[[str], bool], max_depth: int
) -> str | None:
    if len(path) > max_depth:
        return None
    answers = {m.tool_call_id: (i, m) for i, m in enumerate(node.messages) if m.role == "tool" and m.tool_call_id}
    flagged = {t.name for t in node.tools if not t.deterministic}
    for m in node.messages:
        for tc in m.tool_calls or []:
            child = node.subagents.get(tc.id)
            if child is not None:
                problem = await _replay(child, path + (tc.id,), registry, nondet, max_depth)
                if problem:
                    return problem
                continue
            name = tc.function.name
            result = await registry.call(name, tc.function.arguments)
            if tc.id not in answers:
                continue  # an unanswered call is the structure stage's finding; its effects still count
            i, recorded = answers[tc.id]
            deterministic = not (name in flagged or nondet(name) or _registry_nondeterministic(registry, name))
            why = compare_result(recorded, result, deterministic=deterministic)
            if why:
                return reason("replay mismatch", f"{where(path, i)}: call {tc.id!r} to {name!r}: {why}")
    return None


def _registry_nondeterministic(registry: ToolRegistry, name: str) -> bool:
    return name in registry and not registry.spec(name).deterministic
