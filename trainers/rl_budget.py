"""Does ``max_completion_length`` leave room for the tasks' gold solutions? (docs/rl.md, Token budget)

A rollout's budget counts every completion token, the tool results the environment appends included (TRL's
convention), and multi-turn tasks spend most of it on those results: a search that returns five documents and then
the document the user asked for can take 800 tokens of which the policy writes 150. A task whose gold solution
needs more than the budget can never be solved in training, since the rollout ends as soon as the next tool results
do not fit, and ``guidance: gold`` cannot demonstrate it either. Nothing in the logged rewards says so: such tasks
just look hard. So before training the run measures each task's gold demonstration once, with no budget, and
reports the tasks that do not fit.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from toolkit.environment import Task

__all__ = ["BudgetReport", "check_budget"]

MAX_CHECKED = 512
"""Tasks measured at most (a seeded sample beyond that); each costs one demonstration: a render and tool calls."""


@dataclass(frozen=True)
class BudgetReport:
    """The gold demonstrations' lengths (completion tokens, tool results included) against the run's budget."""

    budget: int
    tasks: int  # tasks in the run
    lengths: dict[str, int] = field(default_factory=dict)  # task id -> tokens, for the measured tasks with a demo
    kinds: dict[str, str] = field(default_factory=dict)  # task id -> kind
    sampled: bool = False  # more tasks than MAX_CHECKED: a seeded sample was measured

    @property
    def over(self) -> list[str]:
        """Ids of the measured tasks whose gold solution does not fit the budget."""
        return sorted(t for t, n in self.lengths.items() if n > self.budget)

    @property
    def longest(self) -> int:
        return max(self.lengths.values(), default=0)

    def message(self) -> str | None:
        """A warning naming the problem and the fix, or None when every measured gold solution fits."""
        over = self.over
        if not over:
            return None
        by_kind: dict[str, int] = {}
        for t in over:
            by_kind[self.kinds[t]] = by_kind.get(self.kinds[t], 0) + 1
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items()))
        measured = f"{len(self.lengths)} measured" + (f" (a sample of {self.tasks})" if self.sampled else "")
        return (
            f"max_completion_length {self.budget} is shorter than the gold solution of {len(over)} of {measured} "
            f"tasks ({kinds}; longest {self.longest} tokens, tool results included): their rollouts run out of "
            "tokens before they can pass, and guidance cannot demonstrate them. Raise max_completion_length to at "
            f"least {self.longest}, or leave those kinds out (kinds:)"
        )

    def to_dict(self) -> dict[str, Any]:
        values = sorted(self.lengths.values())
        return {
            "max_completion_length": self.budget,
            "tasks": self.tasks,
            "measured": len(values),
            "sampled": self.sampled,
            "median": values[len(values) // 2] if values else None,
            "longest": self.longest if values else None,
            "over_budget": len(self.over),
            "over_budget_tasks": self.over[:20],
        }


def check_budget(rollout: Any, tasks: Sequence[Task], prompts: Sequence[Any], *, seed: int = 0) -> BudgetReport:
    """Measure the gold demonstration of each task (``prompts[i]`` is ``tasks[i]``'s dataset prompt) with
    ``rollout`` (a :class:`trainers.rl_rollout.ToolRollout`) against its ``max_completion_length``. Tasks with no
    gold solution to show (no-tool tasks) are not measured."""
    index = list(range(len(tasks)))
    sampled = len(index) > MAX_CHECKED
    if sampled:
        index = sorted(random.Random(seed).sample(index, MAX_CHECKED))
    lengths, kinds = {}, {}
    for i in index:
        n = rollout.gold_length(prompts[i])
        if n is not None:
            lengths[tasks[i].id], kinds[tasks[i].id] = n, tasks[i].kind
    return BudgetReport(
        budget=rollout.max_completion_length, tasks=len(tasks), lengths=lengths, kinds=kinds, sampled=sampled
    )
