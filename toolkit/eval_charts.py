"""PNG charts for comparison reports: accuracy per presentation with intervals, per-kind bars, per-tool
heatmap.

matplotlib is imported lazily with the non-interactive Agg backend, so reports render on servers and in CI.
Every chart shows the numbers it plots (bar labels, heatmap cell text), so a reader never has to estimate
them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["accuracy_chart", "kind_chart", "tool_heatmap"]

_COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _err(intervals: Sequence[Any]) -> list[list[float]]:
    lows = [max(0.0, 100 * (i.estimate - i.low)) for i in intervals]
    highs = [max(0.0, 100 * (i.high - i.estimate)) for i in intervals]
    return [lows, highs]


def accuracy_chart(
    arms: Sequence[str], lenient: Sequence[Any], strict: Sequence[Any], path: str | Path, *, title: str
) -> Path:
    """Task accuracy per arm, lenient and strict side by side, 95% intervals as error bars."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5.0, 1.9 * len(arms) + 2), 4.2), dpi=120)
    x = list(range(len(arms)))
    width = 0.38
    for offset, values, label, hatch in (
        (-width / 2, lenient, "lenient", ""),
        (width / 2, strict, "strict", "//"),
    ):
        heights = [100 * v.estimate for v in values]
        bars = ax.bar(
            [i + offset for i in x],
            heights,
            width,
            yerr=_err(values),
            capsize=4,
            label=label,
            color=[_COLORS[i % len(_COLORS)] for i in x],
            hatch=hatch,
            edgecolor="black",
            linewidth=0.6,
            alpha=0.9 if not hatch else 0.55,
        )
        for bar, h in zip(bars, heights, strict=True):
            ax.annotate(
                f"{h:.1f}%",
                (bar.get_x() + bar.get_width() / 2, 1.5),
                ha="center",
                va="bottom",
                fontsize=8,
                color="black",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "lw": 0},
            )
    ax.set_xticks(x, list(arms))
    ax.set_ylim(0, 119)  # headroom: the legend sits above the 100% line, never on a bar
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("task accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(
        loc="upper center",
        fontsize=8,
        ncol=2,
        title="reading (error bars: 95% CI)",
        title_fontsize=8,
        frameon=False,
    )
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return _save(fig, plt, path)


def kind_chart(
    kinds: Sequence[str],
    arms: Sequence[str],
    table: Mapping[tuple[str, str], Any],
    path: str | Path,
    *,
    title: str,
) -> Path:
    """Grouped bars: accuracy per scenario kind (groups) and arm (bars), with 95% intervals and task
    counts."""
    plt = _plt()
    fig, ax = plt.subplots(
        figsize=(max(6.0, 1.2 * len(kinds) * max(1, len(arms)) * 0.55 + 2.5), 4.5), dpi=120
    )
    width = 0.8 / max(1, len(arms))
    for j, arm in enumerate(arms):
        xs, heights, intervals = [], [], []
        for i, kind in enumerate(kinds):
            group = table.get((kind, arm))
            if group is None:
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            heights.append(100 * group.accuracy.estimate)
            intervals.append(group.accuracy)
        ax.bar(
            xs,
            heights,
            width,
            yerr=_err(intervals),
            capsize=3,
            label=arm,
            color=_COLORS[j % len(_COLORS)],
            edgecolor="black",
            linewidth=0.5,
        )
        for x, h in zip(xs, heights, strict=True):
            ax.annotate(
                f"{h:.0f}",
                (x, 1.5),
                ha="center",
                va="bottom",
                fontsize=7,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "lw": 0},
            )
    counts = {
        kind: max((table[(kind, a)].n_tasks for a in arms if (kind, a) in table), default=0) for kind in kinds
    }
    ax.set_xticks(range(len(kinds)), [f"{k}\n(n={counts[k]})" for k in kinds], fontsize=8)
    ax.set_ylim(0, 119)
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("task accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(
        fontsize=8,
        loc="upper center",
        ncol=len(arms),
        frameon=False,
        title="error bars: 95% CI",
        title_fontsize=8,
    )
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return _save(fig, plt, path)


def tool_heatmap(
    tools: Sequence[str],
    arms: Sequence[str],
    table: Mapping[tuple[str, str], Any],
    path: str | Path,
    *,
    title: str,
    max_tools: int = 40,
) -> Path:
    """Rows: tools (the ``max_tools`` with most tasks), columns: arms; each cell: the accuracy in the
    primary reading (task counts are in the row labels)."""
    plt = _plt()
    import numpy as np

    counts = {t: max((table[(t, a)].n_tasks for a in arms if (t, a) in table), default=0) for t in tools}
    shown = sorted(tools, key=lambda t: (-counts[t], t))[:max_tools]
    shown = sorted(shown)
    grid = np.full((len(shown), len(arms)), np.nan)
    for i, t in enumerate(shown):
        for j, a in enumerate(arms):
            if (t, a) in table:
                grid[i, j] = 100 * table[(t, a)].accuracy.estimate
    height = max(2.5, 0.38 * len(shown) + 1.6)
    label_width = max((len(t) for t in shown), default=8)
    fig, ax = plt.subplots(figsize=(max(4.5, 1.4 * len(arms) + 0.09 * label_width + 2), height), dpi=120)
    cmap = plt.get_cmap("RdYlGn").copy()
    cmap.set_bad("#dddddd")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=100, aspect="auto")
    for i, t in enumerate(shown):
        for j in range(len(arms)):
            value = grid[i, j]
            text = "–" if np.isnan(value) else f"{value:.0f}%"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="black" if np.isnan(value) or 15 < value < 85 else "white",
            )
    ax.set_xticks(range(len(arms)), list(arms))
    ax.set_yticks(range(len(shown)), [f"{t} (n={counts[t]})" for t in shown], fontsize=8)
    ax.xaxis.tick_top()
    suffix = f" (top {max_tools} of {len(tools)} tools)" if len(tools) > max_tools else ""
    ax.set_title(title + suffix, fontsize=10, pad=24)
    fig.colorbar(image, ax=ax, fraction=0.05, pad=0.03, label="accuracy (%)")
    return _save(fig, plt, path)


def _save(fig: Any, plt: Any, path: str | Path) -> Path:
    out = Path(path)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
