"""The text of a comparison report (``report.md``): headline table, paired differences, breakdowns, format
failures, token costs, verbatim prompts and threats-to-validity notes written from the run's own figures."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from toolkit.stats import Interval

if TYPE_CHECKING:
    from toolkit.compare_report import ArmsComparison

__all__ = ["render_markdown"]


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
