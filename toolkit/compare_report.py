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


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _pp(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:+.1f}"


def _ci(i: Interval) -> str:
    return f"{_pct(i.estimate)} [{_pct(i.low)}, {_pct(i.high)}]"


def _p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return f"{p:.4g}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return out


def _threats(c: ArmsComparison, meta: Mapping[str, Any]) -> list[str]:
    notes = []
    n_tools = len([t for t in c.tools if t != "(no call)"])
    n_tasks = next(iter(c.figures.values())).n_tasks
    if n_tools < 20:
        notes.append(
            f"Only {n_tools} tool(s) form the bootstrap clusters; with fewer than about 20 clusters a "
            "percentile cluster bootstrap is optimistic (intervals too narrow). Prefer more tools over "
            "more tasks per tool."
        )
    mdds = [p.comparison.minimum_detectable_difference for p in c.pairs]
    finite = [m for m in mdds if not math.isnan(m)]
    if finite:
        notes.append(
            f"With {n_tasks} task(s) and the observed discordance, only differences of about "
            f"{100 * min(finite):.0f}–{100 * max(finite):.0f} pp or more would be detected with 80% power "
            "(α = 0.05); a non-significant pair is not evidence of equivalence (use TOST with a "
            "pre-declared margin for that)."
        )
    else:
        notes.append(
            "The arms never disagreed on a task (or trials were repeated), so no minimum detectable "
            "difference can be computed from the observed discordance."
        )
    if any(f.tool_tokens_method.startswith("chars") for f in c.figures.values()):
        notes.append(
            "Tool-definition token counts are approximations (characters / 4): the endpoint renders "
            "prompts server-side. Compare them between arms, not with a tokenizer's counts."
        )
    if any(f.trials > 1 for f in c.figures.values()):
        notes.append(
            "Repeated trials: per-task outcomes are success rates, McNemar does not apply, and the "
            "intervals come from the cluster bootstrap only."
        )
    if meta.get("temperature", 0) == 0:
        notes.append(
            "Greedy decoding (T = 0): one sample per task. Effects under sampling may differ; run "
            "--trials N with --temperature > 0 for pass^k."
        )
    if any(f.infra_errors for f in c.figures.values()):
        notes.append(
            "Some requests failed after retries (infra errors); they count as wrong. Check that they "
            "are spread evenly over the arms."
        )
    native = meta.get("native_json")
    if "json" in c.arms and native is not None:
        notes.append(
            "The json arm used "
            + (
                "native tool calling (the chat template's or API's tool channel)"
                if native
                else "the prompted JSON fallback (no native channel)"
            )
            + "; channel and syntax "
            "differ together between json and the prompted arms (evaluation.md §7.1)."
        )
    if meta.get("shots"):
        notes.append(f"{meta['shots']} in-context example(s) per task, chosen identically for every arm.")
    notes.append(
        "Public tasks may be in the model's training data (contamination); report fresh, kit-generated "
        "tools separately. Scoring is rule-based (BFCL checker / environment grader), no LLM judge."
    )
    notes.append(
        "Every arm is rendered from the same ToolSpec, with the same system-prompt skeleton, decoding "
        "and parser leniency; only the presentation slot changes."
    )
    return notes


def render_markdown(c: ArmsComparison, meta: Mapping[str, Any], charts: Mapping[str, str]) -> str:
    """The report text (what :func:`write_report` saves as ``report.md``)."""
    other = "strict" if c.mode == "lenient" else "lenient"
    first = next(iter(c.figures.values()))
    lines = [f"# Presentation comparison: {', '.join(c.arms)}", ""]
    lines += [
        f"- model: `{meta.get('model', '?')}` ({meta.get('model_kind', '?')})",
        (
            f"- tasks: `{meta.get('tasks', '?')}` — {first.n_tasks} task(s), {first.trials} trial(s) each, "
            f"mode `{meta.get('eval_mode', 'turns')}`"
        ),
        (
            f"- decoding: temperature {meta.get('temperature', 0)}, max tokens "
            f"{meta.get('max_tokens', '?')}, "
            f"seed {meta.get('seed')}; shots {meta.get('shots', 0)}"
        ),
        f"- serving: {meta.get('serving', 'n/a')}",
        f"- primary reading: **{c.mode}**; intervals are 95%",
        "",
    ]
    lines += ["## Headline", ""]
    lines += _table(
        [
            "arm",
            f"accuracy {c.mode} (95% CI)",
            f"accuracy {other}",
            "format failures lenient / strict",
            "tool-def tokens",
            "prompt / completion tokens",
            "infra errors",
        ],
        [
            [
                f.arm,
                _ci(f.lenient if c.mode == "lenient" else f.strict),
                _pct((f.strict if c.mode == "lenient" else f.lenient).estimate),
                f"{_pct(f.format_failure_lenient)} / {_pct(f.format_failure_strict)}",
                f"{f.tool_tokens:.0f} ({f.tool_tokens_method})",
                f"{f.prompt_tokens:.0f} / {f.completion_tokens:.0f}",
                f.infra_errors,
            ]
            for f in c.figures.values()
        ],
    )
    lines += ["", f"![accuracy per presentation]({charts['accuracy']})", ""]
    lines += [
        "## Paired differences",
        "",
        (
            "A minus B on the same tasks. Interval: two-stage cluster bootstrap (tools, then tasks within "
            "them); Newcombe: the analytic paired interval ignoring clustering, for reference. McNemar: "
            "exact "
            "two-sided test on the discordant tasks; Holm: corrected across the pairs below. Detectable: the "
            "smallest difference this many tasks would detect with 80% power at the observed discordance."
        ),
        "",
    ]
    table = []
    for p in c.pairs:
        d, m = p.comparison.difference, p.comparison.mcnemar
        n = p.comparison.newcombe
        mdd = p.comparison.minimum_detectable_difference
        table.append(
            [
                f"{p.a} − {p.b}",
                f"{_pp(d.estimate)} pp [{_pp(d.low)}, {_pp(d.high)}]",
                "n/a" if n is None else f"[{_pp(n.low)}, {_pp(n.high)}]",
                "n/a" if m is None else f"{m.b} / {m.c}",
                _p(m.p_value if m else None),
                _p(p.p_holm),
                "n/a" if math.isnan(mdd) else f"{100 * mdd:.1f} pp",
                f"{_pp(p.strict.difference.estimate)} pp",
                f"{d.n_tasks} / {d.n_clusters}",
            ]
        )
    lines += _table(
        [
            "pair",
            "difference (95% CI)",
            "Newcombe CI",
            "only A / only B right",
            "McNemar p",
            "Holm p",
            "detectable",
            f"difference {other}",
            "tasks / tools",
        ],
        table,
    )
    lines += ["", "## By scenario kind", ""]
    lines += _table(
        ["kind"] + list(c.arms),
        [
            [k]
            + [
                f"{_ci(c.by_kind[(k, a)].accuracy)} (n={c.by_kind[(k, a)].n_tasks})"
                if (k, a) in c.by_kind
                else "–"
                for a in c.arms
            ]
            for k in c.kinds
        ],
    )
    lines += [
        "",
        f"![accuracy by kind]({charts['kind']})",
        "",
        "## By tool",
        "",
        "A task counts under every tool its gold calls use.",
        "",
    ]
    lines += _table(
        ["tool"] + list(c.arms),
        [
            [t]
            + [
                f"{_pct(c.by_tool[(t, a)].accuracy.estimate)} (n={c.by_tool[(t, a)].n_tasks})"
                if (t, a) in c.by_tool
                else "–"
                for a in c.arms
            ]
            for t in c.tools
        ],
    )
    lines += ["", f"![accuracy by tool]({charts['tool']})", ""]
    lines += [
        "## Format failures: strict vs lenient",
        "",
        (
            "Share of answers (turn mode: decision points; env mode: episodes) that could not be read as "
            "calls "
            "or a plain answer. Strict reads only the documented format; lenient applies the same leniency "
            "rules to every presentation (fences, prose, bare calls). A format failure is never a correct "
            "abstention."
        ),
        "",
    ]
    lines += _table(
        ["arm", "lenient", "strict", "accuracy gap strict − lenient"],
        [
            [
                f.arm,
                _pct(f.format_failure_lenient),
                _pct(f.format_failure_strict),
                f"{_pp(f.strict.estimate - f.lenient.estimate)} pp",
            ]
            for f in c.figures.values()
        ],
    )
    lines += [
        "",
        "## Token costs",
        "",
        (
            "Tool-definition tokens: what the tool list adds to every prompt in this presentation. Prompt "
            "and "
            "completion tokens: mean per request (turn mode) or per episode (env mode), as the backend "
            "counted them."
        ),
        "",
    ]
    lines += _table(
        ["arm", "tool-definition tokens", "method", "mean prompt", "mean completion"],
        [
            [
                f.arm,
                f"{f.tool_tokens:.0f}",
                f.tool_tokens_method,
                f"{f.prompt_tokens:.0f}",
                f"{f.completion_tokens:.0f}",
            ]
            for f in c.figures.values()
        ],
    )
    examples = meta.get("example_prompts") or {}
    if examples:
        lines += ["", "## Example prompts (first task, verbatim)", ""]
        for arm, text in examples.items():
            lines += [
                f"<details><summary>{arm}</summary>",
                "",
                "```text",
                str(text),
                "```",
                "",
                "</details>",
                "",
            ]
    lines += ["", "## Threats to validity", ""]
    lines += [f"- {n}" for n in _threats(c, meta)]
    lines += [
        "",
        "Per-task outcomes: `results-<arm>.jsonl` in this directory (one line per task and trial).",
        "",
    ]
    return "\n".join(lines)


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
