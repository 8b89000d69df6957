"""Plain-text summaries of evaluation results for the terminal: the summary table (lenient and strict), costs,
and breakdowns by scenario kind and by tool, for turn-mode rows and environment episodes alike."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["pct", "render_arm_summary", "render_env_summary"]


def pct(x: float) -> str:
    """A rate as a percentage with one decimal; ``n/a`` for NaN."""
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"


def render_arm_summary(results: Any) -> str:
    """The summary table (lenient and strict) and the breakdowns by kind and by tool, as text."""
    from toolkit.evaluate_report import breakdown, summarize
    from toolkit.tables import format_table

    s, st = summarize(results, mode="lenient"), summarize(results, mode="strict")

    def ci(i: Any) -> str:
        return f"{pct(i.estimate)} [{pct(i.low)}, {pct(i.high)}]"

    rows = [
        ["task accuracy (95% CI)", ci(s.task_accuracy), ci(st.task_accuracy)],
        ["step accuracy", pct(s.step_accuracy), pct(st.step_accuracy)],
        ["format failures", pct(s.format_failure_rate), pct(st.format_failure_rate)],
        ["mean call F1", f"{s.mean_call_f1:.3f}", f"{st.mean_call_f1:.3f}"],
        [
            "no-call accuracy (well-formed)",
            pct(s.abstention.irrelevance_accuracy_format_ok),
            pct(st.abstention.irrelevance_accuracy_format_ok),
        ],
    ]
    if s.trials_per_task > 1:
        for k in sorted(s.pass_hat_k):
            rows.append([f"pass^{k}", pct(s.pass_hat_k[k]), pct(st.pass_hat_k[k])])
        for k in sorted(s.pass_at_k):
            rows.append([f"pass@{k}", pct(s.pass_at_k[k]), pct(st.pass_at_k[k])])
        rows.append(["flip rate", pct(s.flip_rate), pct(st.flip_rate)])
    lines = [
        f"{s.presentation}: {s.n_tasks} task(s), {s.trials_per_task} trial(s) each, {s.n_steps} step(s)",
        format_table(rows, ["metric", "lenient", "strict"]),
        (
            f"tool definitions: {s.mean_tool_tokens:.0f} tokens ({s.tool_tokens_method}); per step: prompt "
            f"{s.mean_prompt_tokens:.0f}, completion {s.mean_completion_tokens:.0f}; infra errors "
            f"{s.infra_errors}"
        ),
    ]
    for by in ("kind", "tool"):
        groups = breakdown(results, by=by)  # type: ignore[arg-type]
        strict = {g.name: g for g in breakdown(results, by=by, mode="strict")}  # type: ignore[arg-type]
        table = [[g.name, g.n_tasks, ci(g.accuracy), pct(strict[g.name].accuracy.estimate)] for g in groups]
        lines += ["", f"by {by}:", format_table(table, [by, "tasks", "lenient (95% CI)", "strict"])]
    return "\n".join(lines)


def render_env_summary(results: Any) -> str:
    from toolkit.evaluate_env import summarize_env
    from toolkit.evaluate_report import breakdown
    from toolkit.tables import format_table

    s = summarize_env(results)
    rows = [["success (95% CI)", f"{pct(s.success.estimate)} [{pct(s.success.low)}, {pct(s.success.high)}]"]]
    rows += [[f"pass^{k}", pct(v)] for k, v in s.pass_hat_k.items()]
    rows += [[f"pass@{k}", pct(v)] for k, v in s.pass_at_k.items()]
    rows += [[f"check {name}", pct(v)] for name, v in s.check_pass_rates.items()]
    rows += [
        ["turns / calls per episode", f"{s.mean_turns:.1f} / {s.mean_calls:.1f}"],
        [
            "tokens per episode (prompt / completion)",
            f"{s.mean_prompt_tokens:.0f} / {s.mean_completion_tokens:.0f}",
        ],
        ["tool-definition tokens", f"{s.mean_tool_tokens:.0f}"],
        ["wall time per episode", f"{s.mean_wall_s:.2f} s"],
        [
            "format failures / turn-limit hits / infra errors",
            f"{s.format_failures} / {s.turn_limit_hits} / {s.infra_errors}",
        ],
    ]
    rows_ = [r if isinstance(r, dict) else r.to_dict() for r in results]
    lines = [
        f"{s.presentation} (env): {s.n_tasks} task(s), {s.trials_per_task} trial(s) each",
        format_table(rows, ["metric", "value"]),
    ]
    for by in ("kind", "tool"):
        table = [
            [
                g.name,
                g.n_tasks,
                f"{pct(g.accuracy.estimate)} [{pct(g.accuracy.low)}, {pct(g.accuracy.high)}]",
            ]
            for g in breakdown(rows_, by=by)
        ]  # type: ignore[arg-type]
        lines += ["", f"by {by}:", format_table(table, [by, "tasks", "success (95% CI)"])]
    return "\n".join(lines)
