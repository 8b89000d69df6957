"""Summaries of one evaluated arm and paired comparisons of two (evaluation.md §5 and §7.6).

Both work on the per-task rows :func:`toolkit.evaluate.evaluate` returns or writes (``TaskResult`` objects or
the dicts of a results file), so a comparison can be rerun from files alone.

Repeated trials are rows that share a ``task_id`` (concatenate the files of several runs of one arm, e.g. at
temperature > 0 with different seeds). A task's outcome is then its success rate over its trials: task
accuracy gets a cluster-bootstrap interval instead of Wilson's (trials of one task are not independent),
pass^k and the flip rate are reported, and comparisons use the paired difference of rates (McNemar needs one
binary outcome per task, so it is left out).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from toolkit.errors import UserError
from toolkit.metrics import (
    AbstentionScores,
    SchemaValidity,
    abstention_scores,
    flip_rate,
    mean_pass_at_k,
    mean_pass_hat_k,
    schema_validity,
)
from toolkit.specs import ToolCall, ToolSpec
from toolkit.stats import (
    Interval,
    McNemarResult,
    PairedDifference,
    bootstrap_interval,
    mcnemar_test,
    minimum_detectable_difference,
    newcombe_paired_interval,
    paired_difference,
    wilson_interval,
)

__all__ = ["ArmSummary", "Comparison", "Group", "breakdown", "compare", "summarize"]

Mode = Literal["strict", "lenient"]


def _rows(results: Sequence[Any]) -> list[dict[str, Any]]:
    return [r if isinstance(r, Mapping) else r.to_dict() for r in results]


def _by_task(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["task_id"], []).append(r)
    return groups


def _outcomes(groups: dict[str, list[dict[str, Any]]], mode: str) -> dict[str, tuple[int, int]]:
    """Per task: (trials, successes)."""
    return {t: (len(g), sum(bool(r["correct"][mode]) for r in g)) for t, g in groups.items()}


@dataclass(frozen=True)
class ArmSummary:
    """One arm in one reading mode. Rates over steps (decision points) unless named ``task``.

    ``abstention`` leaves out ``answer`` steps (text turns right after tool results), so it measures deciding
    not to call where no tool applies. With repeated trials, ``task_accuracy`` is the mean per-task success
    rate with a cluster-bootstrap interval (clusters: tools), ``pass_hat_k`` maps k to pass^k for k up to the
    smallest trial count, and ``flip_rate`` is the share of tasks whose verdict changed between trials.
    """

    presentation: str
    mode: str
    n_tasks: int
    trials_per_task: int
    task_accuracy: Interval
    n_steps: int
    step_accuracy: float
    format_failure_rate: float
    mean_call_f1: float
    abstention: AbstentionScores
    schema: SchemaValidity | None
    infra_errors: int
    mean_prompt_tokens: float
    mean_completion_tokens: float
    pass_hat_k: dict[int, float] = field(default_factory=dict)
    flip_rate: float = 0.0
    pass_at_k: dict[int, float] = field(default_factory=dict)
    mean_tool_tokens: float = 0.0
    tool_tokens_method: str = ""


def summarize(
    results: Sequence[Any], *, mode: Mode = "lenient", specs: Sequence[ToolSpec] | None = None, seed: int = 0
) -> ArmSummary:
    """Task accuracy with a 95% interval, step accuracy, format failures, abstention, schema validity (with
    ``specs``), and for repeated trials pass^k and the flip rate."""
    rows = _rows(results)
    if not rows:
        raise UserError("no results to summarise")
    steps = [s for r in rows for s in r["steps"]]
    if not steps:
        raise UserError("the results hold no scored steps")
    groups = _by_task(rows)
    trials = _outcomes(groups, mode)
    fewest = min(n for n, _ in trials.values())
    if len(groups) == len(rows):
        correct = sum(c for _, c in trials.values())
        accuracy = wilson_interval(correct, len(rows))
    else:
        tasks = sorted(groups)
        rates = [trials[t][1] / trials[t][0] for t in tasks]
        tools = [groups[t][0].get("cluster") or t for t in tasks]
        accuracy = bootstrap_interval(rates, clusters=tools, seed=seed)
    reads = [s[mode] for s in steps]
    errs = [read["error"] is not None for read in reads]
    calls = [ToolCall(name=c["name"], arguments=c.get("arguments") or {}) for r in reads for c in r["calls"]]
    pairs = list(trials.values())
    return ArmSummary(
        presentation=str(rows[0].get("presentation")),
        mode=mode,
        n_tasks=len(groups),
        trials_per_task=fewest,
        task_accuracy=accuracy,
        n_steps=len(steps),
        step_accuracy=sum(read["matched"] for read in reads) / len(steps),
        format_failure_rate=sum(errs) / len(steps),
        mean_call_f1=sum(read["f1"] for read in reads) / len(steps),
        abstention=_abstention(steps, mode),
        schema=schema_validity(calls, specs) if specs is not None else None,
        infra_errors=sum(1 for s in steps if s.get("infra_error")),
        mean_prompt_tokens=sum(s.get("prompt_tokens", 0) for s in steps) / len(steps),
        mean_completion_tokens=sum(s.get("completion_tokens", 0) for s in steps) / len(steps),
        pass_hat_k={k: mean_pass_hat_k(pairs, k) for k in range(1, fewest + 1)},
        flip_rate=flip_rate(pairs),
        pass_at_k={k: mean_pass_at_k(pairs, k) for k in range(1, fewest + 1)},
        mean_tool_tokens=sum(g[0].get("tool_tokens", 0) for g in groups.values()) / len(groups),
        tool_tokens_method=str(rows[0].get("tool_tokens_method", "")),
    )


def _abstention(steps: list[dict[str, Any]], mode: str) -> AbstentionScores:
    # Only decision points where calling was possible but wrong count: "no tool applies" and "ask first"
    # turns. Final answers after tool results are a different skill and would swamp the abstention figures.
    kept = [s for s in steps if s.get("gold_kind", "calls" if s["gold"] else "no_call") != "answer"]
    gold_no_call = [not s["gold"] for s in kept]
    n_calls = [len(s[mode]["calls"]) for s in kept]
    errors = [s[mode]["error"] is not None for s in kept]
    return abstention_scores(gold_no_call, n_calls, errors)


@dataclass(frozen=True)
class Comparison:
    """Arm A minus arm B on the same tasks: paired difference (cluster bootstrap by tool) and exact McNemar.

    ``minimum_detectable_difference`` is the difference this many tasks could detect with 80% power at the
    observed discordance (NaN when the arms never disagree). With repeated trials the outcomes are per-task
    success rates, and ``mcnemar`` is None (it needs one binary outcome per task). ``newcombe`` is the
    analytic interval that ignores clustering, for reference (single trials only).
    """

    a: str
    b: str
    mode: str
    difference: PairedDifference
    mcnemar: McNemarResult | None
    minimum_detectable_difference: float
    newcombe: Interval | None = None


def compare(
    a: Sequence[Any],
    b: Sequence[Any],
    *,
    mode: Mode = "lenient",
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Comparison:
    """Compare two arms task by task (pairing on ``task_id``; clusters from the tasks' first gold tool)."""
    rows_a, rows_b = _rows(a), _rows(b)
    groups_a, groups_b = _by_task(rows_a), _by_task(rows_b)
    trials_a, trials_b = _outcomes(groups_a, mode), _outcomes(groups_b, mode)
    clusters = {t: g[0].get("cluster") or t for t, g in groups_a.items()}
    diff = paired_difference(
        {t: c / n for t, (n, c) in trials_a.items()},
        {t: c / n for t, (n, c) in trials_b.items()},
        clusters=clusters,
        n_resamples=n_resamples,
        seed=seed,
        confidence=confidence,
    )
    test: McNemarResult | None = None
    newcombe: Interval | None = None
    mdd = math.nan
    if len(groups_a) == len(rows_a) and len(groups_b) == len(rows_b):
        binary_a = {t: c == 1 for t, (_, c) in trials_a.items()}
        binary_b = {t: c == 1 for t, (_, c) in trials_b.items()}
        test = mcnemar_test(binary_a, binary_b)
        newcombe = newcombe_paired_interval(binary_a, binary_b, confidence=confidence)
        discordance = test.n_discordant / test.n_tasks
        if discordance > 0:
            mdd = minimum_detectable_difference(test.n_tasks, discordance=discordance)

    def name(rows: list[dict[str, Any]]) -> str:
        return str(rows[0].get("presentation")) if rows else "?"

    return Comparison(
        a=name(rows_a),
        b=name(rows_b),
        mode=mode,
        difference=diff,
        mcnemar=test,
        minimum_detectable_difference=mdd,
        newcombe=newcombe,
    )


@dataclass(frozen=True)
class Group:
    """Task accuracy within one group (a scenario kind, or a tool). ``n_tasks`` distinct tasks; the interval
    is
    Wilson's for one trial per task, else a bootstrap over the tasks' success rates."""

    name: str
    n_tasks: int
    accuracy: Interval


def breakdown(
    results: Sequence[Any], *, by: Literal["kind", "tool"], mode: Mode = "lenient", seed: int = 0
) -> list[Group]:
    """Accuracy per scenario kind, or per tool (a task counts under every tool its gold calls use; tasks with
    no gold call under ``(no call)``). Sorted by group name."""
    if by not in ("kind", "tool"):
        raise UserError(f"breakdown by 'kind' or 'tool', not {by!r}")
    groups = _by_task(_rows(results))
    members: dict[str, list[str]] = {}
    for task_id, g in groups.items():
        if by == "kind":
            names = [str(g[0].get("kind") or "(none)")]
        else:
            names = list(g[0].get("tools") or []) or ["(no call)"]
        for name in names:
            members.setdefault(name, []).append(task_id)
    out = []
    for name in sorted(members):
        trials = _outcomes({t: groups[t] for t in members[name]}, mode)
        if all(n == 1 for n, _ in trials.values()):
            interval = wilson_interval(sum(c for _, c in trials.values()), len(trials))
        else:
            interval = bootstrap_interval([c / n for n, c in trials.values()], seed=seed)
        out.append(Group(name=name, n_tasks=len(trials), accuracy=interval))
    return out
