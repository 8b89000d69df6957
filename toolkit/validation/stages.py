"""Stage names, the reason format, the subagent-tree walk, and the first stage: ``record``.

Every reason is written ``"<kind>: <detail>"``. The kind is a short fixed phrase (``dangling tool call``,
``invalid arguments``) that reports count by; the detail names the place (subagent path, message index, call
id) and the problem.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from toolkit.jsonschema_utils import SchemaValidator, inline_refs, validator_for
from toolkit.records import StageOutcome, Trajectory, published_schema

__all__ = [
    "STAGES",
    "STATIC_STAGES",
    "DEFAULT_MAX_DEPTH",
    "reason",
    "reason_kind",
    "walk",
    "where",
    "record_stage",
]

STATIC_STAGES = ("record", "structure", "arguments", "results", "subagents")
STAGES = STATIC_STAGES + ("replay",)
DEFAULT_MAX_DEPTH = 3

# A record with thousands of problems should not produce a report of thousands of lines per stage.
MAX_REASONS = 20


def reason(kind: str, detail: str) -> str:
    return f"{kind}: {detail}"


def reason_kind(text: str) -> str:
    """The fixed phrase before the first ``": "`` of a reason."""
    return text.split(": ", 1)[0]


def where(path: tuple[str, ...], message: int | None = None) -> str:
    """``"message 3"``, ``"subagent c2, message 3"``, ``"subagent c2/c7"``."""
    parts = []
    if path:
        parts.append("subagent " + "/".join(path))
    if message is not None:
        parts.append(f"message {message}")
    return ", ".join(parts) or "conversation"


def walk(traj: Trajectory, max_depth: int | None = None) -> Iterator[tuple[tuple[str, ...], Trajectory]]:
    """Every conversation of a subagent tree, parents before children, as ``(path of call ids, trajectory)``.

    Iterative, so a hostile tree cannot exhaust the stack. Nodes deeper than ``max_depth`` are yielded (so
    that callers can report them) but not descended into.
    """
    stack: list[tuple[tuple[str, ...], Trajectory]] = [((), traj)]
    while stack:
        path, node = stack.pop()
        yield path, node
        if max_depth is not None and len(path) > max_depth:
            continue
        stack.extend((path + (key,), child) for key, child in reversed(list(node.subagents.items())))


def capped(reasons: list[str]) -> list[str]:
    if len(reasons) <= MAX_REASONS:
        return reasons
    return reasons[:MAX_REASONS] + [f"more problems: {len(reasons) - MAX_REASONS} more not listed"]


@lru_cache(maxsize=1)
def _record_validator() -> SchemaValidator:
    # The record schema shares its sub-models through $refs; inlining them (the subagent recursion stays a
    # ref) makes checking a record about a third faster.
    return validator_for(inline_refs(published_schema()))


@lru_cache(maxsize=1)
def _tools_validator() -> SchemaValidator:
    schema = published_schema()
    tools = schema["$defs"]["Trajectory"]["properties"]["tools"]
    return validator_for(inline_refs({**tools, "$defs": schema["$defs"]}))


_TOOLS_VERDICTS: dict[bytes, tuple[tuple[str, str], ...]] = {}
_TOOLS_VERDICTS_MAX = 4096


def _tools_problems(tools: Any) -> tuple[tuple[str, str], ...]:
    # Most datasets repeat a few tool lists on every record, and the list (schemas and all) is often the
    # larger part of a record: its verdict is cached by a digest of its content (not the content: tool lists
    # can be large).
    try:
        canonical = json.dumps(tools, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):  # not JSON (a record built in Python): check it uncached
        return _check_tools(tools)
    key = hashlib.blake2b(canonical.encode("utf-8"), digest_size=16).digest()
    verdict = _TOOLS_VERDICTS.get(key)
    if verdict is None:
        verdict = _check_tools(tools)
        if len(_TOOLS_VERDICTS) >= _TOOLS_VERDICTS_MAX:
            _TOOLS_VERDICTS.clear()
        _TOOLS_VERDICTS[key] = verdict
    return verdict


def _check_tools(tools: Any) -> tuple[tuple[str, str], ...]:
    out = []
    for err in _tools_validator().iter_errors(tools):
        out.append(("/".join(str(p) for p in err.absolute_path), err.message))
        if len(out) >= 5:
            break
    return tuple(out)


def _split_tools(node: Any, path: tuple[str, ...], taken: list[tuple[tuple[str, ...], Any]]) -> Any:
    """A shallow copy of a record with every conversation's ``tools`` moved into ``taken`` (with paths)."""
    if not isinstance(node, dict):
        return node
    out = dict(node)
    if "tools" in out:
        taken.append((path + ("tools",), out.pop("tools")))
    subagents = out.get("subagents")
    if isinstance(subagents, dict):
        out["subagents"] = {
            k: _split_tools(v, path + ("subagents", str(k)), taken) for k, v in subagents.items()
        }
    return out


def _schema_problems(data: Any) -> list[str]:
    """The record's JSON Schema violations; the same verdict as checking it whole, with tool lists cached."""
    reasons: list[str] = []
    taken: list[tuple[tuple[str, ...], Any]] = []
    try:
        rest = _split_tools(data, (), taken)
        for err in _record_validator().iter_errors(rest):
            at = "/".join(str(p) for p in err.absolute_path) or "(root)"
            reasons.append(reason("schema violation", f"{at}: {_clip(err.message)}"))
            if len(reasons) >= 5:
                return reasons
        for path, tools in taken:
            for rel, message in _tools_problems(tools):
                at = "/".join(path + ((rel,) if rel else ()))
                reasons.append(reason("schema violation", f"{at}: {_clip(message)}"))
    except RecursionError:
        reasons.append(reason("schema violation", "the record is nested too deeply to check"))
    return reasons[:5]


def record_stage(record: Trajectory | Mapping[str, Any]) -> tuple[Trajectory | None, StageOutcome]:
    """Check a record against the published JSON Schema, then build the pydantic model from it.

    A :class:`Trajectory` is checked as it would be written (``to_dict``), so that what passes here is what
    the file will hold.
    """
    data: Any = record.to_dict() if isinstance(record, Trajectory) else record
    reasons = _schema_problems(data)
    if reasons:
        return None, StageOutcome(stage="record", passed=False, reasons=sorted(reasons))
    if isinstance(record, Trajectory):
        return record, StageOutcome(stage="record", passed=True)
    try:
        traj = Trajectory.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors()[:5]:
            at = "/".join(str(p) for p in e["loc"]) or "(root)"
            reasons.append(reason("invalid record", f"{at}: {e['msg']}"))
        return None, StageOutcome(stage="record", passed=False, reasons=reasons)
    return traj, StageOutcome(stage="record", passed=True)


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_value(value: Any, limit: int = 60) -> str:
    """A short, single-line rendering of a value for a reason: strings quoted, other JSON values as JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = text.replace("\n", "\\n")
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(text) if isinstance(value, str) else text
