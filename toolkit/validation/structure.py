"""The ``structure`` stage: message order, call/result pairing, and the shape of the subagent tree.

Rules, for the root conversation and every subagent conversation:

* An optional system message comes first and only first; the first other message is the user's.
* Tool messages answer calls of the latest assistant turn: each call is answered exactly once, by a later
  ``tool`` message carrying its id, before the next user or assistant message. A tool message with an unknown
  id, a second answer to a call, or an answer with no call before it is an error. Tool results are followed by
  the assistant.
* Two assistant messages never follow each other, an assistant message says something or calls something, and
  the conversation ends with the assistant's message.
* Call ids are unique in a conversation; each ``subagents`` key is the id of one of its calls; subagent trees
  are at most ``max_depth`` levels deep and their ids are unique.
"""

from __future__ import annotations

from toolkit.records import Message, StageOutcome, Trajectory
from toolkit.validation.stages import DEFAULT_MAX_DEPTH, capped, reason, walk, where

__all__ = ["structure_stage", "conversation_problems"]


def structure_stage(traj: Trajectory, *, max_depth: int = DEFAULT_MAX_DEPTH) -> StageOutcome:
    reasons: list[str] = []
    seen_ids: dict[str, tuple[str, ...]] = {}
    for path, node in walk(traj, max_depth):
        if len(path) > max_depth:
            reasons.append(reason(
                "subagent too deep",
                f"{where(path)} is nested {len(path)} levels deep; the limit is {max_depth} (raise it with "
                "--max-depth if deeper delegation is intended)",
            ))
            continue
        if node.id in seen_ids and path:
            reasons.append(reason("duplicate trajectory id", f"{where(path)} reuses id {node.id!r}"))
        seen_ids.setdefault(node.id, path)
        reasons.extend(conversation_problems(node, path))
        reasons.extend(_subagent_problems(node, path))
    return StageOutcome(stage="structure", passed=not reasons, reasons=capped(reasons))


def conversation_problems(node: Trajectory, path: tuple[str, ...] = ()) -> list[str]:
    """Problems of one conversation's message order and call/result pairing (not of its subagents)."""
    out: list[str] = []
    msgs = node.messages
    if not msgs:
        return [reason("empty conversation", f"{where(path)} has no messages")]
    pending: dict[str, tuple[int, str]] = {}  # call id -> (message index, tool name), awaiting an answer
    call_at: dict[str, int] = {}  # every call id -> message index of its call
    answered: dict[str, int] = {}  # call id -> message index of its answer
    any_calls = False
    first_other: int | None = None

    def close(at: int, role: str) -> None:
        for cid, (i, name) in pending.items():
            out.append(reason(
                "dangling tool call",
                f"{where(path, i)}: call {cid!r} to {name!r} is not answered before message {at} ({role})",
            ))
        pending.clear()

    prev: str | None = None
    for i, m in enumerate(msgs):
        role = m.role
        at = where(path, i)
        if m.tool_calls and role != "assistant":
            out.append(reason("misplaced field", f"{at}: a {role} message carries tool_calls"))
        if m.tool_call_id is not None and role != "tool":
            out.append(reason("misplaced field", f"{at}: a {role} message carries tool_call_id"))
        if role != "system" and first_other is None:
            first_other = i
            if role != "user":
                out.append(reason(
                    "bad role order",
                    f"{at}: the conversation must start with a user message (after an optional system "
                    f"message), not {role}",
                ))
        if role == "system":
            if i != 0:
                out.append(reason("bad role order", f"{at}: a system message may only come first"))
        elif role == "user":
            if prev == "tool":
                out.append(reason(
                    "bad role order", f"{at}: tool results must be followed by an assistant message"
                ))
            close(i, role)
        elif role == "assistant":
            if prev == "assistant":
                out.append(reason(
                    "bad role order",
                    f"{at}: two assistant messages in a row; merge them or put the user's turn between",
                ))
            close(i, role)
            if not m.tool_calls and not (m.content or "").strip():
                out.append(reason("empty assistant message", f"{at}: neither content nor tool calls"))
            for tc in m.tool_calls or []:
                any_calls = True
                if tc.id in call_at:
                    first = call_at[tc.id]
                    out.append(reason(
                        "duplicate call id", f"{at}: call id {tc.id!r} was already used in message {first}"
                    ))
                    continue
                call_at[tc.id] = i
                pending[tc.id] = (i, tc.function.name)
        elif role == "tool":
            out.extend(_tool_message_problems(m, at, i, pending, call_at, answered, any_calls))
        prev = role
    close(len(msgs), "end of conversation")
    if msgs[-1].role != "assistant":
        out.append(reason(
            "bad role order",
            f"{where(path, len(msgs) - 1)}: the conversation ends with a {msgs[-1].role} message; it must "
            "end with the assistant's answer",
        ))
    return out


def _tool_message_problems(
    m: Message,
    at: str,
    i: int,
    pending: dict[str, tuple[int, str]],
    call_at: dict[str, int],
    answered: dict[str, int],
    any_calls: bool,
) -> list[str]:
    cid = m.tool_call_id
    if cid is None:
        return [reason("tool message without call id", f"{at}: a tool message must carry tool_call_id")]
    if cid in answered:
        first = answered[cid]
        return [reason("call answered twice", f"{at}: call {cid!r} was already answered in message {first}")]
    if cid in pending:
        _, name = pending.pop(cid)
        answered[cid] = i
        if m.name is not None and m.name != name:
            return [reason(
                "tool name mismatch",
                f"{at}: the result names tool {m.name!r} but call {cid!r} was to {name!r}",
            )]
        return []
    if cid in call_at:
        return [reason(
            "late tool result",
            f"{at}: call {cid!r} (message {call_at[cid]}) is answered after a later turn began",
        )]
    if not any_calls:
        return [reason(
            "tool message without call", f"{at}: no assistant tool call precedes this tool message"
        )]
    return [reason(
        "unknown call id", f"{at}: tool_call_id {cid!r} is not the id of any call in this conversation"
    )]


def _subagent_problems(node: Trajectory, path: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    if not node.subagents:
        return out
    calls = {tc.id for m in node.messages if m.role == "assistant" for tc in m.tool_calls or []}
    parent_tools = {t.name: t for t in node.tools}
    for key, child in node.subagents.items():
        if key not in calls:
            known = ", ".join(sorted(calls)) or "none"
            out.append(reason(
                "unknown subagent key",
                f"{where(path)}: subagents key {key!r} is not the id of a call in this conversation "
                f"(call ids: {known})",
            ))
        for spec in child.tools:
            mine = parent_tools.get(spec.name)
            if mine is not None and mine.signature() != spec.signature():
                out.append(reason(
                    "conflicting tool definition",
                    f"{where(path + (key,))}: tool {spec.name!r} is defined differently from its parent's",
                ))
    return out
