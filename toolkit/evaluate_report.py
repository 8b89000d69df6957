"""Summaries of one evaluated arm and paired comparisons of two (evaluation.md §5 and §7.6).

Both work on the per-task rows :func:`toolkit.evaluate.evaluate` returns or writes (``TaskResult`` objects or
the dicts of a results file), so a comparison can be rerun from files alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from toolkit.errors import UserError
from toolkit.metrics import AbstentionScores, SchemaValidity, abstention_scores, schema_validity
from toolkit.specs import ToolCall, ToolSpec
from toolkit.stats import (
    Interval,
    McNemarResult,
    PairedDifference,
    mcnemar_test,
    minimum_detectable_difference,
    paired_difference,
    wilson_interval,
)

__all__ = ["ArmSummary", "Comparison", "summarize", "compare"]

Mode = Literal["strict", "lenient"]


def _rows(results: Sequence[Any]) -> list[dict[str, Any]]:
    return [r if isinstance(r, Mapping) else r.to_dict() for r in results]


@dataclass(frozen=True)
class ArmSummary:
    """One arm in one reading mode. Rates over steps (decision points) unless named ``task``.

    ``abstention`` leaves out ``answer`` steps (text turns right after tool results), so it measures deciding
    not to call where no tool applies.
    """

    presentation: str
    mode: str
    n_tasks: int
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


def summarize(results: Sequence[Any], *, mode: Mode = "lenient", specs: Sequence[ToolSpec] | None = None
              ) -> ArmSummary:
    """Task accuracy (Wilson 95%), step accuracy, format failures, abstention, schema validity (if specs)."""
    rows = _rows(results)
    if not rows:
        raise UserError("no results to summarise")
    steps = [s for r in rows for s in r["steps"]]
    if not steps:
        raise UserError("the results hold no scored steps")
    correct = sum(1 for r in rows if r["correct"][mode])
    reads = [s[mode] for s in steps]
    errs = [read["error"] is not None for read in reads]
    calls = [ToolCall(name=c["name"], arguments=c.get("arguments") or {}) for r in reads for c in r["calls"]]
    return ArmSummary(
        presentation=str(rows[0].get("presentation")),
        mode=mode,
        n_tasks=len(rows),
        task_accuracy=wilson_interval(correct, len(rows)),
        n_steps=len(steps),
        step_accuracy=sum(read["matched"] for read in reads) / len(steps),
        format_failure_rate=sum(errs) / len(steps),
        mean_call_f1=sum(read["f1"] for read in reads) / len(steps),
        abstention=_abstention(steps, mode),
        schema=schema_validity(calls, specs) if specs is not None else None,
        infra_errors=sum(1 for s in steps if s.get("infra_error")),
        mean_prompt_tokens=sum(s.get("prompt_tokens", 0) for s in steps) / len(steps),
        mean_completion_tokens=sum(s.get("completion_tokens", 0) for s in steps) / len(steps),
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
    observed discordance (NaN when the arms never disagree).
    """

    a: str
    b: str
    mode: str
    difference: PairedDifference
    mcnemar: McNemarResult
    minimum_detectable_difference: float


def compare(
    a: Sequence[Any], b: Sequence[Any], *, mode: Mode = "lenient", n_resamples: int = 10_000, seed: int = 0,
    confidence: float = 0.95,
) -> Comparison:
    """Compare two arms task by task (pairing on ``task_id``; clusters from the tasks' first gold tool)."""
    rows_a, rows_b = _rows(a), _rows(b)
    by_a = {r["task_id"]: r for r in rows_a}
    by_b = {r["task_id"]: r for r in rows_b}
    if len(by_a) != len(rows_a) or len(by_b) != len(rows_b):
        raise UserError("task ids repeat within an arm; a paired comparison needs one row per task")
    outcome_a = {t: bool(r["correct"][mode]) for t, r in by_a.items()}
    outcome_b = {t: bool(r["correct"][mode]) for t, r in by_b.items()}
    clusters = {t: r.get("cluster") or t for t, r in by_a.items()}
    diff = paired_difference(
        {t: float(v) for t, v in outcome_a.items()}, {t: float(v) for t, v in outcome_b.items()},
        clusters=clusters, n_resamples=n_resamples, seed=seed, confidence=confidence,
    )
    test = mcnemar_test(outcome_a, outcome_b)
    discordance = test.n_discordant / test.n_tasks
    mdd = math.nan
    if discordance > 0:
        mdd = minimum_detectable_difference(test.n_tasks, discordance=discordance)
    name = lambda rows: str(rows[0].get("presentation")) if rows else "?"  # noqa: E731
    return Comparison(a=name(rows_a), b=name(rows_b), mode=mode, difference=diff, mcnemar=test,
                      minimum_detectable_difference=mdd)
