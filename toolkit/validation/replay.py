"""The ``replay`` stage: re-run a trajectory's calls on fresh tools and compare with what was recorded.

Calls run in the order the conversation made them, on one registry (one tool state) per trajectory. A delegate
call (one that keys a subagent) is not executed: its child's calls are replayed in its place, on the same
tools, since a subagent acts on the state its parent sees.

Results are compared as follows. The error flag must agree whenever the record states one. For a deterministic
tool the text must be equal, or both texts must be JSON and parse to equal values (so key order and whitespace
do not matter). For a non-deterministic tool — ``ToolSpec.deterministic`` false in the record or the registry,
or a name matched by ``nondeterministic`` patterns — only the shape must agree: both JSON with the same types
and object keys at every level, or both plain text. The first mismatch ends the replay: the states diverged.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Collection
from typing import Any

from toolkit.records import INJECTED_FAILURES_KEY, Message, StageOutcome, Trajectory
from toolkit.specs import ToolResult
from toolkit.toolsets import ToolRegistry
from toolkit.validation.stages import DEFAULT_MAX_DEPTH, clip_value, reason, where

__all__ = ["replay_trajectory", "compare_result", "json_shape", "same_shape", "nondeterminism_rule"]


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


def same_shape(a: Any, b: Any) -> bool:
    """Whether two JSON values have the same shape: the same types (numbers are numbers) and object keys at
    every level. An empty array matches any array, since its items' shape is unknown."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_shape(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        if not a or not b:
            return True
        # every item of each array has the shape of some item of the other; one item per distinct exact shape
        # keeps this cheap on long arrays
        left, right = _representatives(a), _representatives(b)
        return all(any(same_shape(x, y) for y in right) for x in left) and all(
            any(same_shape(y, x) for x in left) for y in right
        )
    return isinstance(a, (dict, list)) == isinstance(b, (dict, list)) and json_shape(a) == json_shape(b)


def _representatives(items: list[Any]) -> list[Any]:
    seen: dict[str, Any] = {}
    for item in items:
        seen.setdefault(json.dumps(json_shape(item), sort_keys=True), item)
    return list(seen.values())


def _parse(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def compare_result(recorded: Message, result: ToolResult, *, deterministic: bool) -> str | None:
    """Why a replayed result disagrees with the recorded tool message, or ``None`` when they agree."""
    old, new = recorded.content or "", result.content
    if recorded.is_error is not None and recorded.is_error != result.is_error:
        state = "an error" if recorded.is_error else "a success"
        got = "an error" if result.is_error else "a success"
        return f"recorded {state} but replay gave {got}: {_show(new)}"
    old_json, old_value = _parse(old)
    new_json, new_value = _parse(new)
    if deterministic:
        if old == new or (old_json and new_json and old_value == new_value):
            return None
        if old_json and new_json:
            at, why = _difference(old_value, new_value, by_shape=False)
            return f"at {at}: {why}"
        return f"recorded {_show(old)} but replay gave {_show(new)}"
    if old_json != new_json:
        kinds = ("JSON" if old_json else "text", "JSON" if new_json else "text")
        return f"recorded {kinds[0]} {_show(old)} but replay gave {kinds[1]} {_show(new)}"
    if old_json and not same_shape(old_value, new_value):
        at, why = _difference(old_value, new_value, by_shape=True)
        return f"shape differs at {at} (non-deterministic tool, compared by shape): {why}"
    return None


def _show(text: str) -> str:
    ok, value = _parse(text)
    return clip_value(value if ok and isinstance(value, (dict, list)) else text)


def _difference(old: Any, new: Any, *, by_shape: bool, path: str = "(root)") -> tuple[str, str]:
    """The first place two JSON values differ (in value, or only in shape), and how."""
    if isinstance(old, dict) and isinstance(new, dict):
        missing, extra = sorted(set(old) - set(new)), sorted(set(new) - set(old))
        if missing or extra:
            bits = ([f"replay lacks key(s) {', '.join(missing)}"] if missing else []) + (
                [f"replay adds key(s) {', '.join(extra)}"] if extra else [])
            return path, "; ".join(bits)
        for key in old:
            if (not same_shape(old[key], new[key])) if by_shape else (old[key] != new[key]):
                return _difference(old[key], new[key], by_shape=by_shape, path=_join(path, key))
    elif isinstance(old, list) and isinstance(new, list) and not by_shape:
        if len(old) != len(new):
            return path, f"recorded {len(old)} item(s) but replay gave {len(new)}"
        for k, (a, b) in enumerate(zip(old, new)):
            if a != b:
                return _difference(a, b, by_shape=False, path=_join(path, str(k)))
    if by_shape:
        return path, f"recorded {_shape_name(old)} but replay gave {_shape_name(new)}"
    return path, f"recorded {clip_value(old)} but replay gave {clip_value(new)}"


def _join(path: str, key: str) -> str:
    return key if path == "(root)" else f"{path}/{key}"


def _shape_name(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)} item(s) shaped {sorted(set(json_shape(value)[1]))}"
    return f"a {json_shape(value)}"


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
    node: Trajectory,
    path: tuple[str, ...],
    registry: ToolRegistry,
    nondet: Callable[[str], bool],
    max_depth: int,
) -> str | None:
    if len(path) > max_depth:
        return None
    answers = {
        m.tool_call_id: (i, m) for i, m in enumerate(node.messages) if m.role == "tool" and m.tool_call_id
    }
    flagged = {t.name for t in node.tools if not t.deterministic}
    injected = node.metadata.get(INJECTED_FAILURES_KEY) or {}
    for m in node.messages:
        for tc in m.tool_calls or []:
            if tc.id in injected:
                continue  # the recorded result was simulated, never produced by the tool: nothing to replay
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
            deterministic = not (
                name in flagged or nondet(name) or _registry_nondeterministic(registry, name)
            )
            why = compare_result(recorded, result, deterministic=deterministic)
            if why:
                hint = "" if not deterministic else (
                    f" (if {name!r} legitimately varies between calls, mark it non-deterministic: "
                    f"--nondeterministic {name})")
                return reason("replay mismatch", f"{where(path, i)}: call {tc.id!r} to {name!r}: {why}{hint}")
    return None


def _registry_nondeterministic(registry: ToolRegistry, name: str) -> bool:
    return name in registry and not registry.spec(name).deterministic
