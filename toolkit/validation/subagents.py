"""The ``subagents`` stage: each delegation is consistent between parent and child.

A delegate call is a call whose id keys an entry of ``subagents``. For each one:

* when the call's arguments grant tools (``tools`` or ``tool_names``: a list of names, or of objects with a
  ``name``), the child was given and used only those tools;
* when the child's ``expected.calls`` is non-empty, the child called at least one tool — a child that answers
  without calling anything has made its report up;
* the parent's tool message for the call holds exactly the child's final answer (a child with no final answer
  is only acceptable when the parent recorded the delegation as an error).
"""

from __future__ import annotations

from typing import Any

from toolkit.records import Message, StageOutcome, ToolCallRecord, Trajectory
from toolkit.validation.stages import DEFAULT_MAX_DEPTH, capped, clip_value, reason, walk, where

__all__ = ["subagents_stage", "granted_tools"]

_GRANT_KEYS = ("tools", "tool_names")


def granted_tools(arguments: dict[str, Any]) -> set[str] | None:
    """The tool names a delegate call grants, or ``None`` when its arguments do not say."""
    for key in _GRANT_KEYS:
        value = arguments.get(key)
        if isinstance(value, list):
            names = set()
            for item in value:
                if isinstance(item, str):
                    names.add(item)
                elif isinstance(item, dict) and isinstance(item.get("name"), str):
                    names.add(item["name"])
            return names
    return None


def subagents_stage(traj: Trajectory, *, max_depth: int = DEFAULT_MAX_DEPTH) -> StageOutcome:
    reasons: list[str] = []
    for path, node in walk(traj, max_depth):
        if not node.subagents or len(path) >= max_depth + 1:
            continue
        calls: dict[str, ToolCallRecord] = {}
        answers: dict[str, Message] = {}
        for m in node.messages:
            for tc in m.tool_calls or []:
                calls.setdefault(tc.id, tc)
            if m.role == "tool" and m.tool_call_id is not None:
                answers.setdefault(m.tool_call_id, m)
        for key, child in node.subagents.items():
            call = calls.get(key)
            if call is None:
                continue  # the structure stage reports keys that are not call ids
            reasons.extend(_delegation_problems(path + (key,), call, child, answers.get(key)))
    return StageOutcome(stage="subagents", passed=not reasons, reasons=capped(reasons))


def _delegation_problems(
    path: tuple[str, ...], call: ToolCallRecord, child: Trajectory, answer: Message | None
) -> list[str]:
    out: list[str] = []
    at = where(path)
    child_calls = child.tool_calls()
    granted = granted_tools(call.function.arguments)
    if granted is not None:
        allowed = ", ".join(sorted(granted)) or "none"
        for spec in child.tools:
            if spec.name not in granted:
                out.append(reason(
                    "ungranted tool", f"{at}: the child was given tool {spec.name!r}, which delegate call "
                                      f"{call.id!r} did not grant (granted: {allowed})",
                ))
        used = sorted({c.name for c in child_calls} - granted)
        for name in used:
            out.append(reason(
                "ungranted tool",
                f"{at}: the child called {name!r}, which delegate call {call.id!r} did not grant "
                f"(granted: {allowed})",
            ))
    if child.expected is not None and child.expected.calls and not child_calls:
        out.append(reason(
            "ungrounded subagent",
            f"{at}: the child answered without calling any tool although {len(child.expected.calls)} "
            "call(s) were expected; its report is not grounded in tool results",
        ))
    final = child.final_answer()
    if answer is None:
        return out  # a dangling delegate call is the structure stage's finding
    if final is None:
        if not answer.is_error:
            out.append(reason(
                "subagent without answer",
                f"{at}: the child ends without a final answer, yet the parent's result for {call.id!r} is "
                "not an error",
            ))
    elif answer.content != final:
        out.append(reason(
            "subagent answer mismatch",
            f"{at}: the parent's result for {call.id!r} is {clip_value(answer.content or '')} but the "
            f"child's final answer is {clip_value(final)}; they must be identical",
        ))
    return out
