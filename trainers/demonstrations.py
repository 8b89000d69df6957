"""Gold demonstrations for GRPO groups the policy cannot solve yet (``guidance: gold``; docs/rl.md, Guidance).

GRPO learns only from outcome contrast inside a group. When every rollout of a task fails, as the bundled model's
do on most chain and error-recovery tasks, the group teaches nothing, however long training runs. With guidance
the rollout replaces one rollout of such a group by a demonstration of the task's gold solution: the assistant
turns the offline synthesizer would write (ask for a missing argument, make the gold calls in order, answer
stating what they returned), rendered in the policy's presentation and chat template and run on the live
environment like any rollout, so its tool results are real and masked from the loss. It is kept only when it
passes the grader. Scored with the others, it usually has the group's best reward and so a positive advantage:
mixed-policy GRPO in the manner of LUFFY (Yan et al., 2025, "Learning to Reason under Off-Policy Guidance").

This module says what the demonstrator writes next; :class:`trainers.rl_rollout.ToolRollout` turns it into tokens.
"""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from synthesizers.offline.phrasing import answer_stating, ask_for
from toolkit.environment import Task
from toolkit.specs import ToolResult, ToolSpec
from trainers.rl_env import CallRecord

__all__ = ["DEMONSTRABLE_KINDS", "GUIDANCE", "demonstration_message", "rows_beside_demonstrations"]

GUIDANCE = ("none", "gold")
DEMONSTRABLE_KINDS = ("single", "parallel", "chain", "missing_argument", "error")
"""Task kinds with gold calls to demonstrate (a no-tool task's right answer is not known to ToolGym)."""


def rows_beside_demonstrations(demonstration: Sequence[bool], group_size: int) -> list[bool]:
    """True for each sampled rollout that shares its group with a demonstration (``guidance_negatives: false``).

    ``demonstration`` flags one process's rollouts, a task's ``group_size`` rollouts in consecutive rows. A batch
    that is not whole groups is never guided (the rollout cannot see a split group), so nothing is flagged."""
    if group_size < 1 or len(demonstration) % group_size:
        return [False] * len(demonstration)
    out: list[bool] = []
    for start in range(0, len(demonstration), group_size):
        group = [bool(d) for d in demonstration[start : start + group_size]]
        out += [any(group) and not d for d in group]
    return out


def demonstration_message(
    task: Task, user_turn: int, calls: Sequence[CallRecord], specs: Mapping[str, ToolSpec]
) -> dict[str, Any] | None:
    """The demonstrator's next assistant message, given the user turn reached and the calls made so far; None
    when the task has no gold solution to show.

    A missing-argument task is answered first by asking for the missing value; then the gold calls run one per turn
    (a chain's later call needs the earlier result; a parallel task's calls go in one turn), the calls meant to
    fail included; then the answer restates the results and every answer fact. Phrasings are drawn with a seed
    from the task id, so a task's demonstration is the same in every step."""
    if task.kind not in DEMONSTRABLE_KINDS or not task.gold_calls:
        return None
    rng = random.Random(zlib.crc32(f"{task.id}/{len(calls)}/{user_turn}".encode()))
    gold = task.gold_calls
    if task.kind == "missing_argument" and user_turn == 0 and len(task.turns) > 1:
        spec = specs.get(gold[0].name)
        if spec is None:
            return None
        return {"role": "assistant", "content": ask_for(spec, list(task.missing_arguments) or ["details"], rng)}
    done = len(calls)
    if done < len(gold):
        batch = gold[done:] if task.kind == "parallel" else gold[done : done + 1]
        tool_calls = [
            {"id": f"demo_{done + k}", "type": "function", "function": {"name": c.name, "arguments": dict(c.arguments)}}
            for k, c in enumerate(batch)
        ]
        return {"role": "assistant", "content": "", "tool_calls": tool_calls}
    pairs = [(specs[c.name], _result(c)) for c in calls if c.name in specs]
    return {"role": "assistant", "content": answer_stating(pairs, list(task.answer_facts), rng)}


def _result(call: CallRecord) -> ToolResult:
    """The result as the synthesizer saw it: a JSON result's value as ``structured``, so the answer restates its
    fields as the SFT data's answers do rather than quoting the raw text."""
    structured = None
    if not call.is_error:
        try:
            value = json.loads(call.content)
        except ValueError:
            value = None
        if value is not None:
            structured = value if isinstance(value, dict) else {"result": value}
    return ToolResult(content=call.content, structured=structured, is_error=call.is_error)
