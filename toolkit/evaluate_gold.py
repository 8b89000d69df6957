"""Where a task's gold comes from: its assistant turns, ``expected.calls``, or BFCL possible-answer lists.

Every assistant turn of a gold trajectory is a *decision point* (the model is prompted with the gold history
before it). A request-only task has one decision point after its last message; its gold is the BFCL possible
answers in ``provenance.extra["bfcl_possible_answer"]`` when present (see :mod:`toolkit.bfcl`), else
``expected.calls``.
"""

from __future__ import annotations

from typing import Any, Literal

from toolkit.errors import UserError
from toolkit.records import Trajectory
from toolkit.specs import ToolCall

__all__ = [
    "POSSIBLE_ANSWERS_KEY",
    "GoldKind",
    "cluster_of",
    "decision_points",
    "gold_dict",
    "gold_kind",
    "gold_name",
    "gold_tool_names",
    "possible_answers",
]

POSSIBLE_ANSWERS_KEY = "bfcl_possible_answer"

GoldKind = Literal["calls", "no_call", "answer"]


def gold_dict(gold: Any) -> dict[str, Any]:
    return gold.to_dict() if isinstance(gold, ToolCall) else dict(gold)


def gold_name(gold: Any) -> str:
    if isinstance(gold, ToolCall):
        return gold.name
    return str(next(iter(gold))) if isinstance(gold, dict) and gold else "?"


def gold_tool_names(traj: Trajectory) -> list[str]:
    """The distinct tools a task's gold calls use, in first-use order (BFCL possible answers included)."""
    answers = possible_answers(traj)
    if answers is not None:
        names = [gold_name(a) for a in answers]
    elif traj.expected is not None and traj.expected.calls is not None:
        names = [c.name for c in traj.expected.calls]
    else:
        names = [c.name for c in traj.tool_calls()]
    return list(dict.fromkeys(names))


def possible_answers(traj: Trajectory) -> list[dict[str, Any]] | None:
    extra = traj.provenance.extra if traj.provenance is not None else {}
    answers = extra.get(POSSIBLE_ANSWERS_KEY)
    if answers is None:
        return None
    if not isinstance(answers, list) or not all(isinstance(a, dict) and len(a) == 1 for a in answers):
        raise UserError(
            f"task {traj.id!r}: provenance.extra.{POSSIBLE_ANSWERS_KEY} must be a list of BFCL possible "
            "answers "
            "({function: {param: [allowed values]}})"
        )
    return answers


def gold_kind(traj: Trajectory, turn: int, gold: list[Any]) -> GoldKind:
    if gold:
        return "calls"
    return "answer" if turn > 0 and traj.messages[turn - 1].role == "tool" else "no_call"


def decision_points(traj: Trajectory, steps: str) -> list[tuple[int, list[Any]]]:
    """(index of the gold assistant message, its calls) per decision point.

    A task without assistant messages (just the request) has one decision point after its last message, whose
    gold is ``expected.calls``.
    """
    points: list[tuple[int, list[Any]]] = [
        (i, m.calls()) for i, m in enumerate(traj.messages) if m.role == "assistant"
    ]
    if not points:
        answers = possible_answers(traj)
        if answers is not None:
            return [(len(traj.messages), answers)]
        if traj.expected is None or traj.expected.calls is None:
            raise UserError(f"task {traj.id!r} has neither gold assistant turns nor expected.calls to score")
        gold = [ToolCall(name=c.name, arguments=c.arguments) for c in traj.expected.calls]
        return [(len(traj.messages), gold)]
    return points[:1] if steps == "first" else points


def cluster_of(traj: Trajectory) -> str:
    names = gold_tool_names(traj)
    return names[0] if names else "(no call)"
