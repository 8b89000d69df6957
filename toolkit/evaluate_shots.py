"""Few-shot prompts: K solved examples before the task, the in-context-learning baseline (``--shots K``).

Examples come from a pool of solved records (by default the evaluated tasks themselves, leave-one-out). A task
never sees itself: candidates with the same id or the same first user message are left out. The choice is
deterministic for a seed and a task id, and the same for every presentation, so arms stay paired.

Candidates whose gold tools are all offered by the task come first, so the examples do not widen the tool
list;
when fewer than K qualify, others fill in and their tools are added to the prompt's tool list (recorded on the
result as ``shot_tools_added``). Each example is the record's conversation without its system message; a
request-only record (no assistant turn) is completed with its ``expected.calls`` and placeholder results. Call
ids are prefixed so they never collide with the task's own.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from toolkit.records import FunctionCall, Message, ToolCallRecord, Trajectory
from toolkit.specs import ToolSpec

__all__ = ["Shots", "choose_shots", "shot_messages"]

PLACEHOLDER_RESULT = "(example: result not shown)"


@dataclass(frozen=True)
class Shots:
    """The examples for one task, the messages they add and the extra tools they need."""

    ids: list[str]
    messages: list[Message]
    extra_tools: list[ToolSpec]


def _first_user(traj: Trajectory) -> str | None:
    return next((m.content for m in traj.messages if m.role == "user"), None)


def _gold_names(traj: Trajectory) -> set[str]:
    if traj.expected is not None and traj.expected.calls is not None:
        return {c.name for c in traj.expected.calls}
    return {c.name for c in traj.tool_calls()}


def _solved(traj: Trajectory) -> bool:
    has_turn = any(m.role == "assistant" for m in traj.messages)
    return has_turn or (traj.expected is not None and traj.expected.calls is not None)


def choose_shots(task: Trajectory, pool: Sequence[Trajectory], k: int, *, seed: int = 0) -> list[Trajectory]:
    """``k`` examples for ``task`` from ``pool`` (fewer when the pool is small), never the task itself."""
    if k <= 0:
        return []
    prompt = _first_user(task)
    offered = {s.name for s in task.tools}
    candidates = [p for p in pool if p.id != task.id and _first_user(p) != prompt and _solved(p)]
    rng = random.Random(f"shots/{seed}/{task.id}")
    rng.shuffle(candidates)
    fitting = [c for c in candidates if _gold_names(c) <= offered]
    others = [c for c in candidates if not _gold_names(c) <= offered]
    return (fitting + others)[:k]


def shot_messages(shot: Trajectory, index: int) -> list[Message]:
    """One example's turns (no system message), with call ids prefixed ``shot{index}_``."""
    prefix = f"shot{index}_"
    out: list[Message] = []
    body = [m for m in shot.messages if m.role != "system"]
    for m in body:
        update: dict[str, object] = {}
        if m.tool_calls:
            update["tool_calls"] = [tc.model_copy(update={"id": prefix + tc.id}) for tc in m.tool_calls]
        if m.tool_call_id is not None:
            update["tool_call_id"] = prefix + m.tool_call_id
        out.append(m.model_copy(update=update, deep=True))
    if not any(m.role == "assistant" for m in body):
        calls = shot.expected.calls if shot.expected is not None and shot.expected.calls is not None else []
        if calls:
            records = [
                ToolCallRecord(id=f"{prefix}{i}", function=FunctionCall(name=c.name, arguments=c.arguments))
                for i, c in enumerate(calls)
            ]
            out.append(Message(role="assistant", tool_calls=records))
            out.extend(
                Message(role="tool", tool_call_id=r.id, name=r.function.name, content=PLACEHOLDER_RESULT)
                for r in records
            )
        else:
            out.append(Message(role="assistant", content="No tool applies to this request."))
    return out


def build_shots(task: Trajectory, pool: Sequence[Trajectory], k: int, *, seed: int = 0) -> Shots:
    chosen = choose_shots(task, pool, k, seed=seed)
    messages: list[Message] = []
    offered = {s.name for s in task.tools}
    extra: list[ToolSpec] = []
    for i, shot in enumerate(chosen):
        messages.extend(shot_messages(shot, i))
        for spec in shot.tools:
            if spec.name in _gold_names(shot) and spec.name not in offered:
                offered.add(spec.name)
                extra.append(spec)
    return Shots(ids=[s.id for s in chosen], messages=messages, extra_tools=extra)
