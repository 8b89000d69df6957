"""Several presentations on the same tasks: every pairwise comparison, Holm-corrected, and a report directory.

:func:`compare_arms` pairs the arms on ``task_id`` (they must hold the same tasks), compares every pair with
:func:`toolkit.evaluate_report.compare` (paired difference with a cluster bootstrap by tool, Newcombe's
interval
for reference, exact McNemar, minimum detectable difference) and Holm-corrects the McNemar p-values across the
pairs. :func:`write_report` writes ``report.md``, ``comparison.json`` and three PNG charts into a run
directory.

Rows may come from turn mode (:mod:`toolkit.evaluate`) or env mode (:mod:`toolkit.evaluate_env`); env rows
have
one verdict (``passed``), so strict and lenient agree there and format figures come from the episodes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from toolkit.compare_markdown import render_markdown
from toolkit.errors import UserError
from toolkit.evaluate_report import Comparison, Group, breakdown, compare
from toolkit.stats import Interval, bootstrap_interval, holm_adjust, wilson_interval

__all__ = ["ArmFigures", "ArmsComparison", "PairResult", "compare_arms", "render_markdown", "write_report"]


@dataclass(frozen=True)
class ArmFigures:
    """One arm's headline figures (lenient and strict readings)."""

    arm: str
    n_tasks: int
    trials: int
    lenient: Interval
    strict: Interval
    format_failure_lenient: float
    format_failure_strict: float
    tool_tokens: float
    tool_tokens_method: str
    prompt_tokens: float
    completion_tokens: float
    infra_errors: int


@dataclass(frozen=True)
class PairResult:
    a: str
    b: str
    comparison: Comparison
    strict: Comparison
    p_holm: float | None


@dataclass
class ArmsComparison:
    arms: list[str]
    mode: str
    figures: dict[str, ArmFigures]
    pairs: list[PairResult]
    by_kind: dict[tuple[str, str], Group]
    by_tool: dict[tuple[str, str], Group]
    kinds: list[str]
    tools: list[str]
    rows: dict[str, list[dict[str, Any]]] = field(repr=False, default_factory=dict)


def _rows(results: Sequence[Any]) -> list[dict[str, Any]]:
    return [r if isinstance(r, Mapping) else r.to_dict() for r in results]


def _is_env(rows: list[dict[str, Any]]) -> bool:
    return bool(rows) and rows[0].get("mode") == "env"


def _accuracy(rows: list[dict[str, Any]], mode: str, seed: int) -> Interval:
    groups: dict[str, list[bool]] = {}
    for r in rows:
        groups.setdefault(r["task_id"], []).append(bool(r["correct"][mode]))
    if all(len(v) == 1 for v in groups.values()):
        return wilson_interval(sum(v[0] for v in groups.values()), len(groups))
    clusters = {r["task_id"]: r.get("cluster") or r["task_id"] for r in rows}
    ids = sorted(groups)
    return bootstrap_interval(
        [sum(groups[t]) / len(groups[t]) for t in ids], clusters=[clusters[t] for t in ids], seed=seed
    )


_READINGS = ("lenient", "strict")


def _format_rates(rows: list[dict[str, Any]]) -> tuple[float, float]:
    if _is_env(rows):  # episodes: share with at least one unreadable answer (lenient), or a strict miss
        n = len(rows)
        lenient = sum(r["format_failures"] > 0 for r in rows) / n
        strict = sum(r["format_failures"] > 0 or r["strict_format_misses"] > 0 for r in rows) / n
        return lenient, strict
    steps = [s for r in rows for s in r["steps"]]
    if not steps:
        return math.nan, math.nan
    lenient, strict = (sum(s[m]["error"] is not None for s in steps) / len(steps) for m in _READINGS)
    return lenient, strict


def _figures(arm: str, rows: list[dict[str, Any]], seed: int) -> ArmFigures:
    groups = {r["task_id"] for r in rows}
    first_per_task = {r["task_id"]: r for r in rows}
    if _is_env(rows):
        prompt = sum(r["prompt_tokens"] for r in rows) / len(rows)
        completion = sum(r["completion_tokens"] for r in rows) / len(rows)
    else:
        steps = [s for r in rows for s in r["steps"]]
        prompt = sum(s.get("prompt_tokens", 0) for s in steps) / max(1, len(steps))
        completion = sum(s.get("completion_tokens", 0) for s in steps) / max(1, len(steps))
    ff_l, ff_s = _format_rates(rows)
    return ArmFigures(
        arm=arm,
        n_tasks=len(groups),
        trials=len(rows) // max(1, len(groups)),
        lenient=_accuracy(rows, "lenient", seed),
        strict=_accuracy(rows, "strict", seed),
        format_failure_lenient=ff_l,
        format_failure_strict=ff_s,
        tool_tokens=sum(r.get("tool_tokens", 0) for r in first_per_task.values()) / len(first_per_task),
        tool_tokens_method=str(rows[0].get("tool_tokens_method", "")),
        prompt_tokens=prompt,
        completion_tokens=completion,
        infra_errors=sum(1 for r in rows if r.get("infra_error")),
    )


def compare_arms(
    results: Mapping[str, Sequence[Any]],
    *,
    mode: str = "lenient",
    seed: int = 0,
    n_resamples: int = 10_000,
) -> ArmsComparison:
    """Every pair of arms (in the order given: A minus B for A listed first), Holm-corrected across pairs."""
    if len(results) < 2:
        raise UserError("a comparison needs at least two arms")
    rows = {arm: _rows(r) for arm, r in results.items()}
    ids = {arm: {r["task_id"] for r in rs} for arm, rs in rows.items()}
    arms = list(rows)
    for arm in arms[1:]:
        if ids[arm] != ids[arms[0]]:
            only = sorted(ids[arm] ^ ids[arms[0]])[:5]
            raise UserError(
                f"arms {arms[0]} and {arm} hold different tasks (e.g. {', '.join(only)}); a paired "
                "comparison needs every task in every arm"
            )
    pairs = []
    for a, b in combinations(arms, 2):
        other = "strict" if mode == "lenient" else "lenient"
        c = compare(rows[a], rows[b], mode=mode, n_resamples=n_resamples, seed=seed)  # type: ignore[arg-type]
        s = compare(rows[a], rows[b], mode=other, n_resamples=n_resamples, seed=seed)  # type: ignore
        pairs.append((a, b, c, s))
    p_values = [c.mcnemar.p_value for _, _, c, _ in pairs if c.mcnemar is not None]
    adjusted = iter(holm_adjust(p_values)) if p_values else iter(())
    results_out = [
        PairResult(a, b, c, s, next(adjusted) if c.mcnemar is not None else None) for a, b, c, s in pairs
    ]
    by_kind: dict[tuple[str, str], Group] = {}
    by_tool: dict[tuple[str, str], Group] = {}
    for arm, rs in rows.items():
        for g in breakdown(rs, by="kind", mode=mode, seed=seed):  # type: ignore[arg-type]
            by_kind[(g.name, arm)] = g
        for g in breakdown(rs, by="tool", mode=mode, seed=seed):  # type: ignore[arg-type]
            by_tool[(g.name, arm)] = g
    return ArmsComparison(
        arms=arms,
        mode=mode,
        figures={arm: _figures(arm, rs, seed) for arm, rs in rows.items()},
        pairs=results_out,
        by_kind=by_kind,
        by_tool=by_tool,
        kinds=sorted({k for k, _ in by_kind}),
        tools=sorted({t for t, _ in by_tool}),
        rows=rows,
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_report(c: ArmsComparison, run_dir: str | Path, meta: Mapping[str, Any]) -> dict[str, Path]:
    """Write ``report.md``, ``comparison.json``, ``accuracy.png``, ``by_kind.png`` and ``by_tool.png`` into
    ``run_dir``; returns their paths."""
    from toolkit.eval_charts import accuracy_chart, kind_chart, tool_heatmap

    out = Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = meta.get("model", "model")
    paths = {
        "accuracy": accuracy_chart(
            c.arms,
            [c.figures[a].lenient for a in c.arms],
            [c.figures[a].strict for a in c.arms],
            out / "accuracy.png",
            title=f"Task accuracy by presentation — {model}",
        ),
        "kind": kind_chart(
            c.kinds, c.arms, c.by_kind, out / "by_kind.png", title=f"Accuracy by scenario kind ({c.mode})"
        ),
        "tool": tool_heatmap(
            c.tools, c.arms, c.by_tool, out / "by_tool.png", title=f"Accuracy by tool ({c.mode})"
        ),
    }
    text = render_markdown(c, meta, {k: p.name for k, p in paths.items()})
    (out / "report.md").write_text(text, encoding="utf-8")
    payload = {
        "meta": {k: v for k, v in meta.items() if k != "example_prompts"},
        "arms": c.arms,
        "mode": c.mode,
        "figures": {a: asdict(f) for a, f in c.figures.items()},
        "pairs": [
            {
                "a": p.a,
                "b": p.b,
                "comparison": asdict(p.comparison),
                "other_reading": asdict(p.strict),
                "p_holm": p.p_holm,
            }
            for p in c.pairs
        ],
        "by_kind": [{"kind": k, "arm": a, **asdict(g)} for (k, a), g in sorted(c.by_kind.items())],
        "by_tool": [{"tool": t, "arm": a, **asdict(g)} for (t, a), g in sorted(c.by_tool.items())],
    }
    (out / "comparison.json").write_text(
        json.dumps(_json_safe(payload), indent=2, default=str) + "\n", encoding="utf-8"
    )
    paths["report"] = out / "report.md"
    paths["json"] = out / "comparison.json"
    return paths
